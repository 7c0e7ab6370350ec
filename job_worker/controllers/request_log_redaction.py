"""Keys sent in a query string (``?key=…``) kept out of the server log.

Odoo logs every request line through the ``werkzeug`` logger (``"GET /path?query
HTTP/1.1" 200 -``, in :class:`odoo.service.server.CommonRequestHandler`). A filter on
that logger rewrites the line of the job_worker endpoints before any handler sees it:
the value of ``key`` (and of ``api_key``, should a caller put it there) becomes
:data:`REDACTED`. The rest of the line, and every other route's, is left as it was.
"""

import logging
import re

REQUEST_LOGGER = "werkzeug"
REDACTED = "[redacted]"
ENDPOINT_PATHS = ("/job_worker/", "/api/v1/queue/")
"""Paths of the routes that take a key."""
_KEY_IN_QUERY = re.compile(r"([?&](?:api_)?key=)[^&#\s\"]*")


def redact_keys(text: str) -> str:
    """``text`` with the value of every ``key``/``api_key`` query parameter of a job_worker
    endpoint replaced by :data:`REDACTED`."""
    if not any(path in text for path in ENDPOINT_PATHS):
        return text
    return _KEY_IN_QUERY.sub(lambda match: match.group(1) + REDACTED, text)


class KeyRedactingFilter(logging.Filter):
    """Redacts keys in request lines (see the module's docstring); drops nothing."""

    def filter(self, record):
        if isinstance(record.msg, str):
            record.msg = redact_keys(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_keys(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


def install_key_redaction() -> None:
    """Add the filter to the request logger, once per process (module reloads included)."""
    logger = logging.getLogger(REQUEST_LOGGER)
    installed = {type(existing).__name__ for existing in logger.filters}
    if KeyRedactingFilter.__name__ not in installed:
        logger.addFilter(KeyRedactingFilter())
