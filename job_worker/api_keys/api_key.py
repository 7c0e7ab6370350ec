"""The API key of the keep-alive and process endpoints.

A key generated in Settings is shown once and stored only as its SHA-256 digest (in
``ir.config_parameter``); a key may also come, for deployments configured as code, from
``api_key`` in the ``[job_worker]`` section or the ``JOB_WORKER_API_KEY`` environment
variable, at least :data:`MIN_KEY_LENGTH` characters long. A presented key is hashed,
then its digest compared in constant time with each configured one (:mod:`.key_digest`).
"""

import enum
import logging
import os
import secrets

from ..configuration.config_section import read_job_worker_section
from .key_digest import key_digest, matches_any_digest

KEY_DIGEST_PARAMETER = "job_worker.api_key_sha256"
"""``ir.config_parameter`` holding the hex SHA-256 digest of the key made in Settings."""
KEY_ENVIRONMENT_VARIABLE = "JOB_WORKER_API_KEY"
KEY_BYTES = 32
"""Random bytes of a generated key (43 URL-safe characters)."""
MIN_KEY_LENGTH = 32
"""Characters a key of the configuration file or environment must have at least."""
CONFIG_FILE_SOURCE = "[job_worker] api_key (the configuration file)"
ENVIRONMENT_SOURCE = f"the {KEY_ENVIRONMENT_VARIABLE} environment variable"

_logger = logging.getLogger(__name__)
_reported_problems: set[str] = set()  # messages name sources and lengths, never keys


class KeyCheck(enum.Enum):
    """The outcome of checking a request's key."""

    ACCEPTED = "accepted"
    MISSING = "missing"
    WRONG = "wrong"
    DISABLED = "disabled"


def generate_api_key() -> str:
    """A new random key, URL-safe (it may be put in a query string)."""
    return secrets.token_urlsafe(KEY_BYTES)


def configured_digests(env) -> list[str]:
    """Digests of every key configured: Settings, the config file, the environment. A
    key of the file or environment shorter than :data:`MIN_KEY_LENGTH` is left out, and
    an error naming its source is logged (once per process)."""
    digests = []
    stored = env["ir.config_parameter"].sudo().get_param(KEY_DIGEST_PARAMETER)
    if stored:
        digests.append(stored)
    for source, key in deployment_keys():
        problem = key_length_problem(source, key)
        if problem:
            _report_once(problem)
        else:
            digests.append(key_digest(key))
    return digests


def deployment_keys() -> list[tuple[str, str]]:
    """The keys configured outside the database, each with where it comes from."""
    keys = [
        (CONFIG_FILE_SOURCE, read_job_worker_section().get("api_key")),
        (ENVIRONMENT_SOURCE, environment_api_key()),
    ]
    return [(source, key) for source, key in keys if key]


def key_length_problem(source: str, key: str) -> str | None:
    """Why the key from ``source`` is refused (too short to resist guessing), or None."""
    if len(key) >= MIN_KEY_LENGTH:
        return None
    return (
        f"the API key of {source} is refused: it has {len(key)} characters, at least "
        f"{MIN_KEY_LENGTH} are required (generate one in Job Queue > Settings, or with "
        "python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
    )


def environment_api_key() -> str | None:
    """The key of the ``JOB_WORKER_API_KEY`` environment variable, if set."""
    return os.environ.get(KEY_ENVIRONMENT_VARIABLE)


def _report_once(problem: str) -> None:
    if problem not in _reported_problems:
        _reported_problems.add(problem)
        _logger.error("job_worker endpoints: %s", problem)


def check_api_key(env, presented: str | None) -> KeyCheck:
    """Whether ``presented`` is a configured key (see :mod:`.key_digest`)."""
    digests = configured_digests(env)
    if not digests:
        return KeyCheck.DISABLED
    if not presented:
        return KeyCheck.MISSING
    return KeyCheck.ACCEPTED if matches_any_digest(presented, digests) else KeyCheck.WRONG


def store_new_api_key(env) -> str:
    """Generate a key, store its digest (replacing the previous key made in Settings),
    and return it: the only time it can be read."""
    key = generate_api_key()
    env["ir.config_parameter"].sudo().set_param(KEY_DIGEST_PARAMETER, key_digest(key))
    return key


def revoke_api_key(env) -> None:
    """Forget the key made in Settings (keys from the file or environment remain)."""
    env["ir.config_parameter"].sudo().set_param(KEY_DIGEST_PARAMETER, False)
