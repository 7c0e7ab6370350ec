"""Install and uninstall hooks."""


def drop_engine_objects(env):
    """Uninstall: drop what the engine created beside the models' tables."""
    env.cr.execute("DROP TABLE IF EXISTS queue_job_channel_start")
    env.cr.execute("DROP FUNCTION IF EXISTS queue_job_notify_runnable() CASCADE")
    env.cr.execute("DROP FUNCTION IF EXISTS queue_job_channel_notify_changed() CASCADE")
    env.cr.execute("DROP FUNCTION IF EXISTS queue_job_follow_dependencies() CASCADE")
    env.cr.execute("DROP FUNCTION IF EXISTS queue_job_wait_for_parents() CASCADE")
