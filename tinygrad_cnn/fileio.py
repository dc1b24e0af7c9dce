"""atomic_write: the one way files are written whole or not at all (checkpoints, dataset cache)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


@contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """Yield a file open for writing (`mode` "wb" or "w", UTF-8) that replaces `path` only once
    the block finishes: the data is written to a temporary file beside `path`, flushed and
    fsynced, renamed over `path` with os.replace, and the folder is fsynced where the platform
    allows, so a crash or a concurrent reader sees the old file or the new one, never half of
    one. On any error the temporary file is removed and `path` is untouched. The parent folder
    must exist. The new file gets the permissions `open()` would give (0o666 & ~umask): the temp
    file is created with mode 0o666 and the kernel applies the umask, so the process umask is
    never read or changed (changing it would race with other threads)."""
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write: mode must be 'wb' or 'w', got {mode!r}")
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = _create_beside(path, folder)
    try:
        # os.replace is atomic only within one filesystem, hence the temp file in the same folder
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_folder(folder)


def _create_beside(path: str, folder: str) -> tuple[int, str]:
    """A new, exclusively created file `.<name>.<random>.tmp` in `folder`, and its descriptor."""
    for _ in range(100):
        tmp = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, _FLAGS, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"atomic_write: no free temporary name beside {path!r}")


def _fsync_folder(folder: str) -> None:
    """Make the rename itself durable (POSIX); not possible on every platform."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
