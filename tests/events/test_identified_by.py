"""The ledger says how a unit was identified when it was marked used: scanned (with the
label's format), typed, or chosen from the list, so a recall investigation can tell a scanned
implant from a clicked one."""

import pytest
from django.urls import reverse

from inventory.models import CustodyEntry, EntryKind
from tests.events.factories import open_event
from tests.inventory.factories import ProductFactory, receive_units

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
    client.post(reverse("events:mark_used", args=[case.pk]), post(units))

    assert _marked_how(units[0]) == how
    page = client.get(reverse("inventory:unit_detail", args=[units[0].pk])).content.decode()
    label = dict(CustodyEntry._meta.get_field("identified_by").choices)[how]
    assert f'<span data-testid="entry-identified">{label}</span>' in page
