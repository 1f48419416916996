"""Mark Used by scan, when the scan names less than one unit: a serial typed in another case,
a bare lot, or a lot-only label. A lot takes the rep's own unit first, then the pool's,
earliest expiry first; a lot of serial-tracked units asks which serial."""

import datetime

import pytest
from django.urls import reverse

from tests.events.factories import open_event
from tests.inventory.factories import ProductFactory, receive_units

pytestmark = pytest.mark.django_db

GTIN = "09506000134352"
SOON, LATER, LATEST = (datetime.date(2031, m, 1) for m in (1, 6, 11))


@pytest.fixture
def pool(distributor):
    group = distributor.distributor_group
    group.pooling_enabled = True
    group.save(update_fields=["pooling_enabled"])


def _scan(client, rep, text):
    case = open_event(rep)
    client.force_login(rep)
    page = client.post(reverse("events:mark_used", args=[case.pk]), {"scan": text}, follow=True)
    return case, page.content.decode()


def test_a_serial_typed_in_another_case_finds_the_unit_and_says_so(client, admin_user, rep):
    receive_units(admin_user, rep, n=3, serial_prefix="R-100")

    case, page = _scan(client, rep, "r-1002")

    assert [line.unit.serial_number for line in case.lines.current()] == ["R-1002"]
    assert "found R-1002 (the serial as recorded)" in page


@pytest.fixture
def screws(org):
    return ProductFactory(organization=org, gtin=GTIN, tracking="lot")


def _lot(admin_user, holder, product, expiry, n=1):
    return receive_units(
        admin_user, holder, n=n, product=product, lot_number="L7", expiration_date=expiry
    )


@pytest.mark.parametrize("scan", ["L7", f"(01){GTIN}(10)L7"], ids=["bare lot", "lot-only label"])
def test_a_lot_takes_the_reps_own_unit_before_the_pools_earlier_one(
    client, admin_user, distributor, rep, pool, screws, scan
):
    (pools,) = _lot(admin_user, distributor, screws, SOON)
    _lot(admin_user, rep, screws, LATEST)  # received first: expiry decides, not arrival
    (later,) = _lot(admin_user, rep, screws, LATER)

    case, page = _scan(client, rep, scan)

    (line,) = case.lines.current()
    assert line.unit == later  # own custody, then earliest expiry: not the pool's SOON unit
    assert "your own custody" in page and "expiring 2031-06-01" in page


def test_a_lot_takes_the_pools_unit_when_the_rep_has_none(
    client, admin_user, distributor, rep, pool, screws
):
    (pools,) = _lot(admin_user, distributor, screws, SOON)

    case, page = _scan(client, rep, "L7")

    assert [line.unit for line in case.lines.current()] == [pools]
    assert "not your own custody" in page


def test_a_lot_of_serial_tracked_units_asks_which_serial(client, admin_user, rep):
    product = ProductFactory(organization=rep.organization, gtin=GTIN)
    receive_units(admin_user, rep, n=2, product=product, serial_prefix="S-", lot_number="L7")

    case, page = _scan(client, rep, f"(01){GTIN}(10)L7")

    assert not case.lines.exists()
    assert "lot L7 holds 2 units tracked by serial (S-1, S-2)" in page
    assert "scan or type the serial of the one you have" in page
