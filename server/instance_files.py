"""Files under the instance folder (keys, secrets) created exactly once, however many processes start together.

Several gunicorn workers may serve their first requests at the same moment and all find the file missing.
Each writes its candidate to a private temporary file and links it into place: the link is atomic and refuses
to replace an existing file, so the first one wins, every other starter reads the winner's complete file, and
no reader ever sees a half-written one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def create_once(path: Path, make: Callable[[], bytes]) -> bytes:
    """The content of ``path``; if it does not exist, ``make()``'s bytes written there (mode 0600) first."""
    with contextlib.suppress(FileNotFoundError):
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    content = make()
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.chmod(0o600)
        try:
            path.hardlink_to(tmp)
        except FileExistsError:
            return path.read_bytes()  # another starter won: its file is complete, since it was linked whole
        _fsync_dir(path.parent)
        return content
    finally:
        tmp.unlink()


def _fsync_dir(directory: Path) -> None:
    """Make the new name durable (a name lives in its directory)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
