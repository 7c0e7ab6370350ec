# ruff: noqa: I001
# Order matters: Odoo creates tables and runs init() model by model, in this order, and
# queue.job's init() applies the runtime schema, which needs the channel table.
from . import base
from . import queue_job_channel
from . import queue_job_function
from . import queue_job
from . import queue_job_protection
from . import ir_http
from . import res_config_settings
from . import queue_job_processing_actions
from . import queue_job_failure_notification
from . import queue_job_related_action
from . import queue_job_state_actions
from . import queue_job_oca_names
