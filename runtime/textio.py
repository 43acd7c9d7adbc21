"""Text in and out of the commands: stdin read as lines in bounded memory, stdout that cannot fail to encode.

Lines end at "\\n", "\\r\\n", "\\r" and the other ends str.splitlines knows ("\\u2028", "\\x85", ...): a file
saved on Windows or an old Mac gives the same words as on Linux, never "the\\r". A line longer than
MAX_LINE_CHARS is refused (exit 2) after reading at most that much of it: the input is read in blocks, never
a line at a time, so one 1 GB line costs a few MB, not a MemoryError.
"""

from __future__ import annotations

import codecs
import sys
from collections.abc import Iterator

from nextword.runtime.errors import InputError

MAX_LINE_CHARS = 1 << 20  # 1 MiB of text per input line: far beyond any prompt
READ_CHARS = 1 << 16


def read_lines(stream=None, *, max_chars: int = MAX_LINE_CHARS) -> Iterator[str]:
    """Each line of `stream` (default sys.stdin) without its line end. Bytes are decoded as the stream's encoding;
    what is available is used at once (read1), so an interactive caller sees each line as it is typed."""
    stream = sys.stdin if stream is None else stream
    binary = getattr(stream, "buffer", None)
    if binary is not None and hasattr(binary, "read1"):
        encoding = getattr(stream, "encoding", None) or "utf-8"
        decoder = codecs.getincrementaldecoder(encoding)("strict")

        def read() -> str:
            data = binary.read1(READ_CHARS)
            try:
                return decoder.decode(data, final=not data)
            except UnicodeDecodeError as exc:
                raise InputError(f"stdin is not {encoding} text (bad byte at offset {exc.start} of a block)") from None

    else:  # a text stream without bytes beneath (io.StringIO in tests, an embedding app's own stream)
        encoding = getattr(stream, "encoding", None) or "utf-8"

        def read() -> str:
            try:
                return stream.read(READ_CHARS)
            except UnicodeDecodeError as exc:
                raise InputError(f"stdin is not {exc.encoding} text (bad byte at offset {exc.start})") from None

    pending, number = "", 0
    while True:
        block = read()
        pending += block
        lines = pending.splitlines(keepends=True)
        # The last piece may be a line still being read, or end in a "\r" whose "\n" is in the next block.
        keep = lines.pop() if block and lines else ""
        if keep.endswith("\n"):
            lines.append(keep)
            keep = ""
        for line in lines:
            number += 1
            text = line.rstrip("\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
            if len(text) > max_chars:
                raise _too_long(number, max_chars)
            yield text
        pending = keep
        if len(pending) > max_chars:
            raise _too_long(number + 1, max_chars)
        if not block:
            return


def _too_long(number: int, max_chars: int) -> InputError:
    return InputError(f"stdin line {number} is longer than {max_chars} characters; split it into shorter inputs")


def safe_output(stream=None) -> None:
    """Make `stream` (default sys.stdout) write what its encoding cannot hold as escapes ("\\udcff", "\\xe9")
    instead of raising UnicodeEncodeError: vocabulary words may hold lone surrogates, terminals may be ASCII."""
    stream = sys.stdout if stream is None else stream
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        try:
            reconfigure(errors="backslashreplace")
        except (ValueError, OSError):  # a stream that cannot change its errors handler: leave it
            pass
