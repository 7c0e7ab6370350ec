from . import (
    test_enqueue,
    test_outcomes,
    test_processing,
    test_processing_actions,
    test_processing_endpoints,
    test_runner,
    test_schema,
    test_serialization,
)
