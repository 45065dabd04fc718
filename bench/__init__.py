"""Newshound's benchmark suite: run with `python -m bench` (or `make bench`)."""
