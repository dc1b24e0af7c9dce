"""atomic_write: the one way files are written whole or not at all (checkpoints, JSON, plots,
graphs, reports, the dataset cache), and WriteError, which names the path the caller gave;
open_regular: the one way files handed to a reader are opened (regular files only); read_npz:
the one way .npz archives are read (every member's size checked before its array exists)."""

from __future__ import annotations

import math
import os
import secrets
import stat
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any, BinaryIO

import numpy as np

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


class WriteError(OSError):
    """A file could not be written (disk full, read-only folder, no permission); the message names
    the path as the caller gave it, and the old file at that path, if any, is untouched."""

    def __init__(self, path: str, cause: OSError) -> None:
        super().__init__(cause.errno, cause.strerror or str(cause))
        self.filename, self.message = path, f"cannot write {path}: {cause.strerror or cause}"

    def __str__(self) -> str:
        return self.message


@contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """Yield a file open for writing (`mode` "wb" or "w", UTF-8) that replaces `path` only once
    the block finishes: the data is written to a temporary file beside `path`, flushed and
    fsynced, renamed over `path` with os.replace, and the folder is fsynced where the platform
    allows, so a crash or a concurrent reader sees the old file or the new one, never half of
    one. On any error the temporary file is removed and `path` is untouched; an OSError (a full
    disk, a read-only folder) becomes a WriteError naming `path`. The parent folder must exist.
    The new file gets the permissions `open()` would give (0o666 & ~umask): the temp file is
    created with mode 0o666 and the kernel applies the umask, so the process umask is never read
    or changed (changing it would race with other threads)."""
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write: mode must be 'wb' or 'w', got {mode!r}")
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise WriteError(path, IsADirectoryError(21, "it is a folder, not a file"))
    try:
        fd, tmp = _create_beside(path, folder)
    except OSError as error:
        raise WriteError(path, error) from error
    try:
        # os.replace is atomic only within one filesystem, hence the temp file in the same folder
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        try:
            os.remove(tmp)
        except FileNotFoundError:
            pass
        if isinstance(error, OSError) and not isinstance(error, WriteError):
            raise WriteError(path, error) from error
        raise
    _fsync_folder(folder)


def make_folder(path: str | os.PathLike[str]) -> None:
    """Create the folder `path` and its parents (fine if it exists); a WriteError naming `path`
    when that is impossible (a file in the way, a read-only parent)."""
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as error:
        raise WriteError(os.fspath(path), error) from error


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """`path` holds exactly `data` afterwards, or is untouched (see atomic_write)."""
    with atomic_write(path) as f:
        f.write(data)


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """`path` holds exactly `text` (UTF-8) afterwards, or is untouched (see atomic_write)."""
    with atomic_write(path, "w") as f:
        f.write(text)


def _create_beside(path: str, folder: str) -> tuple[int, str]:
    """A new, exclusively created file `.<name>.<random>.tmp` in `folder`, and its descriptor."""
    for _ in range(100):
        tmp = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, _FLAGS, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(17, "no free temporary name beside it")


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


_KINDS = {stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFDIR: "a folder",
          stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
          stat.S_IFSOCK: "a socket"}


def open_regular(path: str | os.PathLike[str], error: type[Exception]) -> BinaryIO:
    """`path` opened for binary reading when it is a regular file; otherwise `error` naming it at
    once. Opened non-blocking and checked on the descriptor, so a FIFO never blocks the reader
    and nothing can swap the file between the check and the read. FileNotFoundError when absent.
    """
    path = os.fspath(path)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
        raise error(f"{path!r} is {kind}, not a regular file; only regular files are read")
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


# ----- bounded .npz reading -------------------------------------------------------------------
# tg.save stores members uncompressed (ratio 1) and np.savez_compressed of weights stays under 2;
# more than this many times the file's size is a zip bomb. Below the floor any ratio is fine
# (small all-zero buffers compress 1000x)
MAX_INFLATION = 20
INFLATION_FLOOR = 256 * 2**20
_CHUNK = 2**20  # members are read in pieces of this size straight into their arrays


Expect = Callable[[str, tuple, np.dtype], None]


