"""A patient reference reaches only people who may see its case (README, "Roles"): the recall
lookup, its CSV export and the recall page list the cases that used a unit through the case
finder (inventory.hooks, registered by events), which must ask as the viewer. A reusable
unit that went back to stock after a case and then moved to another group shows its new
holder the unit, never the case's patient reference; an admin still sees it."""

import csv
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from events.services.events import event_submit, event_update
from inventory.services.recalls import recall_record
from inventory.services.transfers import transfer_create
from tests.events.factories import mark_used, open_event
from tests.factories import DistributorFactory
from tests.inventory.factories import ProductFactory, receive_units

SECRET = "SECRET-7"
LOT, SERIAL = "LOT-77", "RU-1"


@pytest.fixture
def instrument(org, admin_user, rep):
    """A reusable unit used on the rep's case with patient reference SECRET-7, back in stock
    after the case was submitted, then moved by an admin to a distributor of another group."""
    product = ProductFactory(organization=org, serial_tracked=True, single_use=False)
    (unit,) = receive_units(
        admin_user, rep, n=1, product=product, serial_prefix="RU-", lot_number=LOT
    )
    case = open_event(rep)
    event_update(actor=rep, event=case, patient_ref=SECRET)
    mark_used(rep, case, [unit])
    event_submit(actor=rep, event=case)
    unit.refresh_from_db()
    assert (unit.state, unit.custodian_id) == ("available", rep.pk)
    elsewhere = DistributorFactory(organization=org)
    transfer_create(actor=admin_user, unit_ids=[unit.pk], recipient=elsewhere)
    unit.refresh_from_db()
    assert unit.custodian_id == elsewhere.pk  # an admin speaks for her: done at once
    return {"unit": unit, "product": product, "holder": elsewhere, "case": case}


def _export_text(client, code):
    response = client.get(reverse("inventory:recall_lookup_export"), {"code": code})
    assert response.status_code == 200
    return b"".join(response.streaming_content).decode()


@pytest.mark.parametrize("code", [LOT, SERIAL])
def test_the_lookup_page_shows_the_new_holder_the_unit_but_not_the_old_cases_patient(
    client, admin_user, instrument, code
):
    client.force_login(instrument["holder"])
    page = client.get(reverse("inventory:recall_lookup"), {"code": code})
    assert [u.pk for u in page.context["page"].rows] == [instrument["unit"].pk]
    assert page.context["cases"] == []
    assert SECRET not in page.content.decode()

    client.force_login(admin_user)  # the same lookup shows an admin the case and its patient
    page = client.get(reverse("inventory:recall_lookup"), {"code": code})
    assert [c.patient_ref for c in page.context["cases"]] == [SECRET]
    assert SECRET in page.content.decode()


@pytest.mark.parametrize("code", [LOT, SERIAL])
def test_the_lookup_export_shows_the_new_holder_the_unit_but_not_the_old_cases_patient(
    client, admin_user, instrument, code
):
    client.force_login(instrument["holder"])
    text = _export_text(client, code)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1][2] == SERIAL  # the unit is there...
    assert SECRET not in text  # ...the case that used it before is not
    assert instrument["case"].name not in text

    client.force_login(admin_user)
    assert SECRET in _export_text(client, code)


def test_the_recall_page_shows_the_new_holder_the_unit_but_not_the_old_cases_patient(
    client, admin_user, instrument
):
    recall = recall_record(
        actor=admin_user,
        reference="R-P",
        reason="Coating may flake",
        recall_class="II",
        product=instrument["product"],
        lot_numbers=[LOT],
        recall_date=timezone.localdate(),
    )
    url = reverse("inventory:recall_detail", args=[recall.pk])
    client.force_login(instrument["holder"])
    page = client.get(url)
    assert page.context["progress"].found == 1
    assert page.context["progress"].cases == []
    assert SECRET not in page.content.decode()

    client.force_login(admin_user)
    page = client.get(url)
    assert [c.patient_ref for c in page.context["progress"].cases] == [SECRET]
    assert SECRET in page.content.decode()
