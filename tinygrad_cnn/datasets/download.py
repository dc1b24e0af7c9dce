"""Fetching a file over HTTP(S) with a timeout, a progress bar and an MD5 check."""

from __future__ import annotations

import hashlib
import urllib.request

TIMEOUT_S = 15.0  # per connect and per read: an unreachable mirror fails in seconds, not minutes
CHUNK = 1 << 16


def download(url: str, md5: str | None, timeout: float = TIMEOUT_S) -> bytes:
    """Download `url` into memory, showing a tqdm bar, and check its MD5 when one is given.
    Raises OSError (urllib's URLError, a timeout) or ValueError (checksum mismatch)."""
    from tqdm import tqdm  # loaded when a download starts: the core stays NumPy-only

    digest = hashlib.md5(usedforsecurity=False)
    chunks = []
    with urllib.request.urlopen(url, timeout=timeout) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        name = url.rsplit("/", 1)[-1]
        with tqdm(total=total, unit="B", unit_scale=True, desc=name, leave=False) as bar:
            while chunk := response.read(CHUNK):
                digest.update(chunk)
                chunks.append(chunk)
                bar.update(len(chunk))
    if md5 is not None and digest.hexdigest() != md5:
        raise ValueError(f"{url}: MD5 {digest.hexdigest()} does not match the published {md5}")
    return b"".join(chunks)
