"""The ledger says how a unit was identified when it was marked used: scanned (with the
label's format), typed, or chosen from the list, so a recall investigation can tell a scanned
implant from a clicked one."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from events.services.usage import event_mark_used
from inventory.models import CustodyEntry, EntryKind
from tests.events.factories import open_event
from tests.inventory.factories import ProductFactory, receive_units
from tests.pages import seen_on

pytestmark = pytest.mark.django_db

GTIN = "09506000134352"


@pytest.fixture
def units(org, admin_user, rep):
    product = ProductFactory(organization=org, gtin=GTIN)
    return receive_units(admin_user, rep, n=4, product=product, serial_prefix="R-")


def _marked_how(unit):
    entry = CustodyEntry.objects.get(unit=unit, kind=EntryKind.MARKED_USED)
    return entry.identified_by


@pytest.mark.parametrize(
    ("post", "how"),
    [
        (lambda units: {"scan": f"(01){GTIN}(21)R-1"}, "scan:gs1"),
        (lambda units: {"scan": f"https://id.gs1.org/01/{GTIN}/21/R-1"}, "scan:gs1-digital-link"),
        (lambda units: {"scan": "R-1"}, "typed"),
        (lambda units: {"unit": [units[0].pk]}, "list"),
    ],
    ids=["GS1 label", "Digital Link", "typed serial", "ticked in the list"],
)
def test_the_marked_used_entry_says_how_the_unit_was_identified(client, rep, units, post, how):
    case = open_event(rep)
    client.force_login(rep)
    url = reverse("events:mark_used", args=[case.pk])
    data = post(units)
    if "unit" in data:  # ticked on the page: the form sends what the page showed
        data["seen"] = seen_on(client, url)
    client.post(url, data)

    assert _marked_how(units[0]) == how
    page = client.get(reverse("inventory:unit_detail", args=[units[0].pk])).content.decode()
    label = dict(CustodyEntry._meta.get_field("identified_by").choices)[how]
    assert f'<span data-testid="entry-identified">{label}</span>' in page


def test_the_marked_used_entry_keeps_the_phones_time_apart_from_when_it_was_recorded(rep, units):
    case = open_event(rep)
    on_the_phone = timezone.now() - datetime.timedelta(hours=3)
    before = timezone.now()
    event_mark_used(actor=rep, event=case, unit_ids=[units[0].pk], reported_at=on_the_phone)
    event_mark_used(actor=rep, event=case, unit_ids=[units[1].pk])

    offline = CustodyEntry.objects.get(unit=units[0], kind=EntryKind.MARKED_USED)
    assert offline.reported_at == on_the_phone
    assert offline.at >= before
    online = CustodyEntry.objects.get(unit=units[1], kind=EntryKind.MARKED_USED)
    assert online.reported_at is None


def test_the_units_history_shows_when_an_offline_mark_was_made_beside_when_it_synced(
    client, rep, units
):
    case = open_event(rep)
    on_the_phone = datetime.datetime(2026, 3, 2, 9, 41, tzinfo=datetime.UTC)
    event_mark_used(actor=rep, event=case, unit_ids=[units[0].pk], reported_at=on_the_phone)
    event_mark_used(actor=rep, event=case, unit_ids=[units[1].pk])
    client.force_login(rep)

    offline = client.get(reverse("inventory:unit_detail", args=[units[0].pk])).content.decode()
    online = client.get(reverse("inventory:unit_detail", args=[units[1].pk])).content.decode()

    shown = timezone.localtime(on_the_phone).strftime("%Y-%m-%d %H:%M")
    assert "made offline" in offline and f">{shown}</time> by the phone's clock" in offline
    assert "made offline" not in online
