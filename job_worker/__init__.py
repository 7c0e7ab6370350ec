from . import controllers, models, wizards
from .engine.operator_log import subscribe_operator_log
from .hooks import drop_engine_objects
from .job import identity_exact
from .runner.server_hooks import install_server_hooks

# The engine reports what it does as events; in Odoo, operators read them in the log.
subscribe_operator_log()
