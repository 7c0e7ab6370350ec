from . import controllers, models, wizards
from .hooks import drop_engine_objects
from .job import identity_exact
from .runner.server_hooks import install_server_hooks
