"""The blob stores (a local folder and S3 on a real SeaweedFS): chunked, resumable, verified, write-once, safe
under concurrent uploads, a full disk a retryable problem."""

from __future__ import annotations

import hashlib
import io
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync import problems
from sync.blobs import BlobStore, FilesystemBlobStore
from tests.conftest import StoreCase

LIMIT = 10 * 1024 * 1024


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class CutStream(io.RawIOBase):
    """A request body that breaks off (connection lost) after ``cut`` bytes."""

    def __init__(self, data: bytes, cut: int) -> None:
        self._data = data[:cut]
        self._pos = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._pos >= len(self._data):
            raise ConnectionResetError("client went away")
        end = len(self._data) if size < 0 else self._pos + size
        piece = self._data[self._pos : end]
        self._pos += len(piece)
        return piece


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def upload(store: BlobStore, data: bytes, chunk: int) -> bytes:
    """Upload ``data`` in chunks, complete it, and return what the store gives back."""
    digest = sha(data)
    for start in range(0, len(data), chunk):
        assert store.append(digest, start, io.BytesIO(data[start : start + chunk]), LIMIT) == min(
            start + chunk, len(data)
        )
    store.complete(digest)
    return read(store, digest)


def read(store: BlobStore, digest: str) -> bytes:
    with store.open(digest) as handle:
        return handle.read()


def test_chunked_append_then_complete(store_case: StoreCase) -> None:
    store = store_case.store
    data = os.urandom(200_000)
    digest = sha(data)
    assert (store.has(digest), store.received(digest)) == (False, 0)

    assert store.append(digest, 0, io.BytesIO(data[:70_000]), LIMIT) == 70_000
    assert store.append(digest, 70_000, io.BytesIO(data[70_000:150_000]), LIMIT) == 150_000
    assert (store.has(digest), store.received(digest)) == (False, 150_000)
    assert store.append(digest, 150_000, io.BytesIO(data[150_000:]), LIMIT) == 200_000
    assert not store.has(digest), "not complete before it is verified"

    store.complete(digest)
    assert (store.has(digest), store.received(digest), store.size(digest)) == (True, 200_000, 200_000)
    with store.open(digest) as handle:
        assert handle.read() == data
        handle.seek(100)
        assert handle.read(3) == data[100:103], "readers may seek (Pillow does)"
    assert store_case.leftovers() == [f"blobs/{digest[:2]}/{digest[2:4]}/{digest}"], "no partial or lock left"
    assert store.read_thumbnail(digest) is None
    store.write_thumbnail(digest, b"jpeg")
    assert store.read_thumbnail(digest) == b"jpeg"
    assert f"thumbs/{digest[:2]}/{digest}.jpg" in store_case.leftovers()
    store.check()


def test_the_local_store_layout(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path)
    data = os.urandom(1000)
    digest = sha(data)
    upload(store, data, 300)
    assert store.path(digest) == tmp_path / digest[:2] / digest[2:4] / digest
    assert store.thumbnail_path(digest) == tmp_path / "thumbs" / digest[:2] / f"{digest}.jpg"


def test_empty_append_changes_nothing(store_case: StoreCase) -> None:
    store = store_case.store
    data = b"abc"
    assert store.append(sha(data), 0, io.BytesIO(b""), LIMIT) == 0
    assert store.append(sha(data), 0, io.BytesIO(data), LIMIT) == 3
    assert store.append(sha(data), 3, io.BytesIO(b""), LIMIT) == 3
    store.complete(sha(data))
    assert read(store, sha(data)) == data


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.binary(min_size=1, max_size=3000),
    cuts=st.lists(st.floats(min_value=0, max_value=1), max_size=4),
)
def test_an_upload_cut_anywhere_resumes_where_it_stopped(
    store_case: StoreCase, data: bytes, cuts: list[float]
) -> None:
    if True:
        store = store_case.fresh()
        digest = sha(data)
        for fraction in cuts:
            offset = store.received(digest)
            cut = int(len(data) * fraction)
            if cut <= offset:
                continue
            # The connection drops after a few bytes of this attempt; what arrived is kept.
            with pytest.raises(ConnectionResetError):
                store.append(digest, offset, CutStream(data[offset:], cut - offset), LIMIT)
            assert store.received(digest) == cut
        offset = store.received(digest)
        assert store.append(digest, offset, io.BytesIO(data[offset:]), LIMIT) == len(data)
        store.complete(digest)
        assert read(store, digest) == data


