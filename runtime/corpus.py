"""Reading the training text: a user's file, or a real corpus that ships with Python itself."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from nextword.runtime.errors import InputError
from nextword.runtime.files import read_regular_file

EMBEDDED_CORPUS = "python-docs"  # pydoc_data.topics: ~65k words of real English prose, no download


@dataclass(frozen=True)
class Corpus:
    name: str  # the path, or EMBEDDED_CORPUS
    text: str
    sha256: str


def embedded_text() -> str:
    """Python's own help-topic pages: real prose that every CPython install carries."""
    from pydoc_data.topics import topics

    return "\n\n".join(topics[key] for key in sorted(topics))


def load_corpus(path: str | Path | None = None) -> Corpus:
    if path is None:
        text = embedded_text()
        return Corpus(EMBEDDED_CORPUS, text, hashlib.sha256(text.encode("utf-8")).hexdigest())
    path = Path(path)
    raw = read_regular_file(path, "corpus")  # a FIFO or /dev/zero is refused, not read forever
    if not raw.strip():
        raise InputError(f"corpus {path} is empty")
    if b"\x00" in raw:  # text never holds NUL; images, archives and models do (anywhere, as the streamed path)
        raise InputError(f"corpus {path} looks binary (it contains NUL bytes); give a UTF-8 text file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"corpus {path} is not UTF-8 (bad byte at offset {exc.start})") from None
    return Corpus(str(path), text, hashlib.sha256(raw).hexdigest())
