"""Selectors that answer in SQL what a policy answers for one object: they must agree."""

import datetime

import pytest
from django.http import QueryDict
from django.utils import timezone

from accounts.selectors import actor_for
from events.selectors import dashboard
from inventory import policies
from inventory.models import Transfer, Unit
from inventory.selectors.transfers import transfers_waiting_on
from inventory.selectors.units import expiry_counts, filtered_units
from inventory.services.transfers import transfer_create
from tests.factories import DistributorFactory, OrganizationFactory, RepFactory, UserFactory
from tests.inventory.factories import receive_units


@pytest.fixture
def pending(org, admin_user, distributor, rep):
    """Pending transfers to a rep, to her distributor, to another group's rep and to the
    organization, each started by someone who does not answer for the recipient."""
    other_distributor = DistributorFactory(organization=org)
    outsider = RepFactory(organization=org, assigned_to=other_distributor)
    cast = {
        "admin": admin_user,
        "distributor": distributor,
        "rep": rep,
        "same_group_rep": RepFactory(organization=org, assigned_to=distributor),
        "other_distributor": other_distributor,
        "other_group_rep": outsider,
        "unassigned_rep": RepFactory(organization=org),
        "inactive_admin": UserFactory(organization=org, admin=True, is_active=False),
        "other_org_admin": UserFactory(organization=OrganizationFactory(), admin=True),
    }
    sends = {
        "to_rep": (outsider, rep),
        "to_distributor": (outsider, distributor),
        "to_other_group_rep": (rep, outsider),
        "to_org": (rep, None),
    }
    transfers = {}
    for name, (sender, recipient) in sends.items():
        (unit,) = receive_units(admin_user, sender, n=1)
        (transfers[name],) = transfer_create(actor=sender, unit_ids=[unit.pk], recipient=recipient)
        assert transfers[name].status == Transfer.Status.PENDING
    return cast, transfers


@pytest.mark.parametrize(
    ("viewer", "answers"),
    [
        ("admin", {"to_rep", "to_distributor", "to_other_group_rep", "to_org"}),
        ("distributor", {"to_rep", "to_distributor"}),
        ("rep", {"to_rep"}),
        ("same_group_rep", set()),
        ("other_distributor", {"to_other_group_rep"}),
        ("other_group_rep", {"to_other_group_rep"}),
        ("unassigned_rep", set()),
        ("inactive_admin", set()),
        ("other_org_admin", set()),
    ],
)
def test_transfers_waiting_on_me_are_exactly_those_i_may_answer(pending, viewer, answers):
    cast, transfers = pending
    user = cast[viewer]
    actor = actor_for(user)
    waiting = set(transfers_waiting_on(user=user, actor=actor).values_list("pk", flat=True))
    may_answer = {
        name
        for name, t in transfers.items()
        if policies.can_answer_transfer(actor=actor, transfer=t)
    }
    assert may_answer == answers
    assert waiting == {transfers[name].pk for name in answers}


# --- Expiry windows: one definition, read by the list filter, the counts and the dashboard ------

WINDOWS = ("expired", "30", "90", "later", "none")


@pytest.mark.parametrize(
    ("days", "windows"),
    [
        (-1, {"expired"}),
        (0, {"30", "90"}),  # expires today: still usable, so not expired
        (29, {"30", "90"}),
        (30, {"30", "90"}),
        (31, {"90"}),
        (89, {"90"}),
        (90, {"90"}),
        (91, {"later"}),
        (None, {"none"}),
    ],
)
def test_expiry_windows_at_their_boundaries(admin_user, days, windows):
    today = timezone.localdate()
    expiry = None if days is None else today + datetime.timedelta(days=days)
    (unit,) = receive_units(admin_user, None, n=1, expiration_date=expiry)
    actor = actor_for(admin_user)
    scoped = Unit.objects.visible_to(admin_user)

    listed_in = set()
    for window in WINDOWS:
        _, qs, valid = filtered_units(
            params=QueryDict(f"expiry={window}"), actor=actor, queryset=scoped
        )
        assert valid
        if qs.filter(pk=unit.pk).exists():
            listed_in.add(window)
    assert listed_in == windows

    counts = {
        "expired": int("expired" in windows),
        "within_30": int("30" in windows),
        "within_90": int("90" in windows),
    }
    assert expiry_counts(qs=scoped, today=today) == counts
    assert dashboard(user=admin_user, actor=actor)["expiry"] == counts
