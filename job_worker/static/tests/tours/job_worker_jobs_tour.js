/**
 * Job Queue > Jobs as a Job Queue Manager sees it: the default filter, the state panel,
 * the runner status view and its processing buttons, Run now and Requeue on a selection,
 * the pivot and graph views, the date filters and group-bys.
 */
import { registry } from "@web/core/registry";
import {
    chooseSearchOption,
    clickButton,
    expectNotification,
    failOnErrorDialogs,
    openSearchOptions,
} from "./job_worker_tour_steps";

function selectRow(name) {
    return {
        content: `select ${name}`,
        trigger: `.o_data_row:contains('${name}') .o_list_record_selector input`,
        run: "click",
    };
}

registry.category("web_tour.tours").add("job_worker_jobs_tour", {
    steps: () => [
        failOnErrorDialogs(),
        {
            content: "the default filter shows pending jobs",
            trigger: ".o_list_view .o_data_row:contains('UI pending job')",
        },
        {
            content: "and jobs waiting on their dependencies",
            trigger: ".o_data_row:contains('UI graph second')",
        },
        {
            content: "and failed jobs, but not done ones",
            trigger:
                ".o_list_view:has(.o_data_row:contains('UI failed job')):not(:has(.o_data_row:contains('UI done job')))",
        },
        {
            content: "the state panel counts the failed jobs",
            trigger:
                ".o_search_panel .o_search_panel_filter_value:contains('Failed') .o_search_panel_counter",
        },
        {
            content: "choose failed jobs in the state panel",
            trigger: ".o_search_panel .o_search_panel_filter_value:contains('Failed') input",
            run: "click",
        },
        {
            content: "only failed jobs are listed",
            trigger:
                ".o_list_view:has(.o_data_row:contains('UI failed job')):not(:has(.o_data_row:contains('UI pending job')))",
        },
        {
            content: "choose every state again",
            trigger: ".o_search_panel .o_search_panel_filter_value:contains('Failed') input",
            run: "click",
        },
        {
            content: "pending jobs are listed again",
            trigger: ".o_list_view .o_data_row:contains('UI pending job')",
        },
        clickButton("action_show_runner_status"),
        {
            content: "the runner status opens, saying who runs this worker",
            trigger: ".modal .o_form_view:contains('This worker')",
        },
        clickButton("action_refresh", ".modal"),
        {
            content: "a fresh snapshot",
            trigger: ".modal .o_form_view:contains('This worker')",
        },
        clickButton("action_process_due_jobs_in_background", ".modal"),
        ...expectNotification("Processing in the background"),
        clickButton("action_process_due_jobs", ".modal"),
        ...expectNotification("Due jobs processed"),
        {
            content: "the list is reloaded in place of the status",
            trigger: "body:not(:has(.modal)) .o_list_view .o_data_row:contains('UI pending job')",
        },
        clickButton("action_show_runner_status"),
        {
            content: "close the runner status",
            trigger: ".modal .modal-footer button:contains('Close')",
            run: "click",
        },
        {
            content: "it is closed",
            trigger: "body:not(:has(.modal))",
        },
        selectRow("UI pending job"),
        clickButton("action_run_now"),
        ...expectNotification("handed to the runner"),
        {
            content: "the list is reloaded, the selection cleared",
            trigger: ".o_list_view:not(:has(.o_data_row.o_data_row_selected))",
        },
        selectRow("UI failed job"),
        {
            content: "open the actions of the selection",
            trigger: ".o_control_panel .o_cp_action_menus button",
            run: "click",
        },
        {
            content: "requeue it",
            trigger: ".o-dropdown--menu .o-dropdown-item:contains('Requeue')",
            run: "click",
        },
        ...expectNotification("Requeued"),
        {
            content: "the requeued job is pending now",
            trigger: ".o_data_row:contains('UI failed job') .o_field_badge:contains('Pending')",
        },
        openSearchOptions(),
        chooseSearchOption("Created in the last hour"),
        chooseSearchOption("Job function"),
        {
            content: "jobs grouped by job function",
            trigger: ".o_list_view .o_group_header:contains('res.partner.write')",
        },
        chooseSearchOption("Priority"),
        {
            content: "open the date group-by",
            trigger: ".o_search_bar_menu .o_accordion_toggle:contains('Creation date')",
            run: "click",
        },
        {
            content: "group by day",
            trigger: ".o_search_bar_menu .o_item_option:contains('Day')",
            run: "click",
        },
        {
            content: "three levels of groups in the facet",
            trigger: ".o_searchview_facet:contains('Job function > Priority > Creation date: Day')",
        },
        {
            content: "switch to the pivot view",
            trigger: ".o_switch_view.o_pivot",
            run: "click",
        },
        {
            content: "the pivot shows jobs by function and state",
            trigger: ".o_pivot table:contains('res.partner.write')",
        },
        {
            content: "switch to the graph view",
            trigger: ".o_switch_view.o_graph",
            run: "click",
        },
        {
            content: "the graph is drawn",
            trigger: ".o_graph_renderer canvas",
        },
        {
            content: "back to the list",
            trigger: ".o_switch_view.o_list",
            run: "click",
        },
        {
            content: "the list is back",
            trigger: ".o_list_view .o_group_header",
        },
    ],
});
