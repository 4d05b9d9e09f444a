"""Numbers in the reader's locale (Babel), shared by chat texts and rendered documents.

No aiogram, no database: `format_percent(Decimal("57.14"), "vi") -> "57,14%"`,
`format_percent(Decimal("57.14"), "en") -> "57.14%"`. The locale defaults to the current one.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from bot.i18n import current_locale


def format_decimal(
    value: int | float | Decimal | Fraction, locale: str | None = None, *, places: int | None = None
) -> str:
    """1234 -> "1.234" (vi) / "1,234" (en); 7.5 -> "7,5" / "7.5"; `places` fixes the decimals."""
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    from babel.numbers import format_decimal as _babel_decimal  # imported when a number is first shown

    pattern = "#,##0." + "0" * places if places else ("#,##0" if places == 0 else "#,##0.##")
    return _babel_decimal(value, format=pattern, locale=locale or current_locale())


def format_percent(value: int | float | Decimal | Fraction, locale: str | None = None, *, places: int = 2) -> str:
    """A percentage already in percent units (57.14 for 57.14%): "57,14%" (vi) / "57.14%" (en)."""
    return format_decimal(value, locale, places=places) + "%"
