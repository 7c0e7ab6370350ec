"""The victim of the recovery benchmark: a processor that dies while its job runs.

``python bench/hold_job.py DBNAME APPLICATION_NAME`` runs a Dispatcher (one worker) whose
job sleeps for an hour. When its job starts (claimed, committed as started, its row
locked in the job's own open transaction) it prints ``started <job id>`` and flushes.
The benchmark then kills it with SIGKILL: no shutdown, no rollback, no clean-up.
"""

from __future__ import annotations

import sys
import time

import engine_import  # noqa: F401  (registers the bare job_worker package)
from driver import TransactionFactory

from job_worker.engine.connection import connect_engine
from job_worker.engine.dispatcher import Dispatcher, DispatcherConfig


def run_forever(job):
    print(f"started {job.id}", flush=True)
    time.sleep(3600)


def main(dbname: str, application_name: str) -> None:
    dispatcher = Dispatcher(
        lambda: connect_engine({"dbname": dbname}, application_name),
        TransactionFactory(dbname, perform=run_forever),
        DispatcherConfig(max_threads=1),
    )
    dispatcher.run()


if __name__ == "__main__":
    main(*sys.argv[1:3])
