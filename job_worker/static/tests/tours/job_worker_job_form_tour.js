/**
 * A job's form as a Job Queue Manager uses it: from Failed Jobs to a failed job, its
 * chatter post, its Related action, then Requeue, Run now, Cancel and Set to done, each
 * answered by a notification and a reloaded form; and a graph job's smart button.
 */
import { registry } from "@web/core/registry";
import {
    chooseSearchOption,
    clickButton,
    confirmDialog,
    expectNotification,
    failOnErrorDialogs,
    openSearchOptions,
} from "./job_worker_tour_steps";

function expectState(label) {
    return {
        content: `the job is ${label}`,
        trigger: `.o_form_view .o_statusbar_status button.o_arrow_button_current:contains('${label}')`,
    };
}

registry.category("web_tour.tours").add("job_worker_job_form_tour", {
    steps: () => [
        failOnErrorDialogs(),
        {
            content: "Failed Jobs groups failed jobs by exception",
            trigger: ".o_list_view .o_group_header:contains('ValueError')",
            run: "click",
        },
        {
            content: "open the failed job",
            trigger: ".o_data_row:contains('UI failed job') .o_data_cell[name='name']",
            run: "click",
        },
        {
            content: "its failure is kept and told on its chatter",
            trigger: ".o_form_view:contains('invalid literal') .o-mail-Message:contains('Failed for good after')",
        },
        clickButton("open_related_action"),
        {
            content: "the partner the job works on opens",
            trigger: ".o_breadcrumb .active:contains('UI partner')",
        },
        {
            content: "back to the job",
            trigger: ".o_breadcrumb .breadcrumb-item a:contains('UI failed job')",
            run: "click",
        },
        expectState("Failed"),
        clickButton("requeue"),
        ...expectNotification("Requeued"),
        expectState("Pending"),
        clickButton("action_run_now"),
        ...expectNotification("handed to the runner"),
        clickButton("button_cancelled"),
        confirmDialog(),
        ...expectNotification("Cancelled"),
        expectState("Cancelled"),
        clickButton("button_done"),
        confirmDialog(),
        ...expectNotification("Set to done"),
        expectState("Done"),
        {
            content: "back to the list",
            trigger: ".o_breadcrumb .breadcrumb-item a",
            run: "click",
        },
        {
            content: "the failed group is gone with the job set done",
            trigger: ".o_list_view:not(:has(.o_group_header:contains('ValueError')))",
        },
    ],
});

registry.category("web_tour.tours").add("job_worker_graph_jobs_tour", {
    steps: () => [
        failOnErrorDialogs(),
        openSearchOptions(),
        chooseSearchOption("Graph (first job)"),
        {
            content: "the graph's group is labelled by its first job",
            trigger: ".o_list_view .o_group_header:contains('UI graph first (')",
            run: "click",
        },
        {
            content: "open the first job of a graph",
            trigger: ".o_data_row:contains('UI graph first') .o_data_cell[name='name']",
            run: "click",
        },
        {
            content: "the form draws its graph: the waiting job after it",
            trigger:
                ".o_job_worker_graph_diagram:contains('UI graph first') .border:contains('UI graph second'):contains('after UI graph first')",
        },
        {
            content: "its smart button counts the graph's jobs",
            trigger: "button[name='action_open_graph_jobs']:contains('2')",
            run: "click",
        },
        {
            content: "the graph's jobs, and only them",
            trigger:
                ".o_list_view:has(.o_data_row:contains('UI graph second')):not(:has(.o_data_row:contains('UI pending job')))",
        },
        {
            content: "the graph's list is shown",
            trigger: ".o_breadcrumb .active:contains('Jobs of the graph of UI graph first')",
        },
        {
            content: "open the waiting one",
            trigger: ".o_data_row:contains('UI graph second') .o_data_cell[name='name']",
            run: "click",
        },
        {
            content: "it says what it waits for",
            trigger: ".o_notebook .nav-link:contains('Waits for')",
        },
    ],
});

registry.category("web_tour.tours").add("job_worker_requeue_failed_tour", {
    steps: () => [
        failOnErrorDialogs(),
        {
            content: "open the ValueError group",
            trigger: ".o_list_view .o_group_header:contains('ValueError')",
            run: "click",
        },
        {
            content: "select a job of it",
            trigger: ".o_data_row:contains('UI failed job') .o_list_record_selector input",
            run: "click",
        },
        {
            content: "requeue all of that exception",
            trigger: "button:contains('Requeue all')",
            run: "click",
        },
        {
            content: "the failed jobs to requeue are counted",
            trigger: ".modal .o_field_widget[name='job_count']:contains('1')",
        },
        clickButton("action_requeue", ".modal"),
        ...expectNotification("Requeued"),
        {
            content: "no failed job is left",
            trigger: ".o_list_view:not(:has(.o_group_header:contains('ValueError')))",
        },
    ],
});
