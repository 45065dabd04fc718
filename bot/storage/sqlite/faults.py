"""Which SQLite errors mean "the database is unavailable for now" and which are bugs."""

import sqlite3

# Primary result codes of conditions outside the program that can pass by themselves: a
# full disk, a read-only file or file system, another connection holding a lock, an I/O
# error, a file that cannot be opened (its directory lost its permissions). Anything else
# an OperationalError carries (SQLITE_ERROR: "no such column", a syntax error...) is a bug
# that fails the same way on every retry.
UNAVAILABLE_CODES = frozenset(
    {
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CANTOPEN,
    }
)
# Extended result codes (SQLITE_IOERR_WRITE, SQLITE_BUSY_SNAPSHOT...) keep the primary code
# in their low byte.
_PRIMARY_CODE_MASK = 0xFF


def is_unavailable(error: sqlite3.Error) -> bool:
    """Tell whether a failed operation may succeed later unchanged (pause and retry it)."""
    code: int | None = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & _PRIMARY_CODE_MASK in UNAVAILABLE_CODES
