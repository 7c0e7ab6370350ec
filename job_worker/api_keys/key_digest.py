"""Comparing a presented API key with the stored ones, in constant time.

Framework-free (the tests time it without Odoo). Keys are stored as SHA-256 digests; a
presented key is hashed, then its digest is compared with every stored digest with
``hmac.compare_digest``. The time taken depends on neither the stored keys nor how much
of one the presented key matches: a wrong key and a key of the wrong length cost the
same.
"""

import hashlib
import hmac
from collections.abc import Iterable


def key_digest(key: str) -> str:
    """The hex SHA-256 digest stored for ``key``."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def matches_any_digest(presented: str, digests: Iterable[str]) -> bool:
    """Whether ``presented`` is one of the keys whose digests are given. Every digest is
    compared, whatever matches first."""
    presented_digest = key_digest(presented).encode()
    matches = [hmac.compare_digest(presented_digest, digest.encode()) for digest in digests]
    return any(matches)
