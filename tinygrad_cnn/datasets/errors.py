"""The data layer's errors: a dataset no source could provide, and a malformed file."""

from __future__ import annotations


class DatasetError(RuntimeError):
    """No source (cache, local copy, mirror, package) could provide a dataset; the message lists
    each source tried, why it failed, and where to place the files by hand."""


class DataFileError(ValueError):
    """A file or folder does not hold what it should; the message names the path and the problem."""


class IDXError(DataFileError):
    """An IDX file is malformed: bad magic number, unknown type code, truncated or corrupt data."""
