"""One writer at a time on an embedded store.

Embedded Chroma keeps its vector index in memory per process, so a second
process writing to the same directory leaves the first one's index stale.
Writers (ingest jobs, the running bot) therefore hold an exclusive lock on
``<store>/write.lock``; a second writer is refused with a clear message.  A
Chroma server (store mode "server") needs no such lock.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from common.errors import StoreBusyError
from common.settings import StoreSettings


class StoreLock:
    def __init__(self, store_path: Path, purpose: str) -> None:
        self.path = store_path / "write.lock"
        self.purpose = purpose
        self._fd: int | None = None

    def acquire(self) -> StoreLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:  # a directory (or anything else) where the lock file belongs
            kind = "a directory" if self.path.is_dir() else "not usable"
            raise StoreBusyError(
                f"cannot use the lock file {self.path}: it is {kind} ({exc.strerror or exc}); "
                "remove it if no process is using the store, so a lock file can be created"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise StoreBusyError(
                f"the store at {self.path.parent} is in use by {holder}; add sources through that process "
                "(for the bot: /source add), stop it first, or run Chroma as a server (store.mode = 'server')"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{self.purpose} (pid {os.getpid()})".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> StoreLock:
        return self.acquire()

    def __exit__(self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None) -> None:
        self.release()


def writer_lock(config: StoreSettings, path: Path, purpose: str) -> StoreLock | None:
    """The lock a writer of the store at ``path`` must hold (None in server mode: no lock needed)."""
    if config.mode == "server":
        return None
    return StoreLock(path, purpose)
