"""The delay API at OCA ``queue_job``'s import path.

Code written for ``queue_job`` imports ``group``, ``chain``, ``Delayable`` and
``DelayableRecordset`` from ``odoo.addons.queue_job.delay``; here they come from
``odoo.addons.job_worker.delay``. They live in :mod:`.enqueue`.
"""

from .enqueue.delayable_recordset import DelayableRecordset
from .enqueue.graph import Delayable, DelayableChain, DelayableGraph, DelayableGroup, chain, group

__all__ = [
    "Delayable",
    "DelayableChain",
    "DelayableGraph",
    "DelayableGroup",
    "DelayableRecordset",
    "chain",
    "group",
]
