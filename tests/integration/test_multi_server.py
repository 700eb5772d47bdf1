"""Past one machine: Debian's nginx with the site config from deploy/ (ports, names and certificate templated)
in front of real gunicorn servers.

- The config passes `nginx -t` once its certificate paths are set, compresses JS/CSS/JSON, answers an oversized
  body with the JSON problem tablets expect, keeps the port in Host, and the app believes X-Forwarded-For only
  as nginx sets it.
- Two app servers on one PostgreSQL database and one S3 bucket (a real SeaweedFS): devices sync through nginx,
  one server is SIGKILLed mid-push and stays down, and afterwards every mutation is held exactly once and every
  photo is served, hash-checked, by either server.

Outside CI these skip when nginx (Debian's package) or PostgreSQL is missing; in CI they fail instead.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from server.models import Blob, Quarantine, SyncMutation
from sync.client import Outbox, SyncClient, SyncError, UrllibTransport
from sync.s3blobs import S3BlobStore
from tests.conftest import DEMO_PASSWORD, TEST_DATABASE_URL
from tests.integration.gunicorn_server import Server, free_port, gunicorn_env
from tests.integration.sync_helpers import enterprise_and_catalogue
from tests.integration.test_sync_server_killed import _device_outbox, _photo
from tests.seaweed import Seaweed

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "deploy" / "nginx-site.conf"


def nginx_binary() -> str | None:
    """Debian's nginx (apt-get install nginx), wherever PATH has it or /usr/sbin."""
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).is_file()), None)


def need(condition: bool, reason: str) -> None:
    """Skip without ``condition`` outside CI; fail in CI, where everything is installed."""
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for localhost / 127.0.0.1 and its key (mode 0600), as a bureau's own CA would issue."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def _replace(text: str, pattern: str, replacement: str, count: int) -> str:
    """Substitute ``pattern`` exactly ``count`` times: a change to the deployed config must update this test."""
    new, made = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    assert made == count, f"deploy/nginx-site.conf no longer has {count}× {pattern!r}"
    return new


def render_site(upstreams: list[str], port: int, plain_port: int, cert: Path, key: Path) -> str:
    """deploy/nginx-site.conf with this test's app servers, ports, name and certificate."""
    text = SITE.read_text()
    servers = "\n".join(f"    server {address} max_fails=1 fail_timeout=10s;" for address in upstreams)
    text = _replace(text, r"^    server 127\.0\.0\.1:8000 max_fails=1 fail_timeout=10s;$", servers, 1)
    text = _replace(text, r"^    listen 443 ssl http2;$", f"    listen 127.0.0.1:{port} ssl http2;", 1)
    text = _replace(text, r"^    listen 80;$", f"    listen 127.0.0.1:{plain_port};", 1)
    text = _replace(text, r"server_name jc\.example\.cn;", "server_name localhost;", 2)
    text = _replace(text, r"ssl_certificate     \S+;", f"ssl_certificate     {cert};", 1)
    return _replace(text, r"ssl_certificate_key \S+;", f"ssl_certificate_key {key};", 1)


