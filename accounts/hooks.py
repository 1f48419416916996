"""Questions accounts asks of the apps built on it, without importing them.

Imports run events -> inventory -> accounts. When an accounts rule needs a fact only a higher
app knows ("does this user still hold stock?"), the higher app registers the answer in its
AppConfig.ready() and accounts asks here.
"""

from __future__ import annotations

from collections.abc import Callable

from .models import User

StockCheck = Callable[..., bool]

_stock_checks: list[StockCheck] = []


def register_stock_check(check: StockCheck) -> None:
    """Register `check(*, holder) -> bool`: True while the holder has stock in that app."""
    if check not in _stock_checks:
        _stock_checks.append(check)


def holds_stock(*, holder: User) -> bool:
    """Does any registered app say this user still holds stock?"""
    return any(check(holder=holder) for check in _stock_checks)
