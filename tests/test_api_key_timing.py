"""An API key check takes the same time for a wrong key and for a key of the wrong
length: the presented key is hashed, and fixed-length digests are compared with
``hmac.compare_digest``. Measured here, on the very function the endpoints call."""

import statistics
import time

import engine_import  # noqa: F401  (before anything from job_worker)

from job_worker.api_keys.key_digest import key_digest, matches_any_digest

STORED_KEY = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"  # 43 characters, as generated
BATCHES = 60
CALLS_PER_BATCH = 2000
TOLERANCE = 0.25
"""The fastest batches of two checks doing the same work differ by far less than this."""


def fastest_batch_s(presented, digests):
    """The fastest of several batches of checks: the least disturbed by the machine."""
    timings = []
    for _ in range(BATCHES):
        started = time.perf_counter()
        for _ in range(CALLS_PER_BATCH):
            matches_any_digest(presented, digests)
        timings.append(time.perf_counter() - started)
    return min(timings), statistics.median(timings)


def test_a_wrong_key_and_a_key_of_the_wrong_length_take_the_same_time():
    digests = [key_digest(STORED_KEY)]
    wrong_same_length = STORED_KEY[:-1] + "H"  # differs only in its last character
    wrong_length = STORED_KEY[:20]  # a prefix of the right key

    assert not matches_any_digest(wrong_same_length, digests)
    assert not matches_any_digest(wrong_length, digests)
    assert matches_any_digest(STORED_KEY, digests)

    same_length_fastest, same_length_median = fastest_batch_s(wrong_same_length, digests)
    wrong_length_fastest, wrong_length_median = fastest_batch_s(wrong_length, digests)
    difference = abs(same_length_fastest - wrong_length_fastest) / min(
        same_length_fastest, wrong_length_fastest
    )
    print(
        f"\nkey check, {CALLS_PER_BATCH} calls: wrong key {same_length_fastest * 1e3:.2f} ms"
        f" (median {same_length_median * 1e3:.2f}), wrong length"
        f" {wrong_length_fastest * 1e3:.2f} ms (median {wrong_length_median * 1e3:.2f});"
        f" difference {difference:.1%}"
    )
    assert difference < TOLERANCE
