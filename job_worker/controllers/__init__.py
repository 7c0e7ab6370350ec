from . import processing_endpoints
from .request_log_redaction import install_key_redaction

install_key_redaction()
