"""A real gunicorn (the deploy configuration) on this test's database, that a test can kill and start again."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class Server:
    """A gunicorn process group that can be killed outright and started again on the same port."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{env['PORT']}"

    def start(self) -> None:
        """Start gunicorn and wait until it answers."""
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [gunicorn, "-c", str(ROOT / "deploy/gunicorn.conf.py"), "server:create_app()"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/login", timeout=2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(self.log.read_text(errors="replace"))

    def kill(self) -> None:
        """SIGKILL the master and every worker at once, as a power cut would."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def gunicorn_env(database_url: str, instance: Path, qr_key_file: str, workers: int = 3) -> dict[str, str]:
    """The environment of a gunicorn serving ``database_url`` on a free loopback port."""
    return {**os.environ, "DATABASE_URL": database_url, "INSTANCE_PATH": str(instance),
            "QR_SIGNING_KEY_FILE": qr_key_file, "SECRET_KEY": "live-test", "HOST": "127.0.0.1",
            "PORT": str(free_port()), "WEB_CONCURRENCY": str(workers), "PYTHONPATH": str(ROOT)}  # fmt: skip
