from . import (
    test_enqueue,
    test_outcomes,
    test_processing,
    test_runner,
    test_schema,
    test_serialization,
)
