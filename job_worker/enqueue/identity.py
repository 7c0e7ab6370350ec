"""What an identity-key function receives, and ``identity_exact``.

OCA ``queue_job`` code passes ``identity_key=identity_exact`` (imported from
``odoo.addons.queue_job.job``; here ``odoo.addons.job_worker.job``): the key is then a
digest of the job's model, method, records and arguments, so enqueuing the very same
call twice while the first still waits stores one job. The digest is OCA's, byte for
byte (the arguments hashed as a tuple), so a job carried over from ``queue_job`` still
holds its key.
"""

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class JobDescription:
    """The call a job would make, as an identity-key function sees it."""

    model_name: str
    method_name: str
    recordset: object
    args: tuple
    kwargs: dict


def identity_exact(job) -> str:
    """A key equal for calls of the same method on the same records with equal arguments."""
    return identity_exact_hasher(job).hexdigest()


def identity_exact_hasher(job):
    """The SHA-1 hasher behind :func:`identity_exact`, to extend with more data."""
    hasher = hashlib.sha1()
    hasher.update(job.model_name.encode("utf-8"))
    hasher.update(job.method_name.encode("utf-8"))
    hasher.update(str(sorted(job.recordset.ids)).encode("utf-8"))
    hasher.update(str(tuple(job.args)).encode("utf-8"))
    hasher.update(str(sorted(job.kwargs.items())).encode("utf-8"))
    return hasher
