"""The admins' hold queue: the dashboard counts units on hold; the list shows each unit's decline
reason, who declined it and when; admins release a selection or everything at once."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Notification, NotificationKind
from accounts.selectors import actor_for
from inventory.models import Unit, UnitState
from inventory.selectors.units import units_on_hold
from inventory.services.transfers import transfer_create, transfer_decline
from tests.factories import DistributorFactory, OrganizationFactory, RepFactory, UserFactory
from tests.inventory.factories import receive_units
from tests.pages import seen_on


@pytest.fixture
def cast(org, admin_user):
    dana = DistributorFactory(organization=org, username="dana", display_name="Dana")
    drew = DistributorFactory(organization=org, username="drew", display_name="Drew")
    return {
        "alex": admin_user,
        "dana": dana,
        "drew": drew,
        "riley": RepFactory(organization=org, username="riley", assigned_to=dana),
        "casey": RepFactory(organization=org, username="casey", assigned_to=drew),
    }


def declined(cast, sender, n, *, by="casey", reason="Wrong size", actor=None):
    """`sender`'s n units, sent to casey and declined: on hold with the sender."""
    units = receive_units(cast["alex"], cast[sender], n=n)
    (transfer,) = transfer_create(
        actor=actor or cast[sender], unit_ids=[u.pk for u in units], recipient=cast["casey"]
    )
    transfer_decline(actor=cast[by], transfer=transfer, reason=reason)
    return units, transfer


def hold_ids(body):
    return [int(pk) for pk in re.findall(r'name="unit" value="(\d+)"', body)]


def test_the_admin_dashboard_counts_units_on_hold(client, cast):
    declined(cast, "riley", 3)
    receive_units(cast["alex"], cast["riley"], n=2)  # available: not counted

    client.force_login(cast["alex"])
    body = client.get(reverse("home")).content.decode()
    body = body.split("<main", 1)[1]  # the menu links to the hold queue too

    stat = re.search(
        r'href="' + re.escape(reverse("inventory:hold_list")) + r'".*?display-6[^>]*>(\d+)<',
        body,
        re.S,
    )
    assert stat and stat.group(1) == "3"


def test_only_admins_see_the_count(client, cast):
    declined(cast, "riley", 1)
    client.force_login(cast["dana"])
    assert reverse("inventory:hold_list") not in client.get(reverse("home")).content.decode()


def test_the_list_shows_reason_who_declined_for_whom_and_when(client, cast):
    units, transfer = declined(cast, "riley", 1, by="drew", reason="Recalled lot, not ours")
    client.force_login(cast["alex"])

    body = client.get(reverse("inventory:hold_list")).content.decode()

    assert hold_ids(body) == [units[0].pk]
    row = re.search(rf'<tr data-unit="{units[0].pk}">(.*?)</tr>', body, re.S).group(1)
    assert "Recalled lot, not ours" in row
    assert "Drew for Casey" in row  # drew answered for his rep casey
    assert "Riley" in row  # the holder
    assert reverse("inventory:transfer_detail", args=[transfer.pk]) in row
    entry = units[0].ledger.get(kind="transfer_declined")
    assert entry.at.astimezone().strftime("%Y-%m-%d") in row


def test_the_list_holds_only_units_on_hold_of_the_admins_organization(client, cast):
    held, _ = declined(cast, "riley", 2)
    receive_units(cast["alex"], cast["riley"], n=1)
    stranger = UserFactory(organization=OrganizationFactory(), admin=True)
    client.force_login(stranger)
    assert hold_ids(client.get(reverse("inventory:hold_list")).content.decode()) == []
    client.force_login(cast["alex"])
    assert hold_ids(client.get(reverse("inventory:hold_list")).content.decode()) == [
        u.pk for u in held
    ]


