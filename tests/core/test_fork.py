"""gunicorn forks its workers from a loaded app (preload_app): no worker may talk to the
database over a connection the master, or another worker, holds."""

import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.request import urlopen

from sqlalchemy import text

from bbtraining.extensions import db
from tests.conftest import ROOT, service_env


def _pooled_connection_id() -> int:
    connection = db.session.connection().connection.dbapi_connection
    return id(connection)


def test_a_forked_process_opens_database_connections_of_its_own(app):
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        parent_connection = _pooled_connection_id()
        db.session.commit()  # back into the pool, where a fork would find it
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            with app.app_context():
                db.session.execute(text("SELECT 1"))
                os.write(write_end, str(_pooled_connection_id()).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    _pid, status = os.waitpid(child, 0)
    answer = os.read(read_end, 64).decode()
    os.close(read_end)
    assert os.waitstatus_to_exitcode(status) == 0 and answer, "the child could not query"
    assert int(answer) != parent_connection
    with app.app_context():  # and the parent's own connection still answers
        assert db.session.execute(text("SELECT 1")).scalar() == 1


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_preloaded_gunicorn_workers_answer_concurrent_requests(app):
    port = _free_port()
    env = service_env(GUNICORN_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="2", GUNICORN_THREADS="4")
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
    server = subprocess.Popen(command, cwd=ROOT, env=env)  # noqa: S603
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urlopen(f"http://127.0.0.1:{port}/auth/login", timeout=2).read()  # noqa: S310
                break
            except OSError:
                assert server.poll() is None, "gunicorn exited"
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)

        def get(path: str) -> int:
            with urlopen(f"http://127.0.0.1:{port}{path}", timeout=20) as response:  # noqa: S310
                return response.status

        paths = ["/", "/courses/", "/courses/?q=burgerberaad", "/auth/login"] * 30
        with ThreadPoolExecutor(max_workers=12) as pool:
            statuses = list(pool.map(get, paths))
        assert statuses == [200] * len(paths)
    finally:
        server.terminate()
        server.wait(timeout=30)
