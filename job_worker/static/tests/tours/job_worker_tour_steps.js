/**
 * Steps shared by the Job Queue tours: pressing a button, answering a confirmation,
 * and waiting for a notification (then closing it, so the next check sees only its own).
 */

export function clickButton(name, scope = "") {
    return {
        content: `press ${name}`,
        trigger: `${scope} button[name='${name}']:enabled`.trim(),
        run: "click",
    };
}

export function confirmDialog() {
    return {
        content: "answer the confirmation",
        trigger: ".modal:has(.modal-title:contains('Confirmation')) .modal-footer .btn-primary",
        run: "click",
    };
}

export function expectNotification(text) {
    return [
        {
            content: `a notification says "${text}"`,
            trigger: `.o_notification:contains('${text}')`,
        },
        {
            content: "close it",
            trigger: `.o_notification:contains('${text}') .o_notification_close`,
            run: "click",
        },
        {
            content: "it is gone",
            trigger: `body:not(:has(.o_notification:contains('${text}')))`,
        },
    ];
}

export function openSearchOptions() {
    return {
        content: "open the search options",
        trigger: ".o_searchview_dropdown_toggler",
        run: "click",
    };
}

export function chooseSearchOption(label) {
    return {
        content: `choose ${label}`,
        trigger: `.o_search_bar_menu .o-dropdown-item:contains('${label}')`,
        run: "click",
    };
}