def read_npz(path: str | os.PathLike[str], error: type[Exception], what: str,
             select: Callable[[list[str]], list[str] | None] | None = None,
             expect: Expect | None = None) -> dict[str, np.ndarray]:
    """The .npy members of the regular file `path` as arrays (keys without ".npy"), never
    unpickled. `select(names)` sees the member names before any is read: it may refuse the
    archive, or return the names to read (None: all); `expect(key, shape, dtype)` sees each
    member's header before its array exists, and may refuse it. Each member's .npy header must
    account for exactly its declared inflated size, and the members together may not inflate
    past MAX_INFLATION times the file (or the floor), so a crafted archive fails before its
    arrays exist; `error` names `what` and the file."""
    path = os.fspath(path)
    try:
        with open_regular(path, error) as f, zipfile.ZipFile(f) as archive:
            names = [info.filename for info in archive.infolist()]
            chosen = select(names) if select is not None else None
            infos = [info for info in archive.infolist() if info.filename.endswith(".npy")
                     and (chosen is None or info.filename in chosen)]
            return _read_members(archive, infos, os.fstat(f.fileno()).st_size, error,
                                 f"{what} {path!r}", expect)
    except FileNotFoundError:
        raise error(f"{what} {path!r} does not exist") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as cause:
        raise error(f"{what} {path!r} is not a .npz archive: it is truncated, corrupt, or "
                    f"another kind of file ({cause})") from None


def _read_members(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], size: int,
                  error: type[Exception], where: str, expect: Expect | None
                  ) -> dict[str, np.ndarray]:
    inflated = sum(info.file_size for info in infos)
    if inflated > max(INFLATION_FLOOR, MAX_INFLATION * size):
        raise error(f"{where} would inflate its {size:,} bytes to {inflated:,} bytes (the limit "
                    f"is {MAX_INFLATION}x the file, or {INFLATION_FLOOR:,} bytes): a zip bomb "
                    "or a damaged archive, not read")
    return {info.filename.removesuffix(".npy"): _read_member(
        archive, info, error, f"{where}: member {info.filename!r}", expect) for info in infos}


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, error: type[Exception],
                 where: str, expect: Expect | None) -> np.ndarray:
    """One member's array; its header must account for exactly its declared inflated size (and
    satisfy `expect`), and the array is allocated only then and filled from the member (short
    data: truncated)."""
    with archive.open(info) as f:
        shape, fortran, dtype = _npy_header(f, error, where)
        if expect is not None:
            expect(info.filename.removesuffix(".npy"), shape, dtype)
        nbytes = math.prod(shape) * dtype.itemsize
        if f.tell() + nbytes != info.file_size:
            raise error(f"{where} declares {dtype} data of shape {shape} ({nbytes:,} bytes) but "
                        f"holds {info.file_size - f.tell():,} bytes: the archive is damaged")
        try:  # an empty array's other dimensions are not bounded by the member's size
            flat = np.empty(math.prod(shape), dtype)
            array = flat.reshape(shape[::-1]).transpose() if fortran else flat.reshape(shape)
        except ValueError as cause:  # "Maximum allowed dimension exceeded", too many dims
            raise error(f"{where} declares shape {shape!s:.80}, which is no array ({cause})"
                        ) from None
        view, done = memoryview(flat.view(np.uint8)), 0
        while done < nbytes:
            n = f.readinto(view[done:done + _CHUNK])
            if not n:
                raise error(f"{where} is truncated ({done:,} of {nbytes:,} bytes)")
            done += n
    return array


def _npy_header(f: Any, error: type[Exception], where: str
                ) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran_order, dtype) of a .npy stream; pickled (object) data is refused."""
    readers = {(1, 0): np.lib.format.read_array_header_1_0,
               (2, 0): np.lib.format.read_array_header_2_0}
    try:
        version = np.lib.format.read_magic(f)
        if version not in readers:
            raise ValueError(f"unsupported .npy version {version}")
        shape, fortran, dtype = readers[version](f)
    except (ValueError, TypeError, SyntaxError) as cause:
        raise error(f"{where} is not a readable .npy array: {cause}") from None
    if dtype.hasobject:
        raise error(f"{where} contains pickled objects, which are never loaded "
                    "(allow_pickle=False)")
    return shape, fortran, dtype
