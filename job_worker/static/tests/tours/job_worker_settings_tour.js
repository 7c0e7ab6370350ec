/**
 * Job Queue's section of Settings: generate and revoke the endpoints' API key, the
 * status of the key changing at once, and the panel telling who runs jobs.
 */
import { registry } from "@web/core/registry";
import {
    clickButton,
    confirmDialog,
    expectNotification,
    failOnErrorDialogs,
} from "./job_worker_tour_steps";

registry.category("web_tour.tours").add("job_worker_settings_tour", {
    steps: () => [
        failOnErrorDialogs(),
        {
            content: "no key yet",
            trigger: "#job_worker_api_key:contains('No key')",
        },
        {
            content: "the panel tells who runs jobs",
            trigger: "#job_worker_runner_status_panel:contains('This worker')",
        },
        clickButton("action_job_worker_generate_api_key"),
        confirmDialog(),
        ...expectNotification("New API key"),
        {
            content: "the key's status says so at once",
            trigger: "#job_worker_api_key:contains('A key generated here is active')",
        },
        clickButton("action_job_worker_revoke_api_key"),
        confirmDialog(),
        ...expectNotification("API key revoked"),
        {
            content: "and again after the revocation",
            trigger: "#job_worker_api_key:contains('No key')",
        },
    ],
});

registry.category("web_tour.tours").add("job_worker_scheduled_action_tour", {
    steps: () => [
        failOnErrorDialogs(),
        {
            content: "the scheduled action's form",
            trigger: ".o_last_breadcrumb_item:contains('Job Queue')",
        },
        // The test checks that it ran (its last execution date); an error would open
        // a dialog and fail the tour.
        clickButton("method_direct_trigger"),
    ],
});
