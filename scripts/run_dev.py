"""Migrate, load the demo data, then start the web app, a Celery worker and beat on the embedded
defaults; Ctrl-C stops all.

The terminal already delivers Ctrl-C (SIGINT) to every child in the foreground process group,
so we do not forward it: a second SIGINT makes a Celery worker kill running tasks. Whatever is
still running after a grace period gets SIGTERM, then SIGKILL.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
GRACE_SECONDS = 10


# Listening on every interface is no address a browser can follow from a mail.
WILDCARD_HOSTS = {"0.0.0.0", "::", ""}  # noqa: S104 - compared with, not bound to


def child_env(environ) -> dict:
    """The environment of web, worker and beat: absolute links (mails, calendar, certificates,
    the QR code) point at the address served here, unless PUBLIC_URL says otherwise."""
    host = environ.get("HOST", "127.0.0.1")
    port = environ.get("PORT", "5000")
    link_host = "127.0.0.1" if host in WILDCARD_HOSTS else host
    if ":" in link_host:  # an IPv6 address needs brackets in a URL
        link_host = f"[{link_host}]"
    env = {**environ, "FLASK_APP": "wsgi:app", "PYTHONUNBUFFERED": "1", "HOST": host, "PORT": port}
    if not environ.get("PUBLIC_URL"):
        env["PUBLIC_URL"] = f"http://{link_host}:{port}"
    return env


def main() -> int:
    env = child_env(os.environ)
    host, port = env["HOST"], env["PORT"]
    commands = {
        "web": [str(BIN / "flask"), "run", "--host", host, "--port", port, "--no-reload"],
        "worker": [
            str(BIN / "celery"),
            "-A",
            "bbtraining.worker",
            "worker",
            "--pool=threads",
            "--concurrency=4",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
        ],
        "beat": [str(BIN / "celery"), "-A", "bbtraining.worker", "beat", "--loglevel=INFO"],
    }
    # Migrations and demo data get the same environment: mails the demo queues link here too.
    for step in (["db", "upgrade"], ["seed-demo"]):
        subprocess.run([str(BIN / "flask"), *step], cwd=ROOT, env=env, check=True)  # noqa: S603
    procs = {
        name: subprocess.Popen(cmd, cwd=ROOT, env=env)  # noqa: S603 - our own fixed commands
        for name, cmd in commands.items()
    }
    print(f"\n  bbtraining draait op http://{host}:{port}/  (Ctrl-C stopt alles)\n", flush=True)
    signal.signal(signal.SIGINT, lambda *_: None)  # children got it from the terminal already
    signal.signal(signal.SIGTERM, lambda *_: _stop(procs, signal.SIGTERM))
    try:
        while all(p.poll() is None for p in procs.values()):
            time.sleep(0.5)
    finally:
        _stop(procs, None)
    return 0


def _stop(procs: dict, first_signal) -> None:
    if first_signal is not None:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(first_signal)
    deadline = time.monotonic() + GRACE_SECONDS
    while time.monotonic() < deadline and any(p.poll() is None for p in procs.values()):
        time.sleep(0.2)
    for proc in procs.values():
        if proc.poll() is None:
            proc.terminate()
    for proc in procs.values():
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    sys.exit(main())
