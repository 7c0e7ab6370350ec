from . import controllers, models
from .engine.operator_log import subscribe_operator_log
from .hooks import drop_engine_objects
from .runner.server_hooks import install_server_hooks

# The engine reports what it does as events; in Odoo, operators read them in the log.
subscribe_operator_log()
