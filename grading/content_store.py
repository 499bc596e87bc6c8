"""A content-addressed file store under the data dir: ``<root>/<ab>/<sha256>``.

Every blob is written to a temporary file in the same directory, flushed to disk
with ``fsync`` and renamed into place, so a blob either exists whole or not at all,
even when the process is killed mid-write. Writing the same content twice is a
no-op, which makes retried uploads idempotent. Rows that name blobs are committed
only after ``put`` returns; a crash in between leaves an orphan blob, never a row
pointing at a missing or partial file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

CACHE_BYTES = 64 * 1024 * 1024
"""Memory kept for blobs read again and again (a release's archive fetched by a class)."""


class ContentStore:
    """Immutable blobs addressed by their SHA-256."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._cached_bytes = 0
        self._cache_lock = threading.Lock()

    def path(self, sha256: str) -> Path:
        """Where the blob ``sha256`` lives (whether or not it exists)."""
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        """Store ``data`` durably and return its SHA-256."""
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path(sha256)
        if target.exists():
            return sha256
        target.parent.mkdir(exist_ok=True, mode=0o700)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        directory = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return sha256

    def read(self, sha256: str) -> bytes:
        """The content of blob ``sha256``."""
        return self.path(sha256).read_bytes()

    def read_cached(self, sha256: str) -> bytes:
        """The content of blob ``sha256``, kept in memory for the next reader.

        Blobs never change once written, so a cached copy is always right; the least
        recently read ones are dropped beyond :data:`CACHE_BYTES`.
        """
        with self._cache_lock:
            data = self._cache.get(sha256)
            if data is not None:
                self._cache.move_to_end(sha256)
                return data
        data = self.read(sha256)
        if len(data) <= CACHE_BYTES // 8:
            with self._cache_lock:
                if sha256 not in self._cache:
                    self._cache[sha256] = data
                    self._cached_bytes += len(data)
                while self._cached_bytes > CACHE_BYTES:
                    _old, dropped = self._cache.popitem(last=False)
                    self._cached_bytes -= len(dropped)
        return data
