"""JSON as the bundle reads it: a key given twice is an error, not "the last one wins".

json.loads keeps the last of two equal keys, so a file could show a reviewer one value and the runtime
another. NaN and Infinity (which json.loads accepts by default) are refused too: no field holds them.
"""

from __future__ import annotations

import json

from nextword.runtime.errors import InputError


def _pairs(pairs: list[tuple[str, object]]) -> dict:
    out = {}
    for key, value in pairs:
        if key in out:
            raise InputError(f"the key {key[:40]!r} appears twice")
        out[key] = value
    return out


def _constant(name: str):
    raise InputError(f"{name} is not a number JSON allows")


def loads(text: str | bytes, what: str):
    """json.loads, refusing duplicate keys and NaN/Infinity; every failure is one InputError naming `what`."""
    try:
        return json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant)
    except InputError as exc:
        raise InputError(f"{what}: {exc}") from None
    except RecursionError:
        raise InputError(f"{what} is nested too deeply") from None
    except (TypeError, ValueError) as exc:  # JSONDecodeError, and int() past sys.get_int_max_str_digits()
        raise InputError(f"{what} is malformed: {str(exc).splitlines()[0][:120]}") from None
