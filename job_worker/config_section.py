"""The ``[job_worker]`` section of Odoo's configuration file.

Odoo itself reads only ``[options]``; other sections are left to addons, which read the
file again. An absent file or section is an empty section.
"""

import configparser
import logging
import os

from odoo.tools import config

_logger = logging.getLogger(__name__)

SECTION = "job_worker"


def read_job_worker_section() -> dict[str, str]:
    """The ``[job_worker]`` keys and values of the server's configuration file."""
    path = config.get("config")
    if not path or not os.path.isfile(path):
        return {}
    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as error:
        _logger.error("job_worker: the configuration file %s cannot be read: %s", path, error)
        return {}
    return dict(parser.items(SECTION)) if parser.has_section(SECTION) else {}
