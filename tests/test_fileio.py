"""Tests for fileio.atomic_write: all-or-nothing replacement, cleanup on error, permissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tinygrad_cnn import fileio
from tinygrad_cnn.fileio import atomic_write


def test_old_file_stays_intact_until_the_new_one_is_complete(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"old")
    with atomic_write(path) as f:
        f.write(b"new contents")
        assert path.read_bytes() == b"old"  # readers still see the old file
        temps = [p.name for p in tmp_path.iterdir() if p.name != "a.bin"]
        assert len(temps) == 1 and temps[0].startswith(".a.bin.") and temps[0].endswith(".tmp")
    assert path.read_bytes() == b"new contents"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_error_leaves_the_old_file_and_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="boom"), atomic_write(path) as f:
        f.write(b"partial")
        raise RuntimeError("boom")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_failed_rename_leaves_no_temp_file(tmp_path: Path, monkeypatch) -> None:
    def broken_replace(src, dst):
        raise OSError("rename failed")

    monkeypatch.setattr(fileio.os, "replace", broken_replace)
    with pytest.raises(OSError, match="rename failed"), atomic_write(tmp_path / "a") as f:
        f.write(b"data")
    monkeypatch.undo()
    assert not list(tmp_path.iterdir())


def test_file_and_folder_are_fsynced(tmp_path: Path, monkeypatch) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}") if os.path.exists("/proc/self/fd")
                      else str(fd))
        real_fsync(fd)

    monkeypatch.setattr(fileio.os, "fsync", recording_fsync)
    with atomic_write(tmp_path / "a") as f:
        f.write(b"x")
    assert len(synced) == 2
    if os.path.exists("/proc/self/fd"):
        assert synced[0].endswith(".tmp") and synced[1] == str(tmp_path)


def test_permissions_follow_the_umask_without_changing_it(tmp_path: Path, monkeypatch) -> None:
    real_umask = os.umask
    old = real_umask(0o027)
    try:
        # reading the umask means setting it, which races with other threads: never done
        monkeypatch.setattr(fileio.os, "umask", lambda mask: pytest.fail("umask changed"))
        with atomic_write(tmp_path / "a") as f:
            f.write(b"x")
    finally:
        real_umask(old)
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o640  # 0o666 & ~0o027


def test_text_mode_writes_utf8(tmp_path: Path) -> None:
    with atomic_write(tmp_path / "a.txt", "w") as f:
        f.write("grüße\n")
    assert (tmp_path / "a.txt").read_bytes() == "grüße\n".encode()


def test_only_write_modes_are_accepted(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mode must be 'wb' or 'w'"), \
            atomic_write(tmp_path / "a", "ab"):
        pass
    assert not list(tmp_path.iterdir())
