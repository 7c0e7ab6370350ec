"""What the engine's long-running loops sleep on: a LISTEN connection and a wake pipe.

The dispatcher sleeps until a new job is notified, one of its jobs ends, or a timer is
due; a candidate until a leader steps down, it is asked to stop, or its next check is
due. Both hold one connection that LISTENs, reopen it with backoff when it breaks, and
are woken by their own threads through a pipe. :class:`Listener` is that, once.

A notification can arrive without the socket ever becoming readable again: PostgreSQL
delivers it between the listener's transactions, and psycopg2 reads it together with the
answer to whatever the connection ran last, into ``connection.notifies``. So
:meth:`Listener.wait` looks there before it sleeps (see ``bench/lost_wakeup.py``).
"""

from __future__ import annotations

import contextlib
import os
import random
import selectors
import threading
from collections.abc import Callable

import psycopg2

from .connection import Connection

CONNECTION_ERRORS = (psycopg2.OperationalError, psycopg2.InterfaceError)
"""What a broken connection raises: the listener reopens it."""
RECONNECT_JITTER = (0.5, 1.0)
"""Each reconnection wait is the backoff times a random factor in this range, so that
processes that lost the server together do not all come back at the same instant."""
WAKE_READ_BYTES = 4096
"""Wake-up bytes read per call while emptying the pipe."""

_CONNECTION = "connection"
_WAKE_PIPE = "wake"


class Listener:
    """A connection that LISTENs, reopened with backoff, and a pipe that wakes its loop.

    ``open_connection()`` opens the connection and issues its LISTEN (it may do more:
    the candidate joins the election on it); the listener owns it from then on.
    ``reconnect_backoff_s`` is the first and the largest wait before opening it again
    after a loss (the wait doubles on each loss in a row). :meth:`wake` may be called
    from any thread, even after :meth:`close`; everything else from the loop's own.
    """

    def __init__(
        self,
        open_connection: Callable[[], Connection],
        reconnect_backoff_s: tuple[float, float],
    ):
        first_s, largest_s = reconnect_backoff_s
        if not 0 < first_s <= largest_s:
            raise ValueError(
                f"reconnect_backoff_s must be (first, largest) with 0 < first <= largest, "
                f"got {reconnect_backoff_s}"
            )
        self._open_connection = open_connection
        self._backoff_s = reconnect_backoff_s
        self._next_backoff_s = first_s
        self._connection: Connection | None = None
        self._selector = selectors.DefaultSelector()
        self._wake_read, self._wake_write = os.pipe()
        # A full pipe already holds a wake-up: writing more must never block the waker;
        # and wait() reads it empty without blocking.
        os.set_blocking(self._wake_write, False)
        os.set_blocking(self._wake_read, False)
        self._selector.register(self._wake_read, selectors.EVENT_READ, _WAKE_PIPE)
        # Held to write to the pipe and to close it: a waker never writes to a closed
        # descriptor, whose number the process may have given to another file since.
        self._pipe_lock = threading.Lock()
        self._closed = False

    @property
    def connection(self) -> Connection | None:
        """The open connection, or None while there is none."""
        return self._connection

    def connect(self) -> Connection:
        """The open connection; opened (and LISTENing) first if there is none."""
        connection = self._connection
        if connection is not None and not connection.closed:
            return connection
        self.disconnect()
        connection = self._open_connection()
        try:
            self._selector.register(connection.fileno(), selectors.EVENT_READ, _CONNECTION)
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        # Open again: the next loss is a new one, not one more failed attempt.
        self._next_backoff_s = self._backoff_s[0]
        return connection

    def disconnect(self) -> None:
        """Close the connection, if any (a broken one, or at the end)."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        for key in list(self._selector.get_map().values()):
            if key.data == _CONNECTION:
                self._selector.unregister(key.fd)
        with contextlib.suppress(psycopg2.Error):
            connection.close()

    def next_reconnect_wait_s(self) -> float:
        """How long to wait before opening the connection again after a loss."""
        wait_s = self._next_backoff_s * random.uniform(*RECONNECT_JITTER)
        self._next_backoff_s = min(self._next_backoff_s * 2, self._backoff_s[1])
        return wait_s

    def wait(self, timeout_s: float | None) -> bool:
        """Sleep until a notification, a wake-up, or ``timeout_s`` (None: no limit);
        return whether a notification or a wake-up came. Notifications are consumed:
        the loop asks the database what changed, not the notification."""
        connection = self._connection
        if connection is not None and connection.notifies:
            connection.notifies.clear()
            return True
        woken = False
        timeout_s = None if timeout_s is None else max(0.0, timeout_s)
        for key, _ in self._selector.select(timeout=timeout_s):
            woken = True
            if key.data == _CONNECTION:
                connection.poll()
                connection.notifies.clear()
            else:
                self._drain_wake_pipe()
        return woken

    def _drain_wake_pipe(self) -> None:
        """Read every pending wake-up: however many came, they wake the loop once."""
        with contextlib.suppress(BlockingIOError):
            while os.read(self._wake_read, WAKE_READ_BYTES):
                pass

    def wake(self) -> None:
        """Wake :meth:`wait` (now, or at its next call); from any thread."""
        with self._pipe_lock:
            if self._closed:
                return
            with contextlib.suppress(BlockingIOError):
                os.write(self._wake_write, b"\0")

    def close(self) -> None:
        """Close the connection and the pipe; later wake-ups are ignored."""
        self.disconnect()
        with self._pipe_lock:
            if self._closed:
                return
            self._closed = True
            self._selector.close()
            os.close(self._wake_read)
            os.close(self._wake_write)
