"""A prefork Odoo server of the environment the project builds keeps its gevent process
(websockets, the bus that live views need) up, and that process answers a websocket
handshake. Before scripts/odoo-constraints.txt, the process crashed at start on
pkg_resources' requirement check and the master respawned it several times a second.
"""

import base64
import os
import socket
import time

import pytest
from odoo_server import OdooServer, _children, requires_odoo
from support import wait_until

pytestmark = [pytest.mark.odoo, requires_odoo]
ODOO_MODULES = "job_worker"
"""Installed in the module's database (the ``odoo_database`` fixture); mail brings bus."""

STAYS_UP_S = 10
"""How long the gevent process must live on after its first answer."""
GEVENT_START_TIMEOUT_S = 90
"""Time the prefork server may take to start its gevent process (a loaded machine)."""


def websocket_handshake(port):
    """The status line the gevent port answers a websocket upgrade of /websocket with."""
    key = base64.b64encode(os.urandom(16)).decode()
    host = f"127.0.0.1:{port}"
    request = (
        "GET /websocket HTTP/1.1\r\n"
        f"Host: {host}\r\n"
        f"Origin: http://{host}\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request.encode())
        return connection.recv(4096).decode(errors="replace").split("\r\n", 1)[0]


def answers_handshake(port):
    try:
        return websocket_handshake(port).startswith("HTTP/1.1 101")
    except OSError:
        return False


def gevent_pid(server):
    """The pid of the prefork master's child that runs gevent, if one is alive."""
    for child in _children(server.pid):
        try:
            with open(f"/proc/{child}/cmdline", "rb") as cmdline:
                if b"gevent" in cmdline.read().split(b"\0"):
                    return child
        except FileNotFoundError:
            continue
    return None


def test_a_prefork_servers_gevent_process_stays_up_and_answers_a_websocket_handshake(
    odoo_database, tmp_path
):
    server = OdooServer(
        odoo_database, tmp_path / "prefork.log", "--workers=2", "--max-cron-threads=0"
    )
    try:
        wait_until(
            lambda: answers_handshake(server.gevent_port),
            GEVENT_START_TIMEOUT_S,
            "the gevent port never answered a websocket handshake",
            interval_s=0.5,
        )
        first_pid = gevent_pid(server)
        assert first_pid is not None
        time.sleep(STAYS_UP_S)
        assert gevent_pid(server) == first_pid, "the gevent process was restarted"
        assert websocket_handshake(server.gevent_port).startswith("HTTP/1.1 101")
        assert "DistributionNotFound" not in server.log()
    finally:
        server.stop()
