"""One bot process per SQLite file.

The real bot (`thidua run`) and the sandbox each hold an exclusive lock on `<database>.lock` while
they run, so neither can start against a file the other one is using (nor `sandbox --reset` wipe
a running sandbox). The lock is the kernel's (flock): a crashed process never leaves it held."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class DatabaseBusy(Exception):
    def __init__(self, path: Path, pid: str) -> None:
        super().__init__(f"{path} is in use by process {pid or '?'}")
        self.path, self.pid = path, pid


class DatabaseLock:
    def __init__(self, database: Path) -> None:
        self.database = Path(database)
        self.path = self.database.with_name(self.database.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> "DatabaseLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = os.read(fd, 32).decode(errors="replace").strip()
            os.close(fd)
            raise DatabaseBusy(self.database, pid) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "DatabaseLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
