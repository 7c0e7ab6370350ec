"""Install and uninstall hooks."""

from .engine.schema import drop_runtime_schema


def drop_engine_objects(env):
    """Uninstall: drop what the engine created beside the models' tables (see
    :func:`~.engine.schema.drop_runtime_schema`)."""
    drop_runtime_schema(env.cr)
