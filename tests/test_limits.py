"""A selection over the limit gets a page that names the limit, never a bare 400, and changes
nothing; Django's own field cap and the app's cap agree."""

import pytest
from django.conf import settings
from django.urls import reverse

from events.models import EventLine
from inventory.models import Transfer, Unit, UnitState
from tests.events.factories import open_event
from tests.inventory.factories import receive_units
from tests.pages import transfer_seen


def test_the_two_caps_agree():
    assert settings.MAX_SELECTION < settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    # Headroom for a form's other fields, but not so much that Django's cap is meaningless.
    assert settings.DATA_UPLOAD_MAX_NUMBER_FIELDS <= settings.MAX_SELECTION + 200


@pytest.fixture
def one_unit(admin_user, rep):
    return receive_units(admin_user, rep, n=1, serial_prefix="R-")[0]


def _over(count, real_id):
    return [str(real_id)] * count


@pytest.mark.parametrize(
    "count",
    [
        # Reaches the view: the app's own cap.
        settings.MAX_SELECTION + 1,
        # Over Django's DATA_UPLOAD_MAX_NUMBER_FIELDS: refused before the view.
        settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 5,
    ],
)
def test_a_transfer_of_too_many_units_names_the_limit_and_sends_nothing(
    client, rep, one_unit, distributor, count
):
    client.force_login(rep)
    response = client.post(
        reverse("inventory:transfer_new"),
        {"unit": _over(count, one_unit.pk), "recipient": str(distributor.pk), "send": "1"},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "at most 1,000" in body and "Nothing was changed" in body
    assert "Bad Request" not in body
    assert not Transfer.objects.exists()
    one_unit.refresh_from_db()
    assert one_unit.state == UnitState.AVAILABLE


def test_exactly_the_limit_is_accepted(client, rep, one_unit, distributor):
    client.force_login(rep)
    response = client.post(
        reverse("inventory:transfer_new"),
        {
            "unit": _over(settings.MAX_SELECTION, one_unit.pk),
            "recipient": str(distributor.pk),
            "send": "1",
            "seen": transfer_seen(client, [one_unit.pk]),
        },
    )
    assert response.status_code == 302
    assert Transfer.objects.count() == 1


def test_marking_too_many_units_used_names_the_limit(client, rep, one_unit):
    event = open_event(rep)
    client.force_login(rep)
    response = client.post(
        reverse("events:mark_used", args=[event.pk]),
        {"unit": _over(settings.MAX_SELECTION + 1, one_unit.pk)},
    )
    assert response.status_code == 400
    assert "at most 1,000" in response.content.decode()
    assert not EventLine.objects.exists()


def test_releasing_too_many_from_hold_names_the_limit(client, admin_user, one_unit):
    client.force_login(admin_user)
    response = client.post(
        reverse("inventory:hold_release"), {"unit": _over(settings.MAX_SELECTION + 1, one_unit.pk)}
    )
    assert response.status_code == 400
    assert "at most 1,000" in response.content.decode()
    assert Unit.objects.get(pk=one_unit.pk).ledger_seq == one_unit.ledger_seq