def test_releasing_a_selection_releases_only_those_and_tells_their_holder(client, cast):
    held, _ = declined(cast, "riley", 3)
    client.force_login(cast["alex"])

    response = client.post(
        reverse("inventory:hold_release"),
        {
            "unit": [held[0].pk, held[2].pk],
            "next": reverse("inventory:hold_list"),
            "seen": seen_on(client, reverse("inventory:hold_list")),
        },
    )

    assert response["Location"] == reverse("inventory:hold_list")
    states = dict(Unit.objects.filter(pk__in=[u.pk for u in held]).values_list("pk", "state"))
    assert states == {
        held[0].pk: UnitState.AVAILABLE,
        held[1].pk: UnitState.HOLD,
        held[2].pk: UnitState.AVAILABLE,
    }
    assert Notification.objects.filter(
        user=cast["riley"], kind=NotificationKind.HOLD_RELEASED
    ).exists()


def test_release_all_releases_every_unit_on_hold_of_the_organization(client, cast, settings):
    riley_units, _ = declined(cast, "riley", 2)
    dana_units, _ = declined(cast, "dana", 1)
    client.force_login(cast["alex"])

    client.post(
        reverse("inventory:hold_release"),
        {"all": "1", "seen": seen_on(client, reverse("inventory:hold_list"))},
    )

    assert not Unit.objects.filter(state=UnitState.HOLD).exists()
    assert set(
        Notification.objects.filter(kind=NotificationKind.HOLD_RELEASED).values_list(
            "user__username", flat=True
        )
    ) == {"riley", "dana"}


def test_release_all_takes_at_most_one_selection_and_leaves_the_rest_listed(client, cast, settings):
    settings.MAX_SELECTION = 2
    held, _ = declined(cast, "riley", 3)
    client.force_login(cast["alex"])

    client.post(
        reverse("inventory:hold_release"),
        {"all": "1", "seen": seen_on(client, reverse("inventory:hold_list"))},
    )

    assert list(Unit.objects.filter(state=UnitState.HOLD).values_list("pk", flat=True)) == [
        held[2].pk
    ]


@pytest.mark.parametrize("who", ["dana", "riley"])
def test_the_hold_queue_is_nobody_elses(cast, who):
    declined(cast, "riley", 1)
    assert list(units_on_hold(actor=actor_for(cast[who]))) == []
    assert len(units_on_hold(actor=actor_for(cast["alex"]))) == 1


def test_a_non_admin_cannot_release_everything(client, cast):
    declined(cast, "riley", 1)
    client.force_login(cast["dana"])

    assert client.post(reverse("inventory:hold_release"), {"all": "1"}).status_code == 403
    assert Unit.objects.filter(state=UnitState.HOLD).count() == 1


def test_the_list_pages_by_cursor_with_fixed_queries(client, cast, settings):
    held = []
    for reason in ("a", "b", "c"):
        units, _ = declined(cast, "riley", 25, reason=reason)
        held += units
    client.force_login(cast["alex"])
    url = reverse("inventory:hold_list")

    with CaptureQueriesContext(connection) as first:
        body = client.get(url).content.decode()
    page1 = hold_ids(body)
    next_url = re.search(r'rel="next" href="([^"]+)"', body).group(1).replace("&amp;", "&")
    with CaptureQueriesContext(connection) as second:
        body = client.get(url + next_url).content.decode()
    page2 = hold_ids(body)

    assert len(page1) == 50 and len(page2) == 25
    assert page1 + page2 == sorted(u.pk for u in held)
    assert len(first) == len(second)
    listing = [q["sql"] for q in second.captured_queries if '"state" = ' in q["sql"]]
    assert listing and all("OFFSET" not in sql.upper() for sql in listing)


def test_the_list_reads_only_the_names_of_the_people_it_shows(client, cast):
    """Whole user rows (hash, login times) for the holder, who declined and for whom were most
    of the list's row reading; the page names them and needs nothing else of them."""
    declined(cast, "riley", 2, actor=cast["dana"])
    client.force_login(cast["alex"])
    with CaptureQueriesContext(connection) as ctx:
        body = client.get(reverse("inventory:hold_list")).content.decode()
    assert str(cast["casey"]) in body and len(hold_ids(body)) == 2
    reads = [
        q["sql"]
        for q in ctx.captured_queries
        if 'FROM "inventory_unit"' in q["sql"] or 'FROM "inventory_custodyentry"' in q["sql"]
    ]
    assert len(reads) == 2
    assert all('"password"' not in sql and '"last_login"' not in sql for sql in reads)
