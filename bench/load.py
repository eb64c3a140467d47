"""Throughput of the main pages under concurrent clients, against a hello-world Flask app.

    createdb -h 127.0.0.1 -U postgres bbt_load_bench
    DATABASE_URL=postgresql://postgres@127.0.0.1/bbt_load_bench \\
    REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python bench/load.py

Creates the tables (create_all) and the demo data (`flask seed-demo`) in the database it is given
(its name must contain "bench", or pass --any-database), then serves bbtraining with gunicorn and
gunicorn.conf.py (the production settings of the README) in the production configuration, and
in the same run a minimal Flask app (bench/hello_app.py) with the same settings. Concurrent
keep-alive clients on 127.0.0.1 request each page for a fixed time: home, catalog, a course page,
alumni search and the dashboard (both signed in as the demo client). Each page's measurement
follows one of hello-world, and `<page>_ratio_to_hello` is the median over the rounds of the
page's rate over that hello-world rate; `hello_rps` and `<page>_rps` are medians of their own.
The last line printed is one JSON object: {"name": "load", "figures": {...}}.
"""

import argparse
import http.client
import json
import multiprocessing
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEMO_CLIENT = ("griffie@example.nl", "burgerberaad-demo")


# -- a small, fast HTTP/1.1 client: the load generator shares the CPUs with the server --------
def _read_response(sock, buffer: bytes) -> tuple[int, bytes, bytes | None]:
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    status = int(head[9:12])
    cookie = re.search(rb"\r\nset-cookie:\s*([^;\r]+)", head, re.I)
    match = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
    if match is None:
        raise ConnectionError("no content-length")
    length = int(match.group(1))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        rest += chunk
    return status, rest[length:], cookie.group(1) if cookie else None


def _connection_loop(port, path, cookie, deadline, warmup_until, out, lock):
    """One browser: a kept-alive connection that keeps the session cookie it was given."""
    request = _request(port, path, cookie)
    done, errors, latencies = 0, 0, []
    sock = None
    buffer = b""
    while True:
        now = time.perf_counter()
        if now >= deadline:
            break
        ok = False
        for attempt in (1, 2):
            fresh = sock is None
            try:
                if sock is None:
                    sock = socket.create_connection(("127.0.0.1", port))
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    buffer = b""
                sock.sendall(request)
                status, buffer, given = _read_response(sock, buffer)
                ok = status == 200
                if given and given.decode() != cookie:
                    cookie = given.decode()
                    request = _request(port, path, cookie)
                break
            except OSError:
                if sock is not None:
                    sock.close()
                sock = None
                # A kept-alive connection the server closed (a recycled worker): a browser
                # simply opens a new one; only a failure on a fresh connection is an error.
                if fresh or attempt == 2:
                    break
        elapsed = time.perf_counter() - now
        if now >= warmup_until:
            done += 1
            errors += 0 if ok else 1
            latencies.append(elapsed)
    if sock is not None:
        sock.close()
    with lock:
        out["done"] += done
        out["errors"] += errors
        out["latencies"].extend(latencies)


def _request(port: int, path: str, cookie: str) -> bytes:
    cookie_line = f"Cookie: {cookie}\r\n" if cookie else ""
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/html\r\n"
        f"Accept-Language: nl\r\n{cookie_line}Connection: keep-alive\r\n\r\n"
    ).encode()


