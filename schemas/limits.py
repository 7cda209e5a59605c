"""What any upstream value must be before it is stored: the limits, defined once.

Every source's contract (and the stored row models in `rows.py`) uses these, so one
record that would not fit the store is quarantined with a reason instead of failing
the insert and, with it, the source's whole payload:

- model ids (and other keys: providers, slugs, links) are at most `MODEL_ID_MAX_LENGTH`
  characters, none of them a control, format (bidi overrides, zero-width), surrogate,
  private-use or line/paragraph separator character: ids become snapshot keys and are
  printed on terminals;
- display text (a model's name, a quantization label) is cleaned of the same characters
  and cut to `LABEL_MAX_LENGTH` rather than refused: it is never a key;
- numbers are finite and fit their column: DOUBLE for observations, DECIMAL(38, 18) for
  prices, BIGINT for counts and context lengths;
- timestamps lie within `TIMESTAMP_MIN`..`TIMESTAMP_MAX`;
- a JSON document nests at most `MAX_JSON_DEPTH` levels (the deepest real payload nests
  five), so nothing downstream can recurse out of stack on it.
"""

from __future__ import annotations

import sys
import unicodedata
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

MODEL_ID_MAX_LENGTH = 256
LABEL_MAX_LENGTH = 512
REASON_MAX_LENGTH = 500
NUMBER_STRING_MAX_LENGTH = 64  # a decimal string longer than this is not a price
MAX_JSON_DEPTH = 64

BIGINT_MIN = -(2**63)
BIGINT_MAX = 2**63 - 1
DOUBLE_MAX = sys.float_info.max
DECIMAL_DIGITS, DECIMAL_SCALE = 38, 18  # DECIMAL(38, 18): under 10**20 in magnitude
DECIMAL_LIMIT = Decimal(10) ** (DECIMAL_DIGITS - DECIMAL_SCALE)

TIMESTAMP_MIN = datetime(1970, 1, 1, tzinfo=timezone.utc)
TIMESTAMP_MAX = datetime(2200, 1, 1, tzinfo=timezone.utc)

# Unicode categories never allowed in an id: Cc control (NUL, ESC, ...), Cf format (bidi
# overrides and isolates, zero-width characters), Cs surrogates, Co private use, and the
# line and paragraph separators.
FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})


def _bad_char(text: str) -> str | None:
    if text.isascii() and text.isprintable():  # nearly every id: no character to look up
        return None
    for char in text:
        if unicodedata.category(char) in FORBIDDEN_CATEGORIES:
            return char
    return None


def check_model_id(value: str) -> str:
    """An id fit to be stored and become a snapshot key, or ValueError saying why not."""
    if not isinstance(value, str):
        raise ValueError(f"id must be a string, not {type(value).__name__}")
    if not value:
        raise ValueError("id is empty")
    if len(value) > MODEL_ID_MAX_LENGTH:
        raise ValueError(f"id is {len(value)} characters long (at most {MODEL_ID_MAX_LENGTH})")
    bad = _bad_char(value)
    if bad is not None:
        raise ValueError(f"id contains the control or format character U+{ord(bad):04X}")
    return value


def clean_label(value: str) -> str:
    """Display text without control and format characters, cut to `LABEL_MAX_LENGTH`."""
    value = value[: LABEL_MAX_LENGTH * 2]
    if _bad_char(value) is not None:
        value = "".join(c for c in value if unicodedata.category(c) not in FORBIDDEN_CATEGORIES)
    return value[:LABEL_MAX_LENGTH]


def printable(value: Any, limit: int = MODEL_ID_MAX_LENGTH) -> str:
    """Any value as safe one-line text for a log, a reason or a quarantine row."""
    return clean_label(value if isinstance(value, str) else repr(value))[:limit]


def check_count(value: Any) -> Any:
    """An integer (not a bool, not a float) that fits BIGINT."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be an integer count")
    if not BIGINT_MIN <= value <= BIGINT_MAX:
        raise ValueError("integer out of range (BIGINT)")
    return value


def check_double(value: Any) -> Any:
    """A number that is finite as a DOUBLE (ints included: 10**400 is not)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("must be a number")
    try:
        as_float = float(value)
    except OverflowError:
        raise ValueError("number out of range (DOUBLE)") from None
    if as_float != as_float or abs(as_float) > DOUBLE_MAX:
        raise ValueError("number is not finite")
    return value


def check_decimal(value: Decimal, scale: Decimal | int = 1) -> Decimal:
    """A finite decimal that, multiplied by `scale`, fits DECIMAL(38, 18).

    Judged by exponents, so a value like 1e1000000000 is refused without the arithmetic
    that would raise decimal.Overflow."""
    if not value.is_finite():
        raise ValueError(f"number {printable(str(value), 40)} is not finite")
    if value and value.adjusted() + Decimal(scale).adjusted() >= DECIMAL_DIGITS - DECIMAL_SCALE:
        raise ValueError(f"number {printable(str(value), 40)} out of range (DECIMAL(38, 18))")
    return value


def check_decimal_string(value: str) -> str:
    if len(value) > NUMBER_STRING_MAX_LENGTH:
        raise ValueError(f"number string is {len(value)} characters long")
    return value


def check_day(value: str) -> str:
    """A calendar day as `YYYY-MM-DD` within the timestamp range."""
    try:
        day = date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"{printable(value, 40)} is not a calendar date") from None
    if not TIMESTAMP_MIN.date() <= day < TIMESTAMP_MAX.date():
        raise ValueError(f"date {value} out of range")
    return value


def check_timestamp(value: datetime) -> datetime:
    """An aware (or UTC) timestamp within `TIMESTAMP_MIN`..`TIMESTAMP_MAX`."""
    try:
        aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        inside = TIMESTAMP_MIN <= aware < TIMESTAMP_MAX
    except (OverflowError, ValueError):
        inside = False
    if not inside:
        raise ValueError(f"timestamp {printable(str(value), 40)} out of range")
    return value


def _decimal_in_range(value: Decimal) -> Decimal:
    return check_decimal(value)


# Annotated types for the contracts and the row models.
ModelId = Annotated[str, AfterValidator(check_model_id)]
Label = Annotated[str, AfterValidator(clean_label)]
Count = Annotated[int, BeforeValidator(check_count), Field(ge=0)]
BigInt = Annotated[int, BeforeValidator(check_count)]
Double = Annotated[float, BeforeValidator(check_double), Field(allow_inf_nan=False)]
StoredDecimal = Annotated[Decimal, AfterValidator(_decimal_in_range)]
Timestamp = Annotated[datetime, AfterValidator(check_timestamp)]


def json_too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a decoded JSON value nests deeper than `limit` (iterative: never recurses)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
