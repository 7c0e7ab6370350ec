from . import test_cron_processing, test_cron_triggers, test_user_interface
