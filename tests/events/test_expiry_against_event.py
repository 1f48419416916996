"""Mark Used judges expiry against the event's date, not today (README, "Events")."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from events import policies
from inventory.models import UnitState
from tests.events.factories import mark_used, open_event
from tests.inventory.factories import receive_units


def at(days):
    return timezone.now() + datetime.timedelta(days=days)


def day(days):
    return timezone.localdate() + datetime.timedelta(days=days)


def test_a_case_recorded_late_may_use_a_unit_that_expired_since_the_surgery(admin_user, rep):
    (unit,) = receive_units(admin_user, rep, n=1, expiration_date=day(-3))
    case = open_event(rep, scheduled_at=at(-10))
    mark_used(rep, case, [unit])
    unit.refresh_from_db()
    assert unit.state == UnitState.ALLOCATED


def test_a_unit_that_expires_before_a_future_event_is_refused(admin_user, rep):
    (unit,) = receive_units(admin_user, rep, n=1, expiration_date=day(5), serial_prefix="EXP-")
    case = open_event(rep, scheduled_at=at(10))
    with pytest.raises(ValidationError) as info:
        mark_used(rep, case, [unit])
    assert f"EXP-1 expired on {day(5):%Y-%m-%d}, before the event's date" in " ".join(
        info.value.messages
    )


def test_a_unit_expiring_on_the_event_day_is_usable(admin_user, rep):
    (unit,) = receive_units(admin_user, rep, n=1, expiration_date=day(10))
    mark_used(rep, open_event(rep, scheduled_at=at(10)), [unit])


@pytest.mark.parametrize("expires_in, warned", [(0, True), (30, True), (31, False), (None, False)])
def test_a_warning_within_30_days_after_the_event(admin_user, rep, expires_in, warned):
    case = open_event(rep, scheduled_at=at(-20))
    expiry = (
        None
        if expires_in is None
        else timezone.localdate(case.scheduled_at) + (datetime.timedelta(days=expires_in))
    )
    (unit,) = receive_units(admin_user, rep, n=1, expiration_date=expiry)
    assert (policies.unit_use_warning(event=case, unit=unit) is not None) is warned
