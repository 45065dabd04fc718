"""The SQLite database file itself: created private to its owner, and backed up online."""

import contextlib
import os
import sqlite3
from pathlib import Path

from bot.storage.errors import StorageError


def prepare_database_file(path: Path) -> None:
    """Create the database file readable by its owner only; raise StorageError if unusable."""
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise StorageError(
            f"DATABASE_PATH {path}: directory {directory} does not exist; create it or "
            "choose another path"
        )
    if path.exists() and path.is_dir():
        raise StorageError(f"DATABASE_PATH {path} is a directory; give a file path")
    if path.exists() and not _writable(path):
        raise StorageError(f"DATABASE_PATH {path} is not writable; fix its permissions")
    if not path.exists() and not _writable(directory):
        raise StorageError(
            f"DATABASE_PATH {path}: cannot create files in {directory}; fix its permissions "
            "or choose another path"
        )
    if not path.exists():
        # Subscribers' chat ids are personal data: the file is for its owner only.
        try:
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        except OSError as error:
            raise StorageError(
                f"DATABASE_PATH {path} cannot be created ({error.strerror}): the disk may be "
                "read-only or full; choose another path"
            ) from None


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK)


def backup_database(source: Path, target: Path) -> None:
    """Copy the database consistently, even while the bot writes to it (online backup)."""
    if not source.is_file():
        raise StorageError(f"there is no database at {source} to back up")
    if target.exists() and target.resolve() == source.resolve():
        raise StorageError("the backup must go to another file than the database itself")
    partial = target.with_name(target.name + ".partial")
    try:
        os.close(os.open(partial, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600))
        with (
            contextlib.closing(
                sqlite3.connect(f"{source.absolute().as_uri()}?mode=ro", uri=True)
            ) as reader,
            contextlib.closing(sqlite3.connect(partial)) as writer,
        ):
            reader.backup(writer)
        os.replace(partial, target)
    except (OSError, sqlite3.Error) as error:
        partial.unlink(missing_ok=True)
        raise StorageError(f"backup to {target} failed: {error}") from None
