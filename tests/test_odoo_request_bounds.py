"""End to end on a real prefork Odoo 19 with 2 HTTP workers and no runner (job_worker is
not loaded server-wide): process requests can no longer hold every worker, nor outlive
their budget, and a key sent in the URL stays out of the server's log.

Before: two concurrent ``POST /job_worker/process`` calls, each running a 30 s job under
its full timeout, held both workers for 30 s while a login page waited for one.
"""

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from dispatcher_processes import wait_until
from odoo_server import OdooServer, job_worker_errors, requires_odoo, shell
from test_odoo_process_endpoint_load import http_call, job_states, last_json_line

pytestmark = [pytest.mark.odoo, requires_odoo]
ODOO_MODULES = "job_worker,job_worker_e2e"

LONG_JOB_S = 30
MAX_SECONDS = 3
BUSY_ANSWER_WITHIN_S = 2.0
"""A request turned away does nothing: it answers about as fast as a keep-alive."""
CAPPED_ANSWER_WITHIN_S = MAX_SECONDS + 4.0
"""The admitted request interrupts its job at its budget's end, then settles it."""
LOGIN_WITHIN_S = 5.0
"""A user's page while both calls run (18 s before, behind the two long requests)."""


@pytest.fixture(scope="module")
def api_key(odoo_database):
    output = shell(
        odoo_database,
        """
import json
from odoo.addons.job_worker.api_keys.api_key import store_new_api_key
key = store_new_api_key(env)
env.cr.commit()
print(json.dumps({"key": key}))
""",
    )
    return last_json_line(output)["key"]


def post_process(port, key):
    return http_call(
        "POST",
        f"http://127.0.0.1:{port}/job_worker/process",
        headers={"Authorization": f"Bearer {key}"},
        body={"batch_size": 1, "max_seconds": MAX_SECONDS},
    )


def long_job_row(observed):
    with observed.cursor() as cursor:
        cursor.execute(
            "SELECT state, retry, exc_name, exc_message FROM queue_job WHERE args LIKE %s",
            ['["bounded-long"%'],
        )
        return cursor.fetchone()


def test_concurrent_process_calls_leave_a_worker_free_and_no_job_outlives_its_request(
    odoo_database, api_key, observed, tmp_path
):
    shell(
        odoo_database,
        f"""
env["job_worker_e2e.execution"].with_delay().record_execution("bounded-long", seconds={LONG_JOB_S})
env.cr.commit()
""",
    )
    server = OdooServer(
        odoo_database,
        tmp_path / "prefork.log",
        "--workers=2",
        "--max-cron-threads=0",
        "--limit-time-real=60",
    )
    try:
        wait_until(
            lambda: http_call("GET", f"http://127.0.0.1:{server.port}/web/login").status == 200,
            120.0,
            "the server did not answer",
        )
        with ThreadPoolExecutor(2) as pool:
            calls = [pool.submit(post_process, server.port, api_key) for _ in range(2)]
            time.sleep(0.5)  # both calls are in the workers now
            login = http_call("GET", f"http://127.0.0.1:{server.port}/web/login")
            answers = [call.result() for call in calls]
        in_url = http_call(
            "GET", f"http://127.0.0.1:{server.port}/job_worker/keepalive?key={api_key}"
        )
    finally:
        server.stop()

    assert [answer.status for answer in answers] == [200, 200], answers
    busy = [answer for answer in answers if answer.body["busy"]]
    admitted = [answer for answer in answers if not answer.body["busy"]]
    assert (len(busy), len(admitted)) == (1, 1), [answer.body for answer in answers]
    assert busy[0].body["processed"] == 0
    assert "nothing was processed" in busy[0].body["message"]
    assert busy[0].seconds < BUSY_ANSWER_WITHIN_S
    assert admitted[0].body["processed"] == 1
    assert admitted[0].seconds < CAPPED_ANSWER_WITHIN_S
    assert login.status == 200
    assert login.seconds < LOGIN_WITHIN_S

    # The job was interrupted at the request's end and given back, its attempt not
    # counted; its writes (an execution row) were rolled back.
    state, retry, exc_name, exc_message = long_job_row(observed)
    assert (state, retry) == ("pending", 0)
    assert "JobInterruptedError" in exc_name
    assert "time budget" in exc_message
    assert job_states(observed, "bounded-long") == {"pending": 1}
    with observed.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM job_worker_e2e_execution WHERE key = 'bounded-long'")
        assert cursor.fetchone()[0] == 0

    assert in_url.status == 200
    log = server.log()
    assert api_key not in log
    assert "/job_worker/keepalive?key=[redacted]" in log
    assert job_worker_errors(log) == []
    print(
        f"\ntwo concurrent process calls: one busy in {busy[0].seconds:.2f}s, one capped"
        f" at {MAX_SECONDS}s answered in {admitted[0].seconds:.2f}s; /web/login meanwhile"
        f" in {login.seconds:.2f}s; {json.dumps(busy[0].body['message'])}"
    )
