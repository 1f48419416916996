"""What a new user tripped over, one test each (layout on a phone: tests/browser)."""

import datetime
import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.selectors import forget_actor
from events.models import EventStatus, EventType
from inventory.models import Transfer
from inventory.services.transfers import transfer_accept, transfer_create
from tests.events.factories import FacilityFactory, mark_used, open_event, sell_to_facility
from tests.factories import RepFactory
from tests.inventory.factories import ProductFactory, receive_units

pytestmark = pytest.mark.django_db


def set_pooling(distributor, on):
    group = distributor.distributor_group
    group.pooling_enabled = on
    group.save(update_fields=["pooling_enabled"])
    forget_actor(distributor)


def active_tabs(response):
    return [t["label"] for t in response.context["custody_tabs"] if t["active"]]


# --- The custody tabs: the default view is a marked tab -------------------------------------


@pytest.mark.parametrize("who", ["rep", "distributor"])
def test_inventory_without_custody_marks_the_all_tab(client, who, request):
    client.force_login(request.getfixturevalue(who))

    response = client.get(reverse("inventory:unit_list"))

    assert active_tabs(response) == ["All"]
    assert 'aria-current="page" href="?">All</a>' in response.content.decode()


def test_inventory_with_custody_marks_that_tab_only(client, rep, distributor):
    set_pooling(distributor, True)
    client.force_login(rep)

    assert active_tabs(client.get(reverse("inventory:unit_list"), {"custody": "shared"})) == [
        "Shared by Distributor"
    ]


def test_mark_used_without_custody_marks_the_all_tab(client, rep, distributor):
    set_pooling(distributor, True)
    client.force_login(rep)
    event = open_event(rep)

    response = client.get(reverse("events:mark_used", args=[event.pk]))

    assert active_tabs(response) == ["All"]
    labels = [t["label"] for t in response.context["custody_tabs"]]
    assert labels == ["All", "My Custody", "Shared by Distributor", "Both"]


# --- Submitting asks first and says what will happen -----------------------------------------


def _case_with_units(admin, rep):
    single = ProductFactory(organization=rep.organization, single_use=True)
    reusable = ProductFactory(organization=rep.organization, single_use=False)
    units = receive_units(admin, rep, n=2, product=single)
    units += receive_units(admin, rep, n=1, product=reusable)
    event = open_event(rep)
    mark_used(rep, event, units)
    return event


def test_submit_confirmation_says_what_happens_and_changes_nothing(client, admin_user, rep):
    event = _case_with_units(admin_user, rep)
    client.force_login(rep)

    detail = client.get(reverse("events:event_detail", args=[event.pk])).content.decode()
    confirm_url = reverse("events:event_submit_confirm", args=[event.pk])
    assert f'href="{confirm_url}"' in detail
    page = client.get(confirm_url).content.decode()

    assert "2 single-use or facility-stock unit(s) are <strong>consumed</strong>" in page
    assert "1 reusable unit(s) go back to <strong>available</strong>" in page
    assert "you <strong>cannot reopen</strong> it afterwards" in page
    assert f'action="{reverse("events:event_submit", args=[event.pk])}"' in page
    assert "<script" not in page.split("</main>")[0].split('<main class="container-fluid')[1]
    assert " style=" not in page and " onclick=" not in page
    event.refresh_from_db()
    assert event.status == EventStatus.OPEN


def test_submit_confirmation_tells_a_distributor_she_can_reopen(
    client, admin_user, rep, distributor
):
    event = _case_with_units(admin_user, rep)
    client.force_login(distributor)

    page = client.get(reverse("events:event_submit_confirm", args=[event.pk])).content.decode()

    assert "you can reopen it afterwards" in page


def test_submit_confirmation_says_a_stocking_order_cannot_be_reopened(client, distributor):
    order = open_event(distributor, type=EventType.STOCKING_ORDER)
    client.force_login(distributor)

    page = client.get(reverse("events:event_submit_confirm", args=[order.pk])).content.decode()

    assert "become <strong>facility stock</strong>" in page
    assert "a submitted Stocking Order <strong>cannot be reopened</strong>" in page


