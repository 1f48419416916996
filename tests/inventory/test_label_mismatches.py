"""A scan refused because its label disagrees with the unit's record is kept (LabelMismatch):
who scanned, when, in which box and on which case, the label's values beside the record's. It
still changes no unit and no ledger entry. Admins, and only they, list them and mark them
resolved; a unit's page tells an admin when it has open ones."""

import datetime
import html
import re

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from accounts.selectors import actor_for
from inventory.models import CustodyEntry, LabelMismatch, Transfer, Unit
from inventory.selectors.mismatches import label_mismatches
from inventory.selectors.scans import units_from_scan
from inventory.services.scans import label_mismatch_resolve, record_label_mismatches
from inventory.udi import hibc_check_character
from tests.events.factories import open_event
from tests.factories import OrganizationFactory, RepFactory, UserFactory
from tests.inventory.factories import ProductFactory, receive_units, record_mismatch

pytestmark = pytest.mark.django_db

GTIN = "09506000134352"
EXPIRY = datetime.date(2030, 1, 31)
AGREES = f"(01){GTIN}(17)300131(10)L26102(21)R-1"
# Lot and expiry disagree with the record; GTIN and serial agree.
DISAGREES = f"(01){GTIN}(17)291231(10)L26999(21)R-1"
LIST = reverse("inventory:label_mismatch_list")


@pytest.fixture
def unit(org, admin_user, rep):
    product = ProductFactory(organization=org, gtin=GTIN)
    (unit,) = receive_units(
        admin_user,
        rep,
        n=1,
        product=product,
        serial_prefix="R-",
        lot_number="L26102",
        expiration_date=EXPIRY,
    )
    return unit


def _unchanged(unit, entries):
    """The unit is as received and the ledger has no new entry."""
    before = (unit.state, unit.custodian_id, unit.ledger_seq)
    unit.refresh_from_db()
    assert (unit.state, unit.custodian_id, unit.ledger_seq) == before
    assert CustodyEntry.objects.count() == entries


def _hibc(data: str) -> str:
    """An HIBC symbol's text: + data, then its mod-43 check character."""
    return f"+{data}{hibc_check_character('+' + data)}"


def _mark_used_scan(client, user, event, text):
    client.force_login(user)
    return client.post(reverse("events:mark_used", args=[event.pk]), {"scan": text}, follow=True)


def _transfer_scan(client, user, text):
    client.force_login(user)
    return client.post(reverse("inventory:transfer_new"), {"add_scanned": "1", "scan": text})


# --- recording ---------------------------------------------------------------------------------


def test_a_mismatched_scan_on_mark_used_is_recorded_and_changes_nothing(client, rep, unit):
    case = open_event(rep)
    entries = CustodyEntry.objects.count()

    response = _mark_used_scan(client, rep, case, DISAGREES)

    assert "label: lot L26999" in response.content.decode()  # still refused, as before
    (row,) = LabelMismatch.objects.all()
    assert (row.organization_id, row.unit_id, row.scanned_by_id) == (
        unit.organization_id,
        unit.pk,
        rep.pk,
    )
    assert (row.where, row.event_id) == ("mark_used", case.pk)
    assert row.label_text == DISAGREES and row.label_format == "gs1"
    assert (row.label_gtin, row.label_lot, row.label_serial, row.label_expiry) == (
        GTIN,
        "L26999",
        "R-1",
        datetime.date(2029, 12, 31),
    )
    assert (row.record_gtin, row.record_lot, row.record_expiry) == (GTIN, "L26102", EXPIRY)
    assert "label: lot L26999, expiry 2029-12-31" in row.message
    assert row.resolved_at is None and row.resolved_by is None
    assert not case.lines.exists()
    _unchanged(unit, entries)