def test_offset_must_equal_what_was_received(store_case: StoreCase) -> None:
    store = store_case.store
    data = os.urandom(1000)
    digest = sha(data)
    store.append(digest, 0, io.BytesIO(data[:400]), LIMIT)
    for wrong in (0, 399, 401, 1000):
        with pytest.raises(problems.Problem) as caught:
            store.append(digest, wrong, io.BytesIO(data[wrong:]), LIMIT)
        assert caught.value.code == "409.40"
        assert caught.value.details == {"received": 400, "offset": wrong}
    assert store.received(digest) == 400
    with pytest.raises(problems.Problem) as caught:
        store.append(sha(b"other"), 5, io.BytesIO(b"x"), LIMIT)
    assert caught.value.details == {"received": 0, "offset": 5}
    with pytest.raises(problems.Problem) as caught:
        store.append(digest, -1, io.BytesIO(b"x"), LIMIT)
    assert caught.value.code == "400.2"


def test_a_corrupted_chunk_is_caught_at_completion_and_discarded(store_case: StoreCase) -> None:
    store = store_case.store
    data = os.urandom(150_000)
    digest = sha(data)
    corrupted = bytearray(data)
    corrupted[90_000] ^= 0x01
    store.append(digest, 0, io.BytesIO(bytes(corrupted[:100_000])), LIMIT)
    store.append(digest, 100_000, io.BytesIO(bytes(corrupted[100_000:])), LIMIT)
    with pytest.raises(problems.Problem) as caught:
        store.complete(digest)
    assert caught.value.code == "422.40"
    assert (store.has(digest), store.received(digest)) == (False, 0)
    assert store_case.leftovers() == []

    assert upload(store, data, 64_000) == data


def test_completing_without_all_bytes_fails_the_hash(store_case: StoreCase) -> None:
    store = store_case.store
    data = os.urandom(5000)
    store.append(sha(data), 0, io.BytesIO(data[:4999]), LIMIT)
    with pytest.raises(problems.Problem, match="SHA-256"):
        store.complete(sha(data))
    with pytest.raises(problems.Problem):
        store.complete(sha(b"never sent"))
    assert store_case.leftovers() == []


def test_size_limit(store_case: StoreCase) -> None:
    store = store_case.store
    exactly = os.urandom(1000)
    assert len(upload(store, exactly, 300)) == 1000  # the limit itself is allowed

    too_big = os.urandom(1001)
    digest = sha(too_big)
    store.append(digest, 0, io.BytesIO(too_big[:600]), 1000)
    with pytest.raises(problems.Problem) as caught:
        store.append(digest, 600, io.BytesIO(too_big[600:]), 1000)
    assert caught.value.code == "413.4"
    assert caught.value.details == {"limit": 1000}
    assert store.received(digest) == 0, "a blob that can never fit is not kept"


def test_a_complete_blob_is_written_once(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path)
    data = os.urandom(4000)
    digest = sha(data)
    upload(store, data, 1500)
    first = store.path(digest)
    before = first.stat()
    assert before.st_mode & 0o222 == 0, "stored evidence is read-only"

    # Another upload of the same bytes: appending to a complete blob writes nothing.
    assert store.append(digest, 0, io.BytesIO(b"garbage"), LIMIT) == 4000
    # A partial that raced in (two uploads finishing together) is dropped, the first file kept.
    partial = tmp_path / ".partial" / digest
    partial.write_bytes(b"a late duplicate")
    store.complete(digest)
    after = first.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert first.read_bytes() == data
    assert not partial.exists()


