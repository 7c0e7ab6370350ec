"""A process's job slots: its dispatchers (one per database) never run more jobs at once
than the process's maximum, together."""

import engine_import  # noqa: F401  (before anything from job_worker)
import pytest

from job_worker.engine.job_slots import JobSlots


def test_slots_are_shared_and_never_overbooked():
    slots = JobSlots(3)
    assert slots.reserve(2) == 2  # one database's dispatcher
    assert slots.reserve(5) == 1  # another's gets what is left
    assert slots.reserve(1) == 0
    assert slots.used == 3
    slots.release(2)
    assert (slots.used, slots.reserve(4)) == (1, 2)


def test_releasing_more_than_was_taken_or_a_process_without_slots_is_refused():
    slots = JobSlots(1)
    with pytest.raises(ValueError, match="only 0 taken"):
        slots.release()
    with pytest.raises(ValueError, match="at least 1 job slot"):
        JobSlots(0)
