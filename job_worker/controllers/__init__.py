from . import processing_endpoints
