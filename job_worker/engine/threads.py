"""Starting the engine's threads, every one blocking the signals its host process handles.

Odoo's prefork worker stops when its main thread handles SIGINT (SIGTERM in a threaded
server, SIGHUP to reload...). The kernel hands a process-directed signal to any thread
that does not block it; if that is one of ours, the main thread, waiting in a join or a
``select``, never runs its handler and the worker never stops. So every thread the engine
starts, and every thread the Odoo glue starts to run engine work, goes through
:func:`start_engine_thread`: the thread blocks :data:`PROCESS_SIGNALS` from its first
instruction, whichever thread starts it, and so does every thread it starts in turn.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

PROCESS_SIGNALS = frozenset(
    signal.Signals[name]
    for name in (
        "SIGINT",
        "SIGTERM",
        "SIGHUP",
        "SIGQUIT",
        "SIGUSR1",
        "SIGUSR2",
        "SIGXCPU",
        "SIGCHLD",
        "SIGTTIN",
        "SIGTTOU",
    )
)
"""Signals the host process handles in its main thread; the engine's threads block them."""


def start_engine_thread(target: Callable[[], object], name: str) -> threading.Thread:
    """Start ``target`` on a daemon thread named ``name`` that blocks :data:`PROCESS_SIGNALS`;
    return the thread.

    A new thread inherits the mask of the thread that starts it, so the mask is set on
    the calling thread for the instant of the start, then put back as it was: signals
    arriving meanwhile wait, pending, and are handled once it is put back.
    """
    thread = threading.Thread(target=target, name=name, daemon=True)
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, PROCESS_SIGNALS)
    try:
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)
    return thread
