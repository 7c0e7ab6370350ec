from . import models
from .hooks import drop_engine_objects