# --- The receive page: every label points at its own field -----------------------------------


class _IdsAndLabels(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.label_for = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "label" and attrs.get("for"):
            self.label_for.append(attrs["for"])


def test_receive_page_has_unique_ids_and_labels_point_at_them(client, admin_user):
    client.force_login(admin_user)
    parser = _IdsAndLabels()
    parser.feed(client.get(reverse("inventory:receive")).content.decode())

    duplicates = sorted({i for i in parser.ids if parser.ids.count(i) > 1})
    assert duplicates == []
    assert {"id_location", "id_udi-location", "id_custodian", "id_udi-custodian"} <= set(parser.ids)
    assert "id_csv-custodian" in parser.ids
    assert [f for f in parser.label_for if f not in parser.ids] == []


def test_receive_by_scan_reads_its_prefixed_fields(client, admin_user, rep):
    product = ProductFactory(organization=admin_user.organization, gtin="09506000134352")
    client.force_login(admin_user)

    client.post(
        reverse("inventory:receive_udi"),
        {"udi-udi": "(01)09506000134352(21)SCAN-1", "udi-custodian": str(rep.pk)},
    )

    (unit,) = product.units.all()
    assert (unit.serial_number, unit.custodian_id) == ("SCAN-1", rep.pk)


# --- Unit history in words -------------------------------------------------------------------


def test_unit_history_shows_states_in_words(client, admin_user, rep, distributor):
    (unit,) = receive_units(admin_user, distributor, n=1)
    transfer_create(actor=distributor, unit_ids=[unit.pk], recipient=None)
    client.force_login(distributor)

    page = client.get(reverse("inventory:unit_detail", args=[unit.pk])).content.decode()
    history = page.split('data-testid="custody-history"')[1]

    assert "New → Available" in history
    assert "Available → In transit" in history
    assert not re.search(r"\bin_transit\b|\bnew →", history)


# --- A transfer's completion line names whom the person acted for ----------------------------


def test_transfer_completion_names_the_person_acted_for(client, admin_user, rep, distributor):
    (unit,) = receive_units(admin_user, None, n=1)
    (transfer,) = transfer_create(actor=admin_user, unit_ids=[unit.pk], recipient=rep)
    assert transfer.status == Transfer.Status.COMPLETED  # an admin speaks for everyone
    (pending,) = transfer_create(
        actor=rep, unit_ids=[unit.pk], recipient=RepFactory(organization=rep.organization)
    )
    sam = pending.recipient
    sam.display_name = "Sam Rep"
    sam.save()
    # sam has no distributor; an admin accepts on his behalf.
    transfer_accept(actor=admin_user, transfer=pending)
    client.force_login(admin_user)

    page = client.get(reverse("inventory:transfer_detail", args=[pending.pk])).content.decode()

    line = re.search(r'data-testid="transfer-resolution">(.*?)</span>', page).group(1)
    assert line == f"Completed by {admin_user} acting for Sam Rep"


def test_transfer_accepted_by_the_recipient_names_no_one_else(client, admin_user, rep):
    (unit,) = receive_units(admin_user, rep, n=1)
    sam = RepFactory(organization=rep.organization)
    (pending,) = transfer_create(actor=rep, unit_ids=[unit.pk], recipient=sam)
    transfer_accept(actor=sam, transfer=pending)
    client.force_login(sam)

    page = client.get(reverse("inventory:transfer_detail", args=[pending.pk])).content.decode()

    assert re.search(r'data-testid="transfer-resolution">Completed by [^<]*</span>', page)
    assert "acting for" not in page.split('data-testid="transfer-resolution"')[1].split("</p>")[0]


# --- "Facility stock only" keeps the custody filter ------------------------------------------


def test_facility_stock_only_keeps_the_chosen_custody(client, admin_user, rep, distributor):
    set_pooling(distributor, True)
    facility = FacilityFactory(organization=rep.organization)
    dana_units = receive_units(admin_user, distributor, n=2, serial_prefix="DFS-")
    own = receive_units(admin_user, rep, n=1, serial_prefix="RFS-")
    sell_to_facility(distributor, representative=distributor, facility=facility, units=dana_units)
    sell_to_facility(rep, representative=rep, facility=facility, units=own)
    case = open_event(rep, facility=facility)
    client.force_login(rep)
    url = reverse("events:mark_used", args=[case.pk])

    response = client.get(url, {"custody": "shared"})
    toggle = response.context["facility_toggle"]
    assert "custody=shared" in toggle and "facility_stock=1" in toggle

    response = client.get(url, {"custody": "shared", "facility_stock": "1"})
    body = response.content.decode()
    assert active_tabs(response) == ["Shared by Distributor"]
    assert 'data-serial="DFS-' in body and 'data-serial="RFS-' not in body
    assert 'name="custody" value="shared"' in body  # searching keeps it too


# --- Filter errors name the filter -----------------------------------------------------------


def test_filter_errors_name_the_filter(client, distributor):
    client.force_login(distributor)

    response = client.get(reverse("inventory:unit_list"), {"custody": "bogus", "expiry": "x"})

    errors = [str(m) for m in response.context["messages"]]
    assert any(m.startswith("Custody: Select a valid choice") for m in errors), errors
    assert any(m.startswith("Expiry: Select a valid choice") for m in errors), errors


def test_mark_used_filter_errors_name_the_filter(client, rep):
    client.force_login(rep)
    event = open_event(rep)

    response = client.get(reverse("events:mark_used", args=[event.pk]), {"expiry": "x"})

    assert [str(m) for m in response.context["messages"]][0].startswith("Expiry: ")


# --- Transfer recipients leave the sender out ------------------------------------------------


def _recipient_ids(response, candidates):
    """Which of these values (user ids, or "org") the page's recipient picker accepts."""
    from django import forms

    field = response.context["form"].fields["recipient"]
    accepted = set()
    for value in candidates:
        try:
            field.clean(str(value))
        except forms.ValidationError:
            continue
        accepted.add(str(value))
    return accepted


def test_a_rep_is_not_offered_herself_as_recipient(client, admin_user, rep, distributor):
    (unit,) = receive_units(admin_user, rep, n=1)
    sam = RepFactory(organization=rep.organization)
    client.force_login(rep)

    response = client.get(reverse("inventory:transfer_new"), {"unit": unit.pk})
    choices = _recipient_ids(response, [rep.pk, sam.pk, distributor.pk, "org"])

    assert str(rep.pk) not in choices
    assert {str(sam.pk), str(distributor.pk), "org"} <= choices


def test_a_pooled_rep_taking_from_the_pool_is_offered_herself(client, admin_user, rep, distributor):
    set_pooling(distributor, True)
    (unit,) = receive_units(admin_user, distributor, n=1)
    client.force_login(rep)

    response = client.get(reverse("inventory:transfer_new"), {"unit": unit.pk})
    choices = _recipient_ids(response, [rep.pk, distributor.pk])

    assert str(rep.pk) in choices and str(distributor.pk) not in choices
    # The type-ahead asks the endpoint to leave the sender out too.
    assert f"exclude={distributor.pk}" in response.content.decode()


# --- Dashboards count only unexpired units as available stock --------------------------------


def test_dashboard_pool_levels_leave_expired_units_out(client, admin_user, distributor):
    today = timezone.localdate()
    receive_units(admin_user, distributor, n=2, expiration_date=today + datetime.timedelta(30))
    receive_units(admin_user, distributor, n=1, expiration_date=today)  # expires tonight
    receive_units(admin_user, distributor, n=3, expiration_date=today - datetime.timedelta(1))
    receive_units(admin_user, distributor, n=1, lot_number="NOEXP")
    client.force_login(distributor)

    dash = client.get(reverse("home")).context["dash"]

    assert sum(row["units"] for row in dash["pool_levels"]) == 4
    assert dash["expiry"]["expired"] == 3
