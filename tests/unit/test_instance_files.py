"""Keys and secrets under the instance folder are created exactly once, however many workers start together.

Several gunicorn workers serving their first requests at once all find no key and make one. The window
between "no file yet" and "file written" is widened here (the generator is slowed, as on a loaded
machine), so every starter is inside it: each must end with the one key that was kept, none may fail, and
nobody may ever read a half-written file.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from server import config, instance_files
from server.qrcodes import signing

STARTERS = 16


def _together(function: Callable[[], Any]) -> list[Any]:
    """Call ``function`` in STARTERS threads released at once; each one's result, or the error it raised."""
    barrier = threading.Barrier(STARTERS)
    outcomes: list[Any] = [None] * STARTERS

    def starter(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = function()
        except Exception as error:  # reported, not raised: the test shows every starter's outcome
            outcomes[index] = error

    threads = [threading.Thread(target=starter, args=(i,)) for i in range(STARTERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def _slowed(function: Callable[..., Any]) -> Callable[..., Any]:
    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.05)
        return function(*args, **kwargs)

    return slow


def _public_pem(key: Any) -> bytes:
    return bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def _only_the_file(path: Path) -> None:
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary files left behind


def test_workers_starting_together_all_get_the_one_signing_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "instance" / "qr-signing-key.pem"
    monkeypatch.setattr(signing.ec, "generate_private_key", _slowed(signing.ec.generate_private_key))
    outcomes = _together(lambda: signing.load_or_create_key(path))
    assert [o for o in outcomes if isinstance(o, Exception)] == []
    assert {_public_pem(key) for key in outcomes} == {_public_pem(signing.load_or_create_key(path))}
    _only_the_file(path)


def test_workers_starting_together_all_get_the_one_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "instance" / "secret_key"
    monkeypatch.setattr(config.secrets, "token_hex", _slowed(config.secrets.token_hex))
    outcomes = _together(lambda: config.read_or_create_secret(path))
    assert [o for o in outcomes if isinstance(o, Exception)] == []
    assert set(outcomes) == {path.read_text().strip()}
    _only_the_file(path)


def test_a_reader_never_sees_a_half_written_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "key"
    content = b"x" * 100_000
    seen: list[bytes] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            if path.exists():
                seen.append(path.read_bytes())

    watcher = threading.Thread(target=reader)
    watcher.start()
    try:
        assert instance_files.create_once(path, lambda: content) == content
    finally:
        stop.set()
        watcher.join()
    assert {len(s) for s in seen} <= {len(content)}
