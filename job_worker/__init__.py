from . import controllers, models, wizards
from .hooks import drop_engine_objects
from .runner.server_hooks import install_server_hooks
