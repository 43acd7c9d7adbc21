"""`nextword predict|generate|evaluate`: argument parsing only."""

from __future__ import annotations


def register(subparsers) -> None:
    pass
