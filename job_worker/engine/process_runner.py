"""One process's candidate runner, assembled from its configuration.

The Odoo glue and the multi-process tests build their runners here, so both run the
same thing: per database, a :class:`~.candidate.Candidate` whose election connection is
its own, and which, while it leads, runs a :class:`~.dispatcher.Dispatcher` owning its
jobs under ``job_worker:leader:<random>:<os pid>``. The dispatchers of all databases share
the process's job slots (``max_threads``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from .candidate import Candidate
from .connection import connect_engine, engine_application_name
from .dispatcher import Dispatcher, DispatcherConfig
from .election import joining_name
from .execution import JobTransactionFactory
from .job_slots import JobSlots
from .runner import CandidateRunner
from .runner_config import RunnerConfig


def build_process_runner(
    config: RunnerConfig,
    list_databases: Callable[[], Iterable[str]],
    connection_params: Callable[[str], dict],
    transaction_factory: Callable[[str], JobTransactionFactory],
) -> CandidateRunner:
    """A runner serving ``list_databases()``; ``connection_params(dbname)`` gives libpq
    parameters, ``transaction_factory(dbname)`` how jobs of that database run (called
    once each time the process starts leading the database). What its candidates and
    dispatchers do is told by the engine's events (:mod:`.events`)."""
    job_slots = JobSlots(config.max_threads)
    dispatcher_config = DispatcherConfig(
        max_threads=config.max_threads, shutdown_grace_s=config.shutdown_grace
    )

    def make_candidate(dbname: str) -> Candidate:
        def connect_election():
            return connect_engine(connection_params(dbname), joining_name(os.getpid()))

        def make_dispatcher(may_claim: Callable[[], bool]) -> Dispatcher:
            owner = engine_application_name("leader")
            return Dispatcher(
                connect=lambda: connect_engine(connection_params(dbname), owner),
                open_transaction=transaction_factory(dbname),
                config=dispatcher_config,
                may_claim=may_claim,
                job_slots=job_slots,
            )

        return Candidate(
            dbname,
            connect=connect_election,
            make_dispatcher=make_dispatcher,
            check_interval_s=config.leader_check_interval,
        )

    return CandidateRunner(list_databases, make_candidate, config.database_check_interval)
