/**
 * The Job Queue menus, channels and job functions as a Job Queue Manager uses them:
 * menus from the app, pause and resume, a channel's counts and its jobs, a job
 * function's form.
 */
import { registry } from "@web/core/registry";
import {
    clickButton,
    confirmDialog,
    expectNotification,
    failOnErrorDialogs,
} from "./job_worker_tour_steps";

function openMenu(section, item) {
    const steps = [
        {
            content: `open the ${section} menu`,
            trigger: `.o_menu_sections .dropdown-toggle:contains('${section}'), .o_menu_sections a:contains('${section}')`,
            run: "click",
        },
    ];
    if (item) {
        steps.push({
            content: `choose ${item}`,
            trigger: `.o-dropdown--menu .o-dropdown-item:contains('${item}')`,
            run: "click",
        });
    }
    return steps;
}

registry.category("web_tour.tours").add("job_worker_configuration_tour", {
    steps: () => [
        failOnErrorDialogs(),
        {
            content: "open the apps menu",
            trigger: ".o_navbar_apps_menu button",
            run: "click",
        },
        {
            content: "open Job Queue",
            trigger: ".o_app:contains('Job Queue')",
            run: "click",
        },
        {
            content: "Jobs opens first",
            trigger: ".o_breadcrumb:contains('Jobs')",
        },
        ...openMenu("Failed Jobs"),
        {
            content: "Failed Jobs opens",
            trigger: ".o_breadcrumb:contains('Failed jobs')",
        },
        ...openMenu("Configuration", "Channels"),
        {
            content: "the channel counts its jobs",
            trigger: ".o_data_row:contains('root.ui_channel') .o_data_cell[name='pending_count']:contains('1')",
        },
        {
            content: "select the channel",
            trigger: ".o_data_row:contains('root.ui_channel') .o_list_record_selector input",
            run: "click",
        },
        clickButton("action_pause"),
        ...expectNotification("Paused"),
        {
            content: "the channel is paused",
            trigger: ".o_data_row.text-muted:contains('root.ui_channel')",
        },
        {
            content: "select it again",
            trigger: ".o_data_row:contains('root.ui_channel') .o_list_record_selector input",
            run: "click",
        },
        clickButton("action_resume"),
        ...expectNotification("Resumed"),
        {
            content: "the channel runs again",
            trigger: ".o_data_row:not(.text-muted):contains('root.ui_channel')",
        },
        {
            content: "open it",
            trigger: ".o_data_row:contains('root.ui_channel') .o_data_cell[name='complete_name']",
            run: "click",
        },
        clickButton("action_pause"),
        ...expectNotification("Paused"),
        clickButton("action_resume"),
        ...expectNotification("Resumed"),
        {
            content: "open the jobs of the channel",
            trigger: "button[name='action_open_jobs']:contains('Pending')",
            run: "click",
        },
        {
            content: "its job, and only it",
            trigger:
                ".o_list_view:has(.o_data_row:contains('UI channel job')):not(:has(.o_data_row:contains('UI pending job')))",
        },
        ...openMenu("Configuration", "Job Functions"),
        {
            content: "open a job function",
            trigger: ".o_data_row:contains('res.partner.write') .o_data_cell[name='name']",
            run: "click",
        },
        {
            content: "its form shows its retry pattern",
            trigger: ".o_form_view:contains('Retry pattern')",
        },
        ...openMenu("Configuration", "Purge done jobs"),
        {
            content: "the job done a month ago is counted",
            trigger: ".modal .o_field_widget[name='job_count']:contains('1')",
        },
        clickButton("action_purge", ".modal"),
        confirmDialog(),
        ...expectNotification("1 done job(s) older than 7 day(s) deleted"),
    ],
});
