/**
 * Steps shared by the Job Queue tours: failing at once on an error dialog, pressing a
 * button, answering a confirmation, and waiting for a notification (then closing it,
 * so the next check sees only its own).
 */

/**
 * The first step of every tour: from then on, an error dialog ("Oops!", a server error,
 * a refused action) logs a console error, which fails the test at once with the
 * dialog's text, instead of letting the next step time out.
 */
export function failOnErrorDialogs() {
    return {
        content: "fail on any error dialog",
        trigger: "body",
        run() {
            const observer = new MutationObserver(() => {
                const dialog = document.querySelector(".o_error_dialog");
                if (dialog) {
                    observer.disconnect();
                    console.error(`An error dialog opened: ${dialog.innerText}`);
                }
            });
            observer.observe(document.body, { childList: true, subtree: true });
        },
    };
}

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
