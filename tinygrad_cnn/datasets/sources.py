"""Trying a dataset's sources in order and, when all fail, raising one error that lists them."""

from __future__ import annotations

import http.client
import pickle
import subprocess
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .errors import DatasetError

Pair = tuple[np.ndarray, np.ndarray]

# What a failing source may raise: I/O and network errors, malformed or mismatching files, a
# package download that failed. Anything else is a bug and propagates.
SOURCE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    ValueError,
    EOFError,
    http.client.HTTPException,
    pickle.UnpicklingError,
    zipfile.BadZipFile,
    subprocess.SubprocessError,
    DatasetError,
)


@dataclass(frozen=True)
class Source:
    """One place a dataset split can come from: `name` is shown to the user, `load` returns
    (images, labels) or raises one of `SOURCE_ERRORS`."""

    name: str
    load: Callable[[], Pair]


def first_available(dataset: str, sources: Sequence[Source], manual_help: str) -> Pair:
    """Return the result of the first source that loads; else raise `DatasetError` listing every
    source with the reason it failed, followed by `manual_help` (how to place files by hand)."""
    failures = []
    for source in sources:
        try:
            return source.load()
        except SOURCE_ERRORS as exc:
            reason = str(exc).strip() or type(exc).__name__
            failures.append(f"  - {source.name}: {type(exc).__name__}: {reason}")
    tried = "\n".join(failures)
    raise DatasetError(f"could not load {dataset}; tried, in order:\n{tried}\n{manual_help}")
