"""A content-addressed file store under the data dir: ``<root>/<ab>/<sha256>``.

Every blob is written to a temporary file in the same directory and renamed into
place, so a blob either exists whole or not at all, even when the process is killed
mid-write. Writing the same content twice is a no-op, which makes retried uploads
idempotent. Rows that name blobs are committed only after the blobs are on disk
(``put`` returns, or ``make_durable`` has flushed what ``write`` wrote); a crash in
between leaves an orphan blob, never a row pointing at a missing or partial file.
Orphans (and a refused upload's files, when a refusal comes only in the transaction)
are collected by :meth:`ContentStore.sweep`, with a grace period long enough for any
upload in flight to commit its row; writing content that already exists restarts
its grace period, so a blob about to be named again is never swept.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Collection, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

CACHE_BYTES = 64 * 1024 * 1024
"""Memory kept for blobs read again and again (a release's archive fetched by a class)."""
FSYNC_THREADS = 8
"""Files flushed at once by ``make_durable``: the filesystem's journal commits
concurrent flushes together, so thirty files cost about what one does."""


def _fsync_path(path: Path) -> None:
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


BLOBS_IN_DATA_DIR = Path("exchange", "blobs")
"""Where the classroom keeps its content store, relative to the data dir."""


def _is_sha256(name: str) -> bool:
    return len(name) == 64 and all(c in "0123456789abcdef" for c in name)


class ContentStore:
    """Immutable blobs addressed by their SHA-256."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._cached_bytes = 0
        self._cache_lock = threading.Lock()
        self._unflushed: set[Path] = set()
        self._unflushed_lock = threading.Lock()
        self._flushers = ThreadPoolExecutor(FSYNC_THREADS, thread_name_prefix="content-fsync")

    def path(self, sha256: str) -> Path:
        """Where the blob ``sha256`` lives (whether or not it exists)."""
        if not _is_sha256(sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def names(self) -> Iterator[str]:
        """The SHA-256 of every blob stored, in order (unfinished writes left out)."""
        for path in sorted(self.root.glob("??/*")):
            if _is_sha256(path.name) and path.is_file():
                yield path.name

    def put(self, data: bytes) -> str:
        """Store ``data`` durably and return its SHA-256."""
        sha256, unflushed = self.write(data)
        if unflushed is not None:
            self.make_durable([unflushed])
        return sha256

    def write(self, data: bytes) -> tuple[str, Path | None]:
        """Store ``data`` whole but not yet flushed to disk.

        Returns its SHA-256 and, unless it was already on disk, the path that
        :meth:`make_durable` must flush before a row may name it (also when another
        request wrote the same content a moment ago and has not flushed it yet).
        Flushing many requests' files together, once, is what lets a class submit at
        the same moment without forty rounds of ``fsync``.
        """
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path(sha256)
        with self._unflushed_lock:
            if target.exists():
                os.utime(target)
                return sha256, target if target in self._unflushed else None
        target.parent.mkdir(exist_ok=True, mode=0o700)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            with self._unflushed_lock:
                os.replace(temporary, target)
                self._unflushed.add(target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return sha256, target

    def make_durable(self, paths: Iterable[Path]) -> None:
        """Flush written blobs, and the directories naming them, to disk (blocking)."""
        files = sorted(set(paths))
        if not files:
            return
        directories = sorted({path.parent for path in files})
        list(self._flushers.map(_fsync_path, files))
        list(self._flushers.map(_fsync_path, directories))
        with self._unflushed_lock:
            self._unflushed.difference_update(files)

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

    def sweep(self, referenced: Collection[str], older_than: float) -> list[str]:
        """Remove blobs no row names (``referenced``: every SHA-256 the rows name) and
        unfinished temporary files, unless written or re-written in the last
        ``older_than`` seconds; returns the SHA-256s removed.

        A row committed after the caller read ``referenced`` names either a blob
        written within the grace period or one :meth:`write` touched when it found
        the content already there; the age is checked under the lock :meth:`write`
        takes, so neither is removed.
        """
        cutoff = time.time() - older_than
        removed = []
        for path in sorted(self.root.glob("??/*")):
            name = path.name
            if name in referenced:
                continue
            with self._unflushed_lock:
                try:
                    if path.stat().st_mtime >= cutoff:
                        continue
                    path.unlink()
                except FileNotFoundError:
                    continue
            if not name.startswith(".incoming-"):
                removed.append(name)
        return removed
