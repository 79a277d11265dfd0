"""JSON from outside, parsed with bounds: nesting depth, number length, finite numbers only.

Python's parser would otherwise raise RecursionError on deep nesting, ValueError on integers
over 4300 digits, and accept NaN and Infinity that no JSON consumer downstream can read. Request
bodies and the national list both come through here; each caller names the problem its way.
"""

from __future__ import annotations

import json

# An alert is four levels deep (children[0].description.nl), a national list entry three.
MAX_DEPTH = 16
MAX_NUMBER_CHARS = 40


class OddJson(ValueError):
    """Valid-looking JSON the server will not turn into values; the message says what."""


def _number(text: str) -> int | float:
    if len(text) > MAX_NUMBER_CHARS:
        raise OddJson(f"has a number longer than {MAX_NUMBER_CHARS} characters")
    if any(c in text for c in ".eE"):
        value = float(text)
        if value in (float("inf"), float("-inf")):
            raise OddJson(f"has {text}, which is not a finite number")
        return value
    return int(text)


def _constant(name: str) -> None:
    raise OddJson(f"has {name}, which JSON does not allow")


def bounded_json(data: bytes | str) -> object:
    """Like `json.loads`, raising OddJson for deep nesting, long numbers and non-finite ones;
    UnicodeDecodeError and json.JSONDecodeError as json does."""
    too_deep = f"is nested deeper than {MAX_DEPTH} levels"
    try:
        value = json.loads(data, parse_int=_number, parse_float=_number,
                           parse_constant=_constant)
    except RecursionError:
        raise OddJson(too_deep) from None
    if _depth(value) > MAX_DEPTH:
        raise OddJson(too_deep)
    return value


def _depth(value: object) -> int:
    """How deep lists and objects nest, counted without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1)
                         for child in (item.values() if isinstance(item, dict) else item))
    return deepest
