"""A case that used a unit an active recall names is flagged for the surgeon: on the event
page, in the usage CSV, and on the recall page (facility, surgeon, date, patient reference),
whether the recall was recorded while the case was open or after it was submitted."""

import csv
import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from events.services.events import event_submit
from inventory.services.recalls import recall_record, recall_withdraw
from tests.events.factories import FacilityFactory, PhysicianFactory, mark_used, open_event
from tests.inventory.factories import ProductFactory, receive_units

FLAG = "Recalled: R-77 — tell the surgeon"


def record(admin, product, lots):
    return recall_record(
        actor=admin,
        reference="R-77",
        reason="Sterile barrier may be breached",
        recall_class="I",
        product=product,
        lot_numbers=lots,
        recall_date=datetime.date(2026, 3, 1),
    )


@pytest.fixture
def case(org, admin_user, rep):
    """A case that used one unit of lot BAD and one of lot GOOD (not yet recalled)."""
    product = ProductFactory(organization=org, lot_tracked=True)
    (bad,) = receive_units(admin_user, rep, n=1, product=product, lot_number="BAD")
    (good,) = receive_units(admin_user, rep, n=1, product=product, lot_number="GOOD")
    event = open_event(
        rep,
        physician=PhysicianFactory(organization=org, name="Dr. Hale"),
        facility=FacilityFactory(organization=org, name="St. Mary's"),
    )
    event.patient_ref = "PT-42"
    event.save(update_fields=["patient_ref"])
    mark_used(rep, event, [bad, good])
    return {"event": event, "product": product, "bad": bad, "good": good}


def _csv_rows(client, event):
    response = client.get(reverse("events:usage_csv", args=[event.pk]))
    return list(csv.DictReader(io.StringIO(response.content.decode())))


@pytest.mark.parametrize("recorded", ["while_open", "after_submit"])
def test_a_submitted_case_flags_the_recalled_line_for_the_surgeon(
    client, admin_user, rep, case, recorded
):
    if recorded == "while_open":
        record(admin_user, case["product"], ["BAD"])
    event_submit(actor=rep, event=case["event"])
    if recorded == "after_submit":
        record(admin_user, case["product"], ["BAD"])
    client.force_login(rep)

    page = client.get(reverse("events:event_detail", args=[case["event"].pk]))
    assert page.content.decode().count(FLAG) == 1
    flagged = [ln.unit_id for ln in page.context["summary"]["recalled"]]
    assert flagged == [case["bad"].pk]

    rows = {r["lot_number"]: r["recall"] for r in _csv_rows(client, case["event"])}
    assert rows == {"BAD": FLAG, "GOOD": ""}


def test_a_withdrawn_recall_no_longer_flags_the_line(client, admin_user, rep, case):
    recall = record(admin_user, case["product"], ["BAD"])
    event_submit(actor=rep, event=case["event"])
    recall_withdraw(actor=admin_user, recall=recall, reason="Wrong lot")
    client.force_login(rep)
    page = client.get(reverse("events:event_detail", args=[case["event"].pk]))
    assert FLAG not in page.content.decode()
    assert {r["recall"] for r in _csv_rows(client, case["event"])} == {""}


def test_the_recall_page_lists_the_submitted_case_with_what_the_surgeon_needs(
    client, admin_user, rep, case
):
    event_submit(actor=rep, event=case["event"])
    recall = record(admin_user, case["product"], ["BAD"])
    client.force_login(admin_user)
    response = client.get(reverse("inventory:recall_detail", args=[recall.pk]))
    (use,) = response.context["progress"].cases
    assert (use.event_id, use.is_open) == (case["event"].pk, False)
    assert (use.facility, use.surgeon, use.patient_ref) == ("St. Mary's", "Dr. Hale", "PT-42")
    body = response.content.decode()
    day = timezone.localtime(case["event"].scheduled_at).strftime("%Y-%m-%d")
    for text in ("St. Mary&#x27;s", "Dr. Hale", "PT-42", day):
        assert text in body
