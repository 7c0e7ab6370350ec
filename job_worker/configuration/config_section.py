"""Sections of Odoo's configuration file beside ``[options]``: ``[job_worker]``, and
``[queue_job]`` (OCA ``queue_job``'s, whose ``channels`` key is honoured).

Odoo itself reads only ``[options]``; other sections are left to addons, which read the
file again. An absent file or section is an empty section.
"""

import configparser
import logging
import os

from odoo.tools import config

_logger = logging.getLogger(__name__)

SECTION = "job_worker"
"""This addon's own section."""
QUEUE_JOB_SECTION = "queue_job"
"""OCA ``queue_job``'s section."""


def read_config_section(section: str) -> dict[str, str]:
    """The keys and values of ``[section]`` in the server's configuration file.

    A key spread over indented continuation lines keeps its line breaks.
    """
    path = config.get("config")
    if not path or not os.path.isfile(path):
        return {}
    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError) as error:
        _logger.error("job_worker: the configuration file %s cannot be read: %s", path, error)
        return {}
    return dict(parser.items(section)) if parser.has_section(section) else {}


def read_job_worker_section() -> dict[str, str]:
    """The ``[job_worker]`` keys and values of the server's configuration file."""
    return read_config_section(SECTION)