@dataclass
class Nginx:
    """nginx with the rendered site, run in the foreground from a folder of its own."""

    binary: str
    folder: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def main_conf(self) -> Path:
        return self.folder / "nginx.conf"

    def write(self, site: str) -> None:
        """The main config (as Debian's, reduced) including the site."""
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "site.conf").write_text(site)
        mime = "include /etc/nginx/mime.types;" if Path("/etc/nginx/mime.types").is_file() else ""
        temp = " ".join(
            f"{kind}_temp_path {self.folder / kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        user = "user root;" if os.geteuid() == 0 else ""  # workers read this test's files
        self.main_conf.write_text(
            f"{user}\nworker_processes 1;\npid {self.folder / 'nginx.pid'};\nerror_log {self.folder / 'error.log'} info;\n"
            f"events {{ worker_connections 256; }}\n"
            f"http {{\n  {mime}\n  default_type application/octet-stream;\n  access_log {self.folder / 'access.log'};\n"
            f"  {temp}\n  include {self.folder / 'site.conf'};\n}}\n"
        )  # fmt: skip

    def test_config(self) -> subprocess.CompletedProcess[str]:
        """`nginx -t` on the config."""
        return subprocess.run(
            [self.binary, "-t", "-p", str(self.folder), "-c", str(self.main_conf)],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip

    def start(self) -> None:
        """Start nginx and wait until it accepts connections."""
        with (self.folder / "stdout.log").open("ab") as log:
            self.process = subprocess.Popen(
                [self.binary, "-p", str(self.folder), "-c", str(self.main_conf), "-g", "daemon off;"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError((self.folder / "error.log").read_text(errors="replace"))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("nginx did not start")

    def stop(self) -> None:
        """Stop nginx (its whole process group)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)


@pytest.fixture
def certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A self-signed certificate that this process's TLS clients trust (as a tablet trusts the bureau's CA)."""
    cert, key = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    return cert, key


def _https(port: int, cert: Path) -> http.client.HTTPSConnection:
    return http.client.HTTPSConnection(
        "localhost", port, timeout=30, context=ssl.create_default_context(cafile=str(cert))
    )


def _log_lines(path: Path) -> list[dict[str, Any]]:
    """The app's JSON log lines."""
    lines = []
    for text in path.read_text(errors="replace").splitlines():
        if text.startswith("{"):
            lines.append(json.loads(text))
    return lines


def test_the_site_config_passes_nginx_t_compresses_refuses_in_json_and_forwards(
    database_url: str, tmp_path: Path, qr_key_file: str, certificate: tuple[Path, Path]
) -> None:
    binary = nginx_binary()
    need(binary is not None, "nginx is not installed (apt-get install nginx)")
    assert binary is not None
    cert, key = certificate
    env = {**gunicorn_env(database_url, tmp_path / "instance", qr_key_file, workers=2),
           "PROXY_HOPS": "1", "LOG_FORMAT": "json"}  # fmt: skip
    app = Server(env, tmp_path / "app.log")
    port = free_port()
    nginx = Nginx(binary, tmp_path / "nginx", port)
    nginx.write(render_site([f"127.0.0.1:{env['PORT']}"], port, free_port(), cert, key))
    checked = nginx.test_config()
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr
    try:
        app.start()
        nginx.start()
        conn = _https(port, cert)
        # JS/CSS/JSON compressed (Debian's default compresses HTML only).
        for path in ("/static/site.css", "/api/openapi.json"):
            conn.request("GET", path, headers={"Accept-Encoding": "gzip"})
            reply = conn.getresponse()
            body = reply.read()
            assert reply.status == 200, path
            assert reply.getheader("Content-Encoding") == "gzip", path
            assert len(gzip.decompress(body)) > 2 * len(body), path
            assert reply.getheader("Server") == "nginx", "server_tokens off: no version"
            assert "max-age=" in (reply.getheader("Strict-Transport-Security") or "")
        # A body larger than nginx allows is refused before the app sees it, in the JSON tablets parse.
        conn.putrequest("PUT", "/api/sync/blobs/" + "a" * 64)
        conn.putheader("Content-Length", str(100 * 1024 * 1024))
        conn.putheader("Upload-Offset", "0")
        conn.endheaders()
        refused = conn.getresponse()
        assert refused.status == 413
        problem = json.loads(refused.read())
        assert problem["code"] == "413.1" and "请求过大" in problem["message"]
        conn.close()
        # The Host keeps its port, the client address is nginx's view of it (a forged X-Forwarded-For is not
        # believed), and nginx's request id reaches the app's log.
        conn = _https(port, cert)
        conn.request("GET", "/healthz", headers={"X-Forwarded-For": "6.6.6.6"})
        health = conn.getresponse()
        assert health.status == 200 and json.loads(health.read())["status"] == "ok"
        request_id = health.getheader("X-Request-ID")
        conn.request("GET", "/metrics")
        hidden = conn.getresponse()
        hidden.read()
        assert hidden.status == 404, "metrics are not published through nginx"
        conn.close()
    finally:
        nginx.stop()
        if app.process is not None and app.process.poll() is None:
            app.kill()
    [line] = [entry for entry in _log_lines(tmp_path / "app.log") if entry.get("path") == "/healthz"]
    assert line["host"] == f"localhost:{port}"
    assert line["client"] == "127.0.0.1"
    assert line["request_id"] == request_id and re.fullmatch(r"[0-9a-f]{32}", request_id or "")


@pytest.fixture
def postgres_url(database_url: str) -> str:
    """This test's PostgreSQL database; on the SQLite run it is skipped, also in CI, whose PostgreSQL run of the
    integration suite (`make test-integration TEST_DATABASE_URL=...`) is where it runs."""
    if not TEST_DATABASE_URL.startswith("postgresql"):
        pytest.skip("several app servers share one PostgreSQL database: runs in the PostgreSQL pass")
    return database_url


@pytest.fixture
def two_servers(
    postgres_url: str, tmp_path: Path, qr_key_file: str, seaweed: Seaweed
) -> Iterator[tuple[Server, Server, dict[str, str]]]:
    """Two gunicorn servers (two 'machines': instance folders of their own) on one database and one bucket."""
    s3 = seaweed.settings()
    store = S3BlobStore(bucket=s3["S3_BUCKET"], endpoint_url=s3["S3_ENDPOINT"], access_key=s3["S3_ACCESS_KEY"],
                        secret_key=s3["S3_SECRET_KEY"], prefix=s3["S3_PREFIX"])  # fmt: skip
    store.create_bucket()
    servers = []
    for name in ("a", "b"):
        env = {**gunicorn_env(postgres_url, tmp_path / name, qr_key_file, workers=2), **s3,
               "PROXY_HOPS": "1", "LOG_FORMAT": "json"}  # fmt: skip
        servers.append(Server(env, tmp_path / f"{name}.log"))
    for server in servers:
        server.start()
    yield servers[0], servers[1], s3
    for server in servers:
        if server.process is not None and server.process.poll() is None:
            server.kill()


def _pushes(log: Path) -> int:
    return sum(
        1 for entry in _log_lines(log) if entry.get("path") == "/api/sync/push" and entry.get("status") == 200
    )


def test_two_app_servers_behind_nginx_lose_nothing_when_one_dies_mid_push(
    app: Any,
    two_servers: tuple[Server, Server, dict[str, str]],
    tmp_path: Path,
    certificate: tuple[Path, Path],
) -> None:
    binary = nginx_binary()
    need(binary is not None, "nginx is not installed (apt-get install nginx)")
    assert binary is not None
    a, b, _ = two_servers
    cert, key = certificate
    port = free_port()
    nginx = Nginx(binary, tmp_path / "nginx", port)
    nginx.write(
        render_site(
            [f"127.0.0.1:{a.env['PORT']}", f"127.0.0.1:{b.env['PORT']}"], port, free_port(), cert, key
        )
    )
    url = f"https://localhost:{port}"
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    users = ("xx_insp1", "xx_insp2", "xx_insp3")
    photos: dict[int, list[Path]] = {}
    for number in range(len(users)):
        for index in range(4):
            path = tmp_path / f"d{number}-{index}.jpg"
            path.write_bytes(_photo(number * 10 + index, (1600, 1200)))
            photos.setdefault(number, []).append(path)
    expected: dict[str, str] = {}
    outboxes: dict[str, list[int]] = {}
    ready = threading.Barrier(len(users) + 1)
    deadline = time.monotonic() + 150
    done = [False] * len(users)
    errors: list[BaseException] = []

    def run(number: int) -> None:
        try:
            transport = UrllibTransport(url)
            client = SyncClient(transport, Outbox(tmp_path / f"outbox{number}.sqlite"),
                                max_attempts=4, backoff_base=0.05, backoff_cap=0.3)  # fmt: skip
            client.register(users[number], DEMO_PASSWORD)
            expected.update(_device_outbox(client, enterprise_id, catalogue_id, codes, photos[number]))
            outboxes[client.outbox.device_id or ""] = [m["seq"] for m in client.outbox.pending(10_000)]
            ready.wait()
            while time.monotonic() < deadline:
                try:
                    client.push(batch_size=4)  # small batches: many pushes, so the kill lands among them
                    client.upload_blobs(chunk_size=128 * 1024)
                    client.pull()
                    if client.outbox.pending_count() == 0 and not client.outbox.blobs_to_upload():
                        done[number] = True
                        break
                except (SyncError, OSError):
                    time.sleep(0.1)
            transport.close()
            client.outbox.close()
        except BaseException as error:
            errors.append(error)
            raise

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(users))]
    try:
        nginx.start()
        for thread in threads:
            thread.start()
        ready.wait(timeout=90)
        # Kill server A once it has answered pushes: the devices are mid-push, on both servers.
        while _pushes(a.log) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        a.kill()
        for thread in threads:
            thread.join(timeout=160)
    finally:
        nginx.stop()
    assert errors == []
    assert all(done), "every device confirmed every mutation and photo through nginx"
    assert _pushes(b.log) > 0, "server B took over"

    engine = sa.create_engine(b.env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            for device_id, seqs in outboxes.items():
                rows = conn.execute(sa.select(SyncMutation.seq, SyncMutation.outcome)
                                    .where(SyncMutation.device_id == uuid.UUID(device_id))
                                    .order_by(SyncMutation.seq)).all()  # fmt: skip
                assert [r.seq for r in rows] == seqs, "every mutation held exactly once"
                assert {r.outcome for r in rows} == {"applied"}
            assert conn.execute(sa.select(sa.func.count()).select_from(Quarantine)).scalar() == 0
            wanted = set(expected.values())
            recorded = set(conn.execute(sa.select(Blob.sha256).where(Blob.sha256.in_(wanted))).scalars())
    finally:
        engine.dispose()
    assert recorded == wanted

    a.start()  # back up: photos uploaded while it was down are in the shared bucket
    for server in (a, b):
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        login = urllib.request.Request(f"{server.url}/api/auth/login", method="POST",
                                       headers={"Content-Type": "application/json"},
                                       data=json.dumps({"username": "xx_sup", "password": DEMO_PASSWORD}).encode())  # fmt: skip
        opener.open(login, timeout=10).read()
        for photo_id, sha in expected.items():
            with opener.open(f"{server.url}/photos/{photo_id}", timeout=30) as response:
                assert hashlib.sha256(response.read()).hexdigest() == sha, server.url
            with opener.open(f"{server.url}/photos/{photo_id}/thumb", timeout=30) as response:
                assert response.headers["Content-Type"] == "image/jpeg"
