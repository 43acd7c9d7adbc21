"""`nextword export` (and `nextword bench`): argument parsing only."""

from __future__ import annotations


def register(subparsers) -> None:
    pass