def _drive(port, path, cookie, connections, warmup, duration, queue):
    start = time.perf_counter()
    warmup_until = start + warmup
    deadline = warmup_until + duration
    out = {"done": 0, "errors": 0, "latencies": []}
    lock = threading.Lock()
    threads = [
        threading.Thread(
            target=_connection_loop, args=(port, path, cookie, deadline, warmup_until, out, lock)
        )
        for _ in range(connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put(out)


def measure(port, path, cookie, *, connections, warmup, duration, processes) -> dict:
    """Requests per second, errors and latency over `duration` seconds, after a warm-up."""
    queue = multiprocessing.Queue()
    per_process = max(connections // processes, 1)
    workers = [
        multiprocessing.Process(
            target=_drive, args=(port, path, cookie, per_process, warmup, duration, queue)
        )
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    results = [queue.get() for _ in workers]
    for worker in workers:
        worker.join()
    done = sum(r["done"] for r in results)
    latencies = sorted(lat for r in results for lat in r["latencies"])

    def pct(p: float) -> float:
        return round(latencies[min(int(len(latencies) * p), len(latencies) - 1)] * 1000, 2)

    return {
        "rps": round(done / duration, 1),
        "errors": sum(r["errors"] for r in results),
        "p50_ms": pct(0.50) if latencies else None,
        "p99_ms": pct(0.99) if latencies else None,
        "requests": done,
    }


# -- the servers ----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(port: int, path: str, proc, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path)
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


def gunicorn(app: str, port: int, env: dict, chdir: Path = ROOT):
    config = ROOT / "gunicorn.conf.py"
    command = [sys.executable, "-m", "gunicorn", "-c", str(config), "--chdir", str(chdir), app]
    env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}"}
    return subprocess.Popen(command, cwd=ROOT, env=env)  # noqa: S603 - our own command line


def stop(proc) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


# -- preparing the app ----------------------------------------------------------------------------
def prepare_database(env: dict) -> None:
    create = (
        "from bbtraining import create_app\n"
        "from bbtraining.extensions import db\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    db.create_all()\n"
    )
    subprocess.run([sys.executable, "-c", create], cwd=ROOT, env=env, check=True)  # noqa: S603
    flask = [sys.executable, "-m", "flask", "--app", "wsgi:app", "seed-demo"]
    subprocess.run(flask, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)  # noqa: S603


def sign_in(port: int, email: str, password: str) -> str:
    """The session cookie of a signed-in browser, through the real login form."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/auth/login")
    response = conn.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie", "").split(";", 1)[0]
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    body = urlencode({"csrf_token": token, "email": email, "password": password})
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
    conn.request("POST", "/auth/login", body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    if response.status != 302:
        raise SystemExit(f"could not sign in as {email}: {response.status}")
    return response.getheader("Set-Cookie", "").split(";", 1)[0]


def first_course_path(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/courses/")
    page = conn.getresponse().read().decode()
    slugs = re.findall(r'href="/courses/([a-z0-9-]+)"', page)
    if not slugs:
        raise SystemExit("the catalog lists no course")
    return f"/courses/{slugs[0]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=3.0, help="seconds measured per page")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--connections", type=int, default=16, help="concurrent clients")
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--any-database", action="store_true")
    args = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if not database_url or not redis_url:
        raise SystemExit("set DATABASE_URL and REDIS_URL")
    name = urlsplit(database_url).path.lstrip("/")
    if "bench" not in name and not args.any_database:
        raise SystemExit(f"refusing to fill {name!r}: its name must contain 'bench'")

    instance = Path(tempfile.mkdtemp(prefix="bbtraining-load-"))
    env = {
        **os.environ,
        "BBTRAINING_CONFIG": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "PUBLIC_URL": "https://bbtraining.bench",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "BBTRAINING_INSTANCE": str(instance),
        "PYTHONPATH": str(ROOT),
        "LOGIN_RATE_LIMIT": "1000 per minute",
    }
    prepare_database(env)

    measure_args = {
        "connections": args.connections,
        "warmup": args.warmup,
        "duration": args.duration,
        "processes": args.client_processes,
    }
    hello_port, port = free_port(), free_port()
    hello = gunicorn("hello_app:app", hello_port, env, chdir=ROOT / "bench")
    server = gunicorn("wsgi:app", port, env)
    results: dict[str, list[dict]] = {}
    ratios: dict[str, list[float]] = {}
    try:
        wait_until_up(hello_port, "/", hello)
        wait_until_up(port, "/healthz", server)
        client_cookie = sign_in(port, *DEMO_CLIENT)
        targets = {
            "hello": (hello_port, "/", ""),
            "home": (port, "/", ""),
            "catalog": (port, "/courses/", ""),
            "course": (port, first_course_path(port), ""),
            "search": (port, "/alumni/?province=utrecht", client_cookie),
            "dashboard": (port, "/account/", client_cookie),
        }
        # Rounds that take turns, and the median of each. Each page is measured right after a
        # hello-world measurement and its ratio is taken to that one: other work on a shared
        # machine then weighs on both sides of each ratio alike.
        pages = [key for key in targets if key != "hello"]
        for round_number in range(1, args.rounds + 1):
            for key in pages:
                for measured in ("hello", key):
                    target_port, path, cookie = targets[measured]
                    result = measure(target_port, path, cookie, **measure_args)
                    results.setdefault(measured, []).append(result)
                    print(f"round {round_number} {measured:<10} {path} {result}", flush=True)
                ratios.setdefault(key, []).append(
                    results[key][-1]["rps"] / (results["hello"][-1]["rps"] or 1)
                )
    finally:
        stop(hello)
        stop(server)

    figures: dict[str, object] = {}
    errors = 0
    for key, runs in results.items():
        middle = sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]
        figures[f"{key}_rps"] = middle["rps"]
        figures[f"{key}_p50_ms"] = middle["p50_ms"]
        figures[f"{key}_p99_ms"] = middle["p99_ms"]
        errors += sum(r["errors"] for r in runs)
    for key, paired in ratios.items():
        figures[f"{key}_ratio_to_hello"] = round(statistics.median(paired), 3)
    figures["errors"] = errors
    figures["connections"] = args.connections
    figures["duration_s"] = args.duration
    figures["rounds"] = args.rounds
    figures["cpus"] = os.cpu_count()
    print(json.dumps({"name": "load", "figures": figures}))


if __name__ == "__main__":
    main()