def test_a_mismatched_scan_on_the_transfer_form_is_recorded_and_changes_nothing(client, rep, unit):
    entries = CustodyEntry.objects.count()

    response = _transfer_scan(client, rep, DISAGREES)

    assert response.status_code == 200
    (row,) = LabelMismatch.objects.all()
    assert (row.unit_id, row.scanned_by_id, row.where, row.event_id) == (
        unit.pk,
        rep.pk,
        "transfer",
        None,
    )
    assert (row.label_lot, row.record_lot) == ("L26999", "L26102")
    # The unit was not added to the form, and nothing was sent.
    assert 'name="unit"' not in response.content.decode()
    assert not Transfer.objects.exists()
    _unchanged(unit, entries)


def test_a_scan_that_agrees_with_the_record_records_nothing(client, rep, unit):
    case = open_event(rep)
    _mark_used_scan(client, rep, case, AGREES)
    assert case.lines.count() == 1  # it was used

    receive_units(None, rep, n=1, product=unit.product, serial_prefix="T-")
    _transfer_scan(client, rep, f"(01){GTIN}(21)T-1")

    assert not LabelMismatch.objects.exists()


@pytest.mark.parametrize("typed", ["R-1", "r-1"])
def test_a_typed_serial_records_nothing(client, rep, unit, typed):
    """Typed text is no label: it says no lot or expiry to disagree with."""
    _transfer_scan(client, rep, typed)
    _mark_used_scan(client, rep, open_event(rep), typed)
    assert not LabelMismatch.objects.exists()


def test_an_hibc_mismatch_keeps_both_hibc_identities(org, admin_user, rep):
    product = ProductFactory(organization=org, hibc_lic="A999", hibc_product="1234")
    (unit,) = receive_units(admin_user, rep, n=1, product=product, serial_prefix="H")
    scanned = units_from_scan(qs=Unit.objects.all(), text=_hibc("A99955550/$$+7H1"))

    (row,) = record_label_mismatches(actor=rep, mismatches=scanned.mismatches, where="scan")

    assert (row.label_format, row.label_hibc, row.record_hibc) == ("hibcc", "A9995555", "A9991234")
    assert (row.label_gtin, row.record_gtin) == ("", "")


