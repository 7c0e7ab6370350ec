"""A deterministic check for a wake-up the dispatcher used to miss (fixed in b58f3fc).

``.venv/bin/python bench/lost_wakeup.py`` (its own database, dropped at the end; exit
status 1 when a wake-up was missed).

PostgreSQL delivers a notification to a listening session only between transactions;
psycopg2 reads it with the reply of whatever statement the session runs then and keeps
it in ``connection.notifies``, where nothing wakes ``selector.select()``. A dispatcher
that only looks for notifications when its socket is readable loses one that arrives
while its own claim transaction runs, when that claim saw nothing.

The script makes that window wide and certain: job A is pending but its row is locked by
another transaction (X), which is about to cancel it. The dispatcher starts and claims:
its claim statement sees A, and waits for A's row lock. Job B is inserted and committed
meanwhile (its notification is held back until the dispatcher's transaction ends). X
commits: the claim skips the cancelled A and returns nothing; B's notification comes in
with the claim's COMMIT. Unless the dispatcher looks at ``connection.notifies`` before
it sleeps, B, due and pending, then waits for whatever wakes the dispatcher next:
another job, a finished one, a recovered one.
"""

from __future__ import annotations

import sys
import time

import engine_import  # noqa: F401  (registers the bare job_worker package)
import psycopg2
from driver import TransactionFactory
from harness import Bench, bench_database

GIVE_UP_S = 10.0


def attempt(bench: Bench) -> float | None:
    """Seconds from B's commit to B's start, or None if it did not start in GIVE_UP_S."""
    bench.reset_queue()
    job_a = bench.insert_one_job()
    canceller = psycopg2.connect(dbname=bench.dbname)
    enqueuer = psycopg2.connect(dbname=bench.dbname)
    starts: dict[int, float] = {}
    try:
        with canceller.cursor() as cursor:
            cursor.execute("UPDATE queue_job SET state = 'cancelled' WHERE id = %s", [job_a])
        factory = TransactionFactory(
            bench.dbname, lambda job: starts.setdefault(job.id, time.perf_counter())
        )
        with bench.running_dispatcher(factory):
            time.sleep(0.2)  # its first claim now waits for A's row lock
            with enqueuer.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO queue_job (model_name, method_name)"
                    " VALUES ('bench.job', 'B') RETURNING id"
                )
                (job_b,) = cursor.fetchone()
            enqueuer.commit()
            committed = time.perf_counter()
            time.sleep(0.05)
            canceller.commit()  # the waiting claim skips A and returns nothing
            try:
                bench.wait_for(lambda: job_b in starts, "job B", GIVE_UP_S)
            except TimeoutError:
                return None
            return starts[job_b] - committed
    finally:
        canceller.close()
        enqueuer.close()


def main() -> int:
    with bench_database(jit_off=True) as dbname:
        bench = Bench(dbname)
        try:
            results = [attempt(bench) for _ in range(3)]
        finally:
            bench.close()
    for index, seconds in enumerate(results, 1):
        if seconds is None:
            print(f"attempt {index}: job B had not started {GIVE_UP_S:g}s after its commit")
        else:
            print(f"attempt {index}: job B started {seconds * 1000:.0f} ms after its commit")
    missed = sum(seconds is None or seconds > 0.5 for seconds in results)
    print(f"wake-ups missed: {missed} of {len(results)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
