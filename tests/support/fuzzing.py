"""Hypothesis for the parsers and the layout resolver: one reproducible profile, and the text
and JSON that reach them from staff, upstream feeds and operators."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st


def bounded(examples: int):
    """Reproducible in CI: derandomised, no example database, no deadline (a loaded machine
    is slow, not wrong)."""
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# What breaks text handling: combining marks, right-to-left text and its overrides, zero-width
# joiners and spaces, soft hyphens, emoji sequences, astral planes, controls and line breaks.
AWKWARD = (
    "\u0301", "\u0336", "\u20dd", "\u05d0\u05d1", "\u0627\u0644\u0639", "\u202e", "\u2066",
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\U0001f469\u200d\U0001f467",
    "\U0001f1f3\U0001f1f1", "\U0001d518", "\U00020000", "\U0010fffd", "\x00", "\x1b", "\n",
    "\r\n", "\t", "\u2028", "\u3000", "\ufffd", "W" * 40, "ﷺ", "\u0e01\u0e34\u0e4a",
)
pieces = st.one_of(st.characters(codec="utf-8"), st.sampled_from((*AWKWARD, " ")))
texts = st.lists(pieces, max_size=120).map("".join)
short_texts = st.lists(pieces, max_size=16).map("".join)



def _xml_legal(char: str) -> bool:
    code = ord(char)
    return char in "\t\n\r" or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD \
        or code >= 0x10000


# texts an XML 1.0 document can carry (no controls but tab and line breaks, no U+FFFE/FFFF)
xml_texts = texts.map(lambda text: "".join(filter(_xml_legal, text)))

scalars = st.one_of(st.none(), st.booleans(), st.integers(),
                    st.floats(allow_nan=False, allow_infinity=False), short_texts)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(short_texts, inner, max_size=4)),
    max_leaves=12,
)


def objects_with(keys: tuple[str, ...], values=json_values):
    """JSON objects whose keys are mostly the ones a parser knows, with any values."""
    return st.dictionaries(st.one_of(st.sampled_from(keys), short_texts), values, max_size=8)
