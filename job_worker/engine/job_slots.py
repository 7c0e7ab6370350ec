"""The jobs one process runs at once, shared by its dispatchers (one per database)."""

from __future__ import annotations

import threading


class JobSlots:
    """A per-process maximum of running jobs: a dispatcher reserves slots before it
    claims, gives back those its claim did not fill, and one more as each job ends.

    Channel capacities are enforced by the database across every process; this bounds
    what one process (an Odoo HTTP worker, whose CPU and memory limits the jobs share)
    takes on, whatever the number of databases it leads.
    """

    def __init__(self, size: int):
        if size < 1:
            raise ValueError(f"a process needs at least 1 job slot, got {size}")
        self.size = size
        self._used = 0
        self._lock = threading.Lock()

    def reserve(self, wanted: int) -> int:
        """Take up to ``wanted`` free slots; return how many were taken (maybe 0)."""
        with self._lock:
            taken = max(0, min(wanted, self.size - self._used))
            self._used += taken
            return taken

    def release(self, count: int = 1) -> None:
        """Give back ``count`` slots."""
        with self._lock:
            if count > self._used:
                raise ValueError(f"releasing {count} job slot(s), only {self._used} taken")
            self._used -= count

    @property
    def used(self) -> int:
        """Slots taken now."""
        with self._lock:
            return self._used
