"""An MNIST-format dataset: its file table, verification, and the directory and mirror sources."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .cache import data_dir, verify_array
from .download import download
from .errors import DataFileError
from .idx import decode_idx, read_idx, write_idx
from .sources import Pair

SPLITS = ("train", "test")


@dataclass(frozen=True)
class IDXDataset:
    """The published facts about a dataset stored as (images, labels) IDX file pairs.

    files: split -> (images file, labels file), uncompressed names (mirrors serve name + ".gz");
    counts: split -> number of examples; md5: name + ".gz" -> MD5 of the mirrors' gzipped file;
    sha256: name -> SHA-256 of the decoded C-contiguous uint8 array (compression independent)."""

    name: str
    subdir: str
    files: dict[str, tuple[str, str]]
    counts: dict[str, int]
    md5: dict[str, str]
    sha256: dict[str, str]
    image_shape: tuple[int, int] = (28, 28)

    def cache_dir(self, root: str | os.PathLike[str] | None) -> Path:
        return data_dir(root) / self.subdir

    def verify(self, split: str, pair: Pair, origins: Sequence[str]) -> None:
        """Raise `DataFileError` unless (images, labels) are exactly the published split;
        `origins` name where each array came from (a path, a URL) for the message."""
        image_file, label_file = self.files[split]
        n = self.counts[split]
        verify_array(pair[0], (n, *self.image_shape), self.sha256.get(image_file), origins[0])
        verify_array(pair[1], (n,), self.sha256.get(label_file), origins[1])

    def manual_help(self, root: str | os.PathLike[str] | None) -> str:
        names = ", ".join(name for pair in self.files.values() for name in pair)
        return (f"To install {self.name} by hand, place the IDX files {names} (raw, or gzipped "
                f"with a .gz suffix) in {self.cache_dir(root)}")


def check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")


def find_file(directory: Path, name: str) -> Path:
    """The raw IDX file `name` in `directory`, else its gzipped `name.gz`."""
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{directory} has no {name} or {name}.gz")


def load_from_dir(spec: IDXDataset, split: str, directory: Path, warn: bool = False) -> Pair:
    """Read and verify one split from a directory of raw or gzipped IDX files. With `warn`, a
    corrupt file is also reported as a warning (it will be replaced if another source works)."""
    paths = [find_file(directory, name) for name in spec.files[split]]
    try:
        pair = read_idx(paths[0]), read_idx(paths[1])
        spec.verify(split, pair, [str(path) for path in paths])
    except DataFileError as exc:
        if warn:
            warnings.warn(f"ignoring corrupt cached file: {exc}", stacklevel=3)
        raise
    return pair


def load_from_mirror(spec: IDXDataset, split: str, base_url: str) -> Pair:
    """Download one split's gzipped IDX files from a mirror, checking MD5s, then the arrays."""
    urls = [f"{base_url}{name}.gz" for name in spec.files[split]]
    pair = tuple(decode_idx(download(url, spec.md5.get(url.rsplit("/", 1)[1])), url)
                 for url in urls)
    spec.verify(split, pair, urls)
    return pair


def save_to_cache(spec: IDXDataset, split: str, pair: Pair, root: str | os.PathLike[str] | None
                  ) -> None:
    """Store a verified split as raw IDX files (raw: the fastest to read back). A cache that
    cannot be written only costs speed, so that is a warning, not an error."""
    try:
        for name, array in zip(spec.files[split], pair):
            write_idx(spec.cache_dir(root) / name, array)
    except OSError as exc:
        warnings.warn(f"could not cache {spec.name} in {spec.cache_dir(root)}: {exc}",
                      stacklevel=3)


def as_int64_labels(pair: Pair) -> Pair:
    """The public return convention: uint8 images, int64 labels (what losses index with)."""
    return pair[0], pair[1].astype(np.int64)