def test_delete_removes_blob_partial_and_thumbnail(store_case: StoreCase) -> None:
    store = store_case.store
    data = os.urandom(100)
    digest = sha(data)
    upload(store, data, 100)
    store.write_thumbnail(digest, b"jpeg")
    other = os.urandom(100)
    store.append(sha(other), 0, io.BytesIO(other[:50]), LIMIT)
    store.delete(digest)
    store.delete(sha(other))
    assert (store.has(digest), store.received(digest), store.received(sha(other))) == (False, 0, 0)
    assert store.read_thumbnail(digest) is None
    assert store_case.leftovers() == []
    with pytest.raises(problems.Problem) as caught:
        store.open(digest)
    assert caught.value.code == "404.1"
    store.delete(digest)  # deleting nothing is fine


def test_concurrent_uploads_of_the_same_blob_end_in_one_good_file(store_case: StoreCase) -> None:
    store = store_case.store
    data = os.urandom(300_000)
    digest = sha(data)
    start = threading.Barrier(2)
    results: list[bool] = []
    errors: list[BaseException] = []

    def device(chunk: int) -> None:
        try:
            start.wait()
            while not store.has(digest):
                offset = store.received(digest)
                if offset >= len(data):
                    try:
                        store.complete(digest)
                    except problems.Problem as problem:
                        assert problem.code == "409.40"  # the other device's completion took the chunks
                        continue
                    results.append(store.has(digest))
                    return
                try:
                    store.append(digest, offset, io.BytesIO(data[offset : offset + chunk]), LIMIT)
                except problems.Problem as problem:
                    assert problem.code == "409.40"  # the other device got there first: resume
            store.complete(digest)
            results.append(store.has(digest))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=device, args=(size,)) for size in (7_000, 11_000)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert results == [True, True]
    assert read(store, digest) == data
    assert store_case.leftovers() == [f"blobs/{digest[:2]}/{digest[2:4]}/{digest}"]


def test_a_waiting_append_rechecks_the_offset_under_the_lock(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path)
    data = os.urandom(200_000)
    digest = sha(data)
    release = threading.Event()
    first_piece_written = threading.Event()

    class SlowBody(io.RawIOBase):
        """Sends one piece, then stalls until released (a slow tablet holding the upload)."""

        def __init__(self) -> None:
            self._sent = 0

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            if self._sent:
                first_piece_written.set()
                release.wait(10)
            piece = data[self._sent : self._sent + min(size, 50_000)]
            self._sent += len(piece)
            return piece

    slow = threading.Thread(target=store.append, args=(digest, 0, SlowBody(), LIMIT))
    slow.start()
    assert first_piece_written.wait(10)
    # The second upload also starts at 0 (it asked before the first wrote anything) and must wait.
    outcome: list[BaseException | int] = []

    def second() -> None:
        try:
            outcome.append(store.append(digest, 0, io.BytesIO(data), LIMIT))
        except BaseException as exc:
            outcome.append(exc)

    waiter = threading.Thread(target=second)
    waiter.start()
    waiter.join(0.3)
    assert waiter.is_alive(), "the second append waits for the lock"
    release.set()
    slow.join(10)
    waiter.join(10)
    [result] = outcome
    assert isinstance(result, problems.Problem) and result.code == "409.40"
    assert result.details["received"] == len(data)
    store.complete(digest)
    assert read(store, digest) == data


BAD_HASHES = [
    "../../etc/passwd",
    "A" * 64,
    "g" * 64,
    "a" * 63,
    "a" * 65,
    "a" * 64 + "\n",
    "/" + "a" * 63,
    "",
    None,
]


