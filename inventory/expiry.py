"""The expiry windows, defined once: the unit list's expiry filter, the dashboards' counts and
the pool levels all ask here, so a number on a dashboard is the length of the list it links to.

A unit is expired the day after its expiration date. "Within 30 days" runs from today through
today + 30 inclusive, "within 90 days" through today + 90 (it includes the 30-day window),
"later" is anything after that.
"""

from __future__ import annotations

import datetime

from django.db.models import Q

WITHIN_30 = 30
WITHIN_90 = 90

EXPIRY_CHOICES = [
    ("expired", "Expired"),
    ("30", f"Expires within {WITHIN_30} days"),
    ("90", f"Expires within {WITHIN_90} days"),
    ("later", f"Expires after {WITHIN_90} days"),
    ("none", "No expiry date"),
]


def _through(today: datetime.date, days: int) -> Q:
    return Q(expiration_date__gte=today, expiration_date__lte=today + datetime.timedelta(days=days))


def expiry_q(window: str, *, today: datetime.date) -> Q:
    """Units in one expiry window (a value of EXPIRY_CHOICES), as a filter on units."""
    return {
        "expired": lambda: Q(expiration_date__lt=today),
        "30": lambda: _through(today, WITHIN_30),
        "90": lambda: _through(today, WITHIN_90),
        "later": lambda: Q(expiration_date__gt=today + datetime.timedelta(days=WITHIN_90)),
        "none": lambda: Q(expiration_date__isnull=True),
    }[window]()


def unexpired_q(*, today: datetime.date) -> Q:
    """Units that may still be used today: no expiry date, or one not yet passed."""
    return ~expiry_q("expired", today=today)
