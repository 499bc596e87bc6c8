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
from pathlib import Path


class ContentStore:
    """Immutable blobs addressed by their SHA-256."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)

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