@pytest.mark.parametrize("bad", BAD_HASHES, ids=repr)
@pytest.mark.parametrize(
    "call",
    [
        lambda s, h: s.has(h),
        lambda s, h: s.received(h),
        lambda s, h: s.append(h, 0, io.BytesIO(b"x"), LIMIT),
        lambda s, h: s.complete(h),
        lambda s, h: s.size(h),
        lambda s, h: s.open(h),
        lambda s, h: s.delete(h),
        lambda s, h: s.read_thumbnail(h),
        lambda s, h: s.write_thumbnail(h, b"x"),
    ],
    ids=["has", "received", "append", "complete", "size", "open", "delete", "read_thumb", "write_thumb"],
)
def test_bad_hashes_are_refused_everywhere(
    store_case: StoreCase, bad: Any, call: Callable[[BlobStore, Any], object]
) -> None:
    with pytest.raises(problems.Problem) as caught:
        call(store_case.store, bad)
    assert caught.value.code == "400.2"
    assert store_case.leftovers() == []


def test_bad_hashes_never_become_local_paths(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path)
    for bad in BAD_HASHES:
        for call in (store.path, store.thumbnail_path):
            with pytest.raises(problems.Problem):
                call(bad)  # type: ignore[arg-type]


def _two_blobs_sharing_a_folder() -> tuple[bytes, bytes]:
    """Two different blobs whose names share their first four hex digits (the same ``ab/cd/``), found by counting:
    deterministic, and a pair turns up within a few hundred tries (the birthday bound over 65,536 folders)."""
    seen: dict[str, bytes] = {}
    for n in range(1_000_000):
        blob = f"blob {n}".encode()
        folder = sha(blob)[:4]
        if folder in seen:
            return seen[folder], blob
        seen[folder] = blob
    raise AssertionError("no two blobs share a folder")


def test_a_blob_in_new_folders_is_found_after_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rename into ``ab/cd/`` is fsynced in ``ab/cd``; folders made for it are fsynced in their parents, or
    a crash could lose the folder's name and the blob with it. Folders already there cost no extra fsync."""
    from sync import blobs as blobs_module

    synced: list[Path] = []
    real = blobs_module._fsync_dir
    monkeypatch.setattr(blobs_module, "_fsync_dir", lambda folder: (synced.append(folder), real(folder)))
    root = tmp_path / "blobs"
    store = FilesystemBlobStore(root)
    data, neighbour = _two_blobs_sharing_a_folder()
    digest = sha(data)
    store.append(digest, 0, io.BytesIO(data), LIMIT)
    store.complete(digest)
    ab, cd = root / digest[:2], root / digest[:2] / digest[2:4]
    assert synced == [root, ab, cd]
    assert read(store, digest) == data

    synced.clear()
    store.append(sha(neighbour), 0, io.BytesIO(neighbour), LIMIT)
    store.complete(sha(neighbour))
    assert synced == [cd]


@pytest.mark.parametrize("store_case", ["s3"], indirect=True)
def test_a_completion_another_server_finished_meanwhile_is_not_a_hash_mismatch(
    store_case: StoreCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two servers complete one upload at once: the first stores the blob and deletes the chunks between the
    second's look for the blob and its listing of the chunks. The second then reads no bytes; the blob is held,
    verified, so its device must hear success, not "the bytes do not match, upload again" (422.40), and nothing
    may be deleted."""
    store = store_case.store
    data = os.urandom(50_000)
    digest = sha(data)
    store.append(digest, 0, io.BytesIO(data), LIMIT)
    heads = iter([None])  # the second server's first look finds no blob yet ...
    real_head = store._head  # type: ignore[attr-defined]

    def head_then_first_completes(key: str) -> int | None:
        answer = next(heads, "real")
        if answer is None:
            store.complete(digest)  # ... and the first server completes right after it looked
            return None
        return real_head(key)  # type: ignore[no-any-return]

    monkeypatch.setattr(store, "_head", head_then_first_completes)
    store.complete(digest)
    assert store.has(digest)
    assert read(store, digest) == data
    assert store_case.leftovers() == [f"blobs/{digest[:2]}/{digest[2:4]}/{digest}"]
