"""The errors every storage backend raises, so callers never see a driver's own."""


class StorageError(Exception):
    """The database cannot be used; the message says why and what to do."""


class StorageUnavailable(StorageError):
    """A database operation failed for a reason that may pass (disk full, read-only, I/O)."""