def test_recording_nothing_makes_no_query(rep, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert record_label_mismatches(actor=rep, mismatches=[], where="transfer") == []


def test_a_unit_of_another_organization_is_never_recorded(unit):
    scanned = units_from_scan(qs=Unit.objects.all(), text=DISAGREES)
    stranger = RepFactory(organization=OrganizationFactory())

    assert (
        record_label_mismatches(actor=stranger, mismatches=scanned.mismatches, where="scan") == []
    )
    assert not LabelMismatch.objects.exists()


def test_an_unknown_scan_box_is_a_programming_error(rep, unit):
    scanned = units_from_scan(qs=Unit.objects.all(), text=DISAGREES)
    with pytest.raises(ValueError):
        record_label_mismatches(actor=rep, mismatches=scanned.mismatches, where="elsewhere")


# --- the admins' list --------------------------------------------------------------------------


@pytest.fixture
def other_org_row():
    """A mismatch of another organization, scanned by its own rep."""
    other = OrganizationFactory()
    product = ProductFactory(organization=other, gtin=GTIN)
    (unit,) = receive_units(
        None,
        RepFactory(organization=other),
        n=1,
        product=product,
        serial_prefix="X-",
        lot_number="OTHER-LOT",
    )
    return record_mismatch(unit.custodian, unit, lot="OTHER-LABEL-LOT")


def test_the_list_shows_who_when_where_the_label_and_the_record(
    client, admin_user, rep, unit, other_org_row
):
    case = open_event(rep, name="TKA Mercy")
    raw = f"01{GTIN}17291231\x1d10L26999\x1d21R-1"  # raw GS1, GS separators as scanned
    _mark_used_scan(client, rep, case, raw)
    client.force_login(admin_user)

    page = client.get(LIST).content.decode()

    assert page.count("data-mismatch=") == 1  # another organization's row never shows
    assert "OTHER-LABEL-LOT" not in page
    assert str(rep) in page and "Mark Used" in page
    assert f'href="/events/{case.pk}/"' in page and "TKA Mercy" in page
    assert f'href="{reverse("inventory:unit_detail", args=[unit.pk])}"' in page
    # The label's and the record's values, those that differ highlighted.
    assert '<mark class="fw-semibold">L26999</mark>' in page
    assert '<mark class="fw-semibold">L26102</mark>' in page
    assert '<mark class="fw-semibold">2029-12-31</mark>' in page
    assert f'<mark class="fw-semibold">{GTIN}</mark>' not in page  # the GTINs agree
    # The scanned text, in monospace, its GS separators made visible.
    assert f"01{GTIN}17291231&lt;GS&gt;10L26999&lt;GS&gt;21R-1" in page
    assert LabelMismatch.objects.get(unit=unit).label_text == raw  # stored as read


@pytest.mark.parametrize("who", ["rep", "distributor"])
def test_only_admins_open_the_list(client, request, unit, who):
    record_mismatch(request.getfixturevalue("rep"), unit)
    client.force_login(request.getfixturevalue(who))
    assert client.get(LIST).status_code == 403


def test_the_selector_gives_others_none_and_admins_their_organization_only(
    admin_user, distributor, rep, unit, other_org_row
):
    mine = record_mismatch(rep, unit)
    assert list(label_mismatches(actor=actor_for(admin_user))) == [mine]
    assert not label_mismatches(actor=actor_for(rep)).exists()
    assert not label_mismatches(actor=actor_for(distributor)).exists()


def test_the_list_is_newest_first_and_filters_open_resolved_all(client, admin_user, rep, unit):
    older = record_mismatch(rep, unit, lot="OLD-LOT")
    LabelMismatch.objects.filter(pk=older.pk).update(at=timezone.now() - datetime.timedelta(days=1))
    newer = record_mismatch(rep, unit, lot="NEW-LOT")
    done = record_mismatch(rep, unit, lot="DONE-LOT")
    label_mismatch_resolve(actor=admin_user, mismatch=done)
    client.force_login(admin_user)

    def shown(query=""):
        page = client.get(LIST + query).content.decode()
        return [lot for lot in ("DONE-LOT", "NEW-LOT", "OLD-LOT") if lot in page], page

    assert shown()[0] == ["NEW-LOT", "OLD-LOT"]
    assert shown("?status=open")[0] == ["NEW-LOT", "OLD-LOT"]
    assert shown("?status=resolved")[0] == ["DONE-LOT"]
    assert shown("?status=all")[0] == ["DONE-LOT", "NEW-LOT", "OLD-LOT"]
    assert shown("?status=nonsense")[0] == ["NEW-LOT", "OLD-LOT"]
    page = shown("?status=all")[1]
    assert page.index("DONE-LOT") < page.index("NEW-LOT") < page.index("OLD-LOT")
    assert f"Resolved by {admin_user}" in page
    assert [m.pk for m in label_mismatches(actor=actor_for(admin_user), status="all")] == [
        done.pk,
        newer.pk,
        older.pk,
    ]


# --- resolving ---------------------------------------------------------------------------------


def _resolve(client, user, row, next_url=LIST + "?status=open"):
    client.force_login(user)
    return client.post(
        reverse("inventory:label_mismatch_resolve", args=[row.pk]), {"next": next_url}
    )


def test_an_admin_resolves_a_mismatch_and_is_sent_back(client, admin_user, rep, unit):
    row = record_mismatch(rep, unit)

    response = _resolve(client, admin_user, row)

    assert response.status_code == 302 and response["Location"] == LIST + "?status=open"
    row.refresh_from_db()
    assert row.resolved_by == admin_user and row.resolved_at is not None
    page = client.get(response["Location"]).content.decode()
    assert f"Marked the mismatch on {unit.label} resolved." in page
    assert "data-mismatch=" not in page  # no longer open


def test_resolving_twice_keeps_the_first_admin(client, org, admin_user, rep, unit):
    row = record_mismatch(rep, unit)
    label_mismatch_resolve(actor=admin_user, mismatch=row)
    first = LabelMismatch.objects.get()
    second_admin = UserFactory(organization=org, admin=True)

    _resolve(client, second_admin, row)
    label_mismatch_resolve(actor=second_admin, mismatch=row)

    again = LabelMismatch.objects.get()
    assert (again.resolved_by_id, again.resolved_at) == (admin_user.pk, first.resolved_at)


@pytest.mark.parametrize("elsewhere", ["https://evil.example/", "/inventory/"])
def test_a_next_url_off_the_list_is_not_followed(client, admin_user, rep, unit, elsewhere):
    response = _resolve(client, admin_user, record_mismatch(rep, unit), elsewhere)
    assert response["Location"] == LIST


@pytest.mark.parametrize("who", ["rep", "distributor"])
def test_only_admins_resolve(client, request, unit, who):
    row = record_mismatch(request.getfixturevalue("rep"), unit)
    user = request.getfixturevalue(who)

    assert _resolve(client, user, row).status_code == 403
    with pytest.raises(PermissionDenied):
        label_mismatch_resolve(actor=user, mismatch=row)
    row.refresh_from_db()
    assert row.resolved_at is None


def test_another_organizations_admin_cannot_resolve(client, rep, unit):
    row = record_mismatch(rep, unit)
    stranger = UserFactory(organization=OrganizationFactory(), admin=True)

    assert _resolve(client, stranger, row).status_code == 404
    with pytest.raises(PermissionDenied):
        label_mismatch_resolve(actor=stranger, mismatch=row)
    row.refresh_from_db()
    assert row.resolved_at is None


# --- the unit's page ---------------------------------------------------------------------------


def test_the_unit_page_tells_an_admin_of_open_mismatches(client, admin_user, rep, unit):
    url = reverse("inventory:unit_detail", args=[unit.pk])
    client.force_login(admin_user)
    assert 'data-testid="unit-mismatches"' not in client.get(url).content.decode()

    row = record_mismatch(rep, unit)
    page = client.get(url).content.decode()
    assert 'data-testid="unit-mismatches"' in page and f'href="{LIST}"' in page
    assert "1 scan of this unit" in page

    client.force_login(rep)  # the holder sees the unit, not the admins' note
    assert 'data-testid="unit-mismatches"' not in client.get(url).content.decode()

    label_mismatch_resolve(actor=admin_user, mismatch=row)
    client.force_login(admin_user)
    assert 'data-testid="unit-mismatches"' not in client.get(url).content.decode()


def _many(rep, unit, n):
    """n mismatches of one scan, in one INSERT."""
    (mismatch,) = units_from_scan(qs=Unit.objects.all(), text=DISAGREES).mismatches
    return record_label_mismatches(
        actor=rep, mismatches=[mismatch] * n, where="mark_used", event_id=open_event(rep).pk
    )


def test_the_list_is_read_a_page_at_a_time(client, admin_user, rep, unit):
    _many(rep, unit, 51)
    client.force_login(admin_user)

    first = client.get(LIST).content.decode()
    assert first.count("data-mismatch=") == 50
    (cursor,) = re.findall(r'rel="next" href="\?([^"]+)"', first)
    second = client.get(LIST + "?" + html.unescape(cursor)).content.decode()
    assert second.count("data-mismatch=") == 1


def test_the_lists_queries_do_not_grow_with_its_rows(client, admin_user, rep, unit):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(admin_user)
    _many(rep, unit, 2)
    with CaptureQueriesContext(connection) as few:
        client.get(LIST)
    _many(rep, unit, 20)
    with CaptureQueriesContext(connection) as many:
        client.get(LIST)
    assert len(many) == len(few)
