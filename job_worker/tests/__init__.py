from . import (
    test_channel_configuration,
    test_enqueue,
    test_graph_processing,
    test_job_management,
    test_oca_compatibility,
    test_outcomes,
    test_processing,
    test_processing_actions,
    test_processing_endpoints,
    test_runner,
    test_schema,
    test_serialization,
)
