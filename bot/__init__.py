"""Newshound: Telegram news alerts from RSS and Atom feeds."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("newshound")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
