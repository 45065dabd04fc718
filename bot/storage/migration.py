"""One step of a backend's forward-only schema (SQLite's and PostgreSQL's alike)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    """One forward-only schema step, applied in the transaction that records it."""

    name: str
    statements: tuple[str, ...]
