"""Where a move starts: "Move selected" on the unit list (the selected units go to the move
page, which only shows them until a location is chosen) and "Move" on a unit's page, shown to
whoever may move that unit (inventory.policies.can_move_unit)."""

import pytest
from django.urls import reverse

from inventory.models import CustodyEntry, EntryKind, Unit
from tests.events.factories import mark_used, open_event
from tests.inventory.factories import LocationFactory, receive_units
from tests.pages import seen_fields

MOVE = reverse("inventory:unit_move")


@pytest.fixture
def places(org, distributor, rep):
    return {
        "warehouse": LocationFactory(organization=org, holder=distributor, name="D warehouse"),
        "bin": LocationFactory(organization=org, holder=distributor, name="D bin", kind="bin"),
        "trunk": LocationFactory(organization=org, holder=rep, name="R trunk", kind="trunk"),
    }


def test_the_unit_list_posts_the_selection_to_the_move_page(client, distributor):
    client.force_login(distributor)
    body = client.get(reverse("inventory:unit_list")).content.decode()
    assert 'id="move-selected"' in body
    assert f'formaction="{MOVE}"' in body


def test_selected_units_arrive_on_the_move_page_without_moving(
    client, admin_user, distributor, places
):
    units = receive_units(admin_user, distributor, n=2, location=places["warehouse"])
    client.force_login(distributor)

    response = client.post(MOVE, {"unit": [u.pk for u in units]})

    assert response.status_code == 200
    assert [u.pk for u in response.context["units"]] == [u.pk for u in units]
    assert not response.context["form"].errors
    offered = set(response.context["form"].fields["to_location"].queryset)
    assert offered == {places["warehouse"], places["bin"]}  # the holder's, not the rep's trunk
    assert not CustodyEntry.objects.filter(kind=EntryKind.MOVED).exists()

    (seen,) = seen_fields(response.content.decode())
    client.post(
        MOVE, {"unit": [u.pk for u in units], "to_location": places["bin"].pk, "seen": seen}
    )
    assert set(Unit.objects.values_list("location_id", flat=True)) == {places["bin"].pk}


def test_a_unit_page_offers_move_to_whoever_may_move_it(client, admin_user, distributor, places):
    spare, used = receive_units(admin_user, distributor, n=2, location=places["warehouse"])
    mark_used(distributor, open_event(distributor), [used])
    client.force_login(distributor)

    page = client.get(reverse("inventory:unit_detail", args=[spare.pk])).content.decode()
    assert f'href="{MOVE}?unit={spare.pk}"' in page
    # An allocated unit cannot be moved: no button.
    page = client.get(reverse("inventory:unit_detail", args=[used.pk])).content.decode()
    assert 'data-testid="unit-move"' not in page
    # The link prefills the move page with the unit.
    response = client.get(MOVE, {"unit": spare.pk})
    assert [u.pk for u in response.context["units"]] == [spare.pk]
