"""Opening an archive directory for writing: lock it, load the manifest, repair a crash."""

import fcntl
import os
from pathlib import Path
from typing import IO

from .errors import ArchiveError
from .layout import SUFFIX
from .manifest import Manifest, Repair, reconcile

__all__ = ["ArchiveLock", "apply_repair", "files_on_disk", "open_for_writing"]

LOCK = ".lock"


class ArchiveLock:
    """An exclusive ``flock`` on ``DIR/.lock``: one writer per archive directory."""

    def __init__(self, root: Path) -> None:
        self._file: IO[bytes] | None = open(root / LOCK, "ab")
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.close()
            self._file = None
            raise ArchiveError(f"another 'cxpulse archive' is writing {root}") from None

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing drops the lock
            self._file = None


def files_on_disk(root: Path) -> dict[str, int]:
    """Archive files under ``root`` (relative ``/`` names) and their sizes."""
    found = {}
    for path in root.glob(f"*/*{SUFFIX}"):
        found[path.relative_to(root).as_posix()] = path.stat().st_size
    return found


def open_for_writing(root: Path, topic: str) -> tuple[Manifest, ArchiveLock, Repair | None]:
    """Lock ``root`` (created if missing), load or start its manifest, undo a crash's leftovers."""
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ArchiveError(f"cannot create archive directory {root}: {exc.strerror}") from None
    lock = ArchiveLock(root)
    try:
        manifest = Manifest.load(root)
        if manifest is None:
            return Manifest(topic), lock, None
        if manifest.topic != topic:
            raise ArchiveError(f"{root} archives topic {manifest.topic}, not {topic}")
        repair = reconcile(manifest, files_on_disk(root))
        apply_repair(root, manifest, repair)
        return manifest, lock, repair
    except BaseException:
        lock.release()
        raise


def apply_repair(root: Path, manifest: Manifest, repair: Repair) -> None:
    """Cut files back to their durable length, remove unlisted ones, forget missing ones."""
    for name, length in repair.truncate.items():
        with open(root / name, "r+b") as out:
            out.truncate(length)
            out.flush()
            os.fsync(out.fileno())
    for name in repair.remove:
        (root / name).unlink()
    for name in repair.forget:
        del manifest.files[name]
    if repair.forget:
        manifest.save(root)
