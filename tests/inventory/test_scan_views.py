"""The scanner's server side: the lookups every scan box's camera asks about each code read, the
one-tap mark on Mark Used, the Scan page, and the Content-Security-Policy that lets the decoder's
WebAssembly run on scanner pages only."""

import datetime

import pytest
from django.urls import reverse

from events.models import EventLine
from inventory.models import CustodyEntry, LabelMismatch, Product, Unit
from tests.events.factories import open_event
from tests.factories import OrganizationFactory, RepFactory, UserFactory
from tests.inventory.factories import ProductFactory, receive_units
from tests.inventory.test_scan_hibc import hibc

pytestmark = pytest.mark.django_db

GTIN = "09506000134352"
LABEL = f"(01){GTIN}(17)300131(10)L1(21)S-1"


@pytest.fixture
def unit(org, admin_user, rep):
    product = ProductFactory(organization=org, gtin=GTIN, catalog_number="SCR-1")
    (unit,) = receive_units(
        admin_user,
        rep,
        product=product,
        serial_prefix="S-",
        lot_number="L1",
        expiration_date=datetime.date(2030, 1, 31),
    )
    return unit


def _lookup(client, code, context="find"):
    return client.get(reverse("inventory:scan_lookup"), {"code": code, "context": context}).json()


# --- the Content-Security-Policy ---------------------------------------------------------------


def _script_src(response) -> str:
    policy = response.headers["Content-Security-Policy"]
    return next((d for d in policy.split(";") if d.strip().startswith("script-src")), "")


def test_scanner_pages_allow_webassembly_and_only_they_do(client, admin_user, rep, unit):
    client.force_login(admin_user)
    case = open_event(rep)
    scanner_pages = [
        reverse("scan"),
        reverse("events:mark_used", args=[case.pk]),
        reverse("inventory:receive"),
        reverse("inventory:transfer_new"),
        reverse("inventory:recall_lookup"),
    ]
    for url in scanner_pages:
        src = _script_src(client.get(url))
        assert "'wasm-unsafe-eval'" in src and "'self'" in src, url
        assert "'unsafe-eval'" not in src.replace("'wasm-unsafe-eval'", ""), url
    for url in [
        reverse("home"),
        reverse("inventory:unit_list"),
        reverse("events:event_detail", args=[case.pk]),
        reverse("inventory:unit_detail", args=[unit.pk]),
    ]:
        assert "wasm" not in client.get(url).headers["Content-Security-Policy"], url


def test_the_scanner_is_served_from_this_site(client, admin_user, settings):
    settings.SCANNER_INSTALLED = True
    client.force_login(admin_user)
    page = client.get(reverse("scan")).content.decode()
    assert 'src="/static/zxing/reader/index.js"' in page
    assert 'data-wasm-url="/static/zxing/wasm/zxing_reader.wasm"' in page
    assert "cdn" not in page.lower()


def test_without_the_decoder_the_scanner_says_so_and_the_box_still_works(
    client, admin_user, settings
):
    settings.SCANNER_INSTALLED = False
    client.force_login(admin_user)
    page = client.get(reverse("scan")).content.decode()
    assert 'data-installed="0"' in page and "zxing" not in page
    assert 'name="code"' in page  # the typed box


# --- the lookup (find, transfer, receive) ------------------------------------------------------


def test_find_names_the_unit_with_links_to_it_and_its_lot(client, admin_user, unit):
    client.force_login(admin_user)
    answer = _lookup(client, LABEL)
    assert answer["ok"] and answer["unit"]["id"] == unit.pk
    assert answer["unit"]["url"] == reverse("inventory:unit_detail", args=[unit.pk])
    assert answer["lot_url"].startswith(reverse("inventory:recall_lookup") + "?code=")


def test_a_rep_gets_no_lot_lookup_link(client, rep, unit):
    client.force_login(rep)
    answer = _lookup(client, LABEL)
    assert answer["ok"] and "lot_url" not in answer


def test_find_says_what_it_could_not_find(client, admin_user, unit):
    client.force_login(admin_user)
    assert _lookup(client, f"(01){GTIN}(21)NOPE")["message"] == (
        "SCR-1: no unit you can see has serial NOPE."
    )
    assert _lookup(client, "(01)09506000134369(21)X-9")["message"] == (
        "No product in the catalog has GTIN 09506000134369."
    )
    assert _lookup(client, "ZZZ")["message"] == "No unit you can see has serial or lot ZZZ."


def test_a_label_of_another_gtin_naming_a_units_serial_is_a_mismatch(client, admin_user, unit):
    client.force_login(admin_user)
    answer = _lookup(client, "(01)09506000134369(21)S-1")
    assert "label: GTIN 09506000134369" in answer["message"]
    assert LabelMismatch.objects.get().where == "scan"


def test_find_never_reaches_another_organizations_unit(client, unit):
    stranger = UserFactory(organization=OrganizationFactory(), admin=True)
    client.force_login(stranger)
    answer = _lookup(client, LABEL)
    assert not answer["ok"] and "unit" not in answer


def test_a_mismatched_label_is_refused_and_recorded(client, admin_user, unit):
    client.force_login(admin_user)
    entries = CustodyEntry.objects.count()
    answer = _lookup(client, f"(01){GTIN}(10)L9(21)S-1", context="transfer")
    assert not answer["ok"] and "label: lot L9" in answer["message"]
    mismatch = LabelMismatch.objects.get()
    assert (mismatch.unit, mismatch.where, mismatch.scanned_by) == (unit, "transfer", admin_user)
    assert CustodyEntry.objects.count() == entries


def test_transfer_lookup_finds_only_available_units(client, admin_user, unit):
    client.force_login(admin_user)
    assert _lookup(client, LABEL, context="transfer")["ok"]
    Unit.objects.filter(pk=unit.pk).update(state="hold")
    assert not _lookup(client, LABEL, context="transfer")["ok"]


def test_receive_lookup_reads_a_new_unit(client, admin_user, unit):
    client.force_login(admin_user)
    answer = _lookup(client, f"(01){GTIN}(10)L2(21)S-2", context="receive")
    assert answer["ok"] and answer["unit"]["detail"] == "lot L2 · serial S-2"
    already = _lookup(client, f"(01){GTIN}(21)s-1", context="receive")
    assert not already["ok"] and already["message"] == "SCR-1 serial S-1 is already received."
    # An admin may add the product from the scan: the tap leads to that form.
    unknown = _lookup(client, "(01)09506000134369(21)X", context="receive")
    assert unknown["ok"] and unknown["message"].startswith(
        "No product in the catalog has GTIN 09506000134369. Receive it to add"
    )


def test_a_distributor_is_told_to_ask_an_admin_for_an_unknown_product(client, distributor, unit):
    client.force_login(distributor)
    answer = _lookup(client, "(01)09506000134369(21)X", context="receive")
    assert not answer["ok"] and "Ask an admin to add it" in answer["message"]


def test_receive_lookup_refuses_a_package_label(client, admin_user, org):
    ProductFactory(organization=org, hibc_lic="A999", hibc_product="1234")
    client.force_login(admin_user)
    answer = _lookup(client, hibc("A99912341/$$+7P1"), context="receive")
    assert not answer["ok"] and "packaging level 1" in answer["message"]


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"code": "", "context": "find"}, 200, "This field is required."),
        ({"code": "   ", "context": "find"}, 200, "Scan or type a code."),
        ({"code": "A\nB", "context": "find"}, 200, "One code at a time."),
        ({"code": "x" * 2001, "context": "find"}, 200, "at most 2000 characters"),
        ({"code": "A", "context": "steal"}, 400, "Unknown scan box."),
    ],
)
def test_bad_lookup_input_gets_a_clear_message(client, admin_user, params, status, message):
    client.force_login(admin_user)
    response = client.get(reverse("inventory:scan_lookup"), params)
    assert response.status_code == status
    assert not response.json()["ok"] and message in response.json()["message"]


def test_the_lookup_needs_a_login(client):
    response = client.get(reverse("inventory:scan_lookup"), {"code": "A"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- the Scan page, typed -----------------------------------------------------------------------


def test_the_scan_page_opens_a_typed_units_page(client, rep, unit):
    client.force_login(rep)
    response = client.get(reverse("scan"), {"code": "s-1"})
    assert response.status_code == 302
    assert response["Location"] == reverse("inventory:unit_detail", args=[unit.pk])


def test_the_scan_page_says_what_it_could_not_find(client, rep, unit):
    client.force_login(rep)
    response = client.get(reverse("scan"), {"code": "NOPE"})
    assert response.status_code == 200
    assert "No unit you can see has serial or lot NOPE." in response.content.decode()


# --- Mark Used: check, then one tap ------------------------------------------------------------


def _check(client, case, code):
    return client.get(reverse("events:mark_used_scan_check", args=[case.pk]), {"code": code})


def _mark(client, case, code):
    return client.post(reverse("events:mark_used_scan_mark", args=[case.pk]), {"code": code})


def test_checking_a_code_marks_nothing(client, rep, unit):
    case = open_event(rep)
    client.force_login(rep)
    answer = _check(client, case, LABEL).json()
    assert answer["ok"] and answer["can_mark"] and answer["unit"]["id"] == unit.pk
    assert not EventLine.objects.filter(event=case).exists()


def test_one_tap_marks_the_unit_used_and_says_how_it_was_identified(client, rep, unit):
    case = open_event(rep)
    client.force_login(rep)
    response = _mark(client, case, LABEL)
    assert response.status_code == 200 and response.json()["ok"]
    assert list(EventLine.objects.filter(event=case).values_list("unit_id", flat=True)) == [unit.pk]
    assert CustodyEntry.objects.filter(unit=unit).latest("sequence").identified_by == "scan:gs1"


def test_marking_needs_a_post(client, rep, unit):
    case = open_event(rep)
    client.force_login(rep)
    response = client.get(reverse("events:mark_used_scan_mark", args=[case.pk]), {"code": LABEL})
    assert response.status_code == 405
    assert not EventLine.objects.filter(event=case).exists()


def test_a_unit_the_rep_may_not_use_is_refused_with_the_reason(client, rep, org, admin_user):
    other = RepFactory(organization=org)
    product = ProductFactory(organization=org, gtin=GTIN)
    receive_units(admin_user, other, product=product, serial_prefix="O-")
    case = open_event(rep)
    client.force_login(rep)
    answer = _check(client, case, f"(01){GTIN}(21)O-1").json()
    assert not answer["ok"] and not answer["can_mark"]
    response = _mark(client, case, f"(01){GTIN}(21)O-1")
    assert response.status_code == 422 and not EventLine.objects.filter(event=case).exists()


def test_an_expired_unit_is_refused_before_the_tap(client, rep, unit):
    Unit.objects.filter(pk=unit.pk).update(expiration_date=datetime.date(2020, 1, 1))
    case = open_event(rep)
    client.force_login(rep)
    answer = _check(client, case, f"(01){GTIN}(21)S-1").json()
    assert not answer["ok"] and "expired" in answer["message"].lower()


def test_a_mismatch_on_mark_used_is_recorded_with_the_case(client, rep, unit):
    case = open_event(rep)
    client.force_login(rep)
    answer = _check(client, case, f"(01){GTIN}(10)L9(21)S-1").json()
    assert not answer["ok"] and "record: lot L1" in answer["message"]
    assert _mark(client, case, f"(01){GTIN}(10)L9(21)S-1").status_code == 422
    assert not EventLine.objects.filter(event=case).exists()
    # Checked at the read and again at the tap: one row.
    assert list(LabelMismatch.objects.values_list("where", "event_id")) == [("mark_used", case.pk)]


def test_another_organizations_case_is_not_found(client, rep, unit):
    case = open_event(rep)
    stranger = UserFactory(organization=OrganizationFactory(), admin=True)
    client.force_login(stranger)
    assert _check(client, case, LABEL).status_code == 404
    assert _mark(client, case, LABEL).status_code == 404


def test_a_lot_tracked_product_scanned_by_lot_takes_the_reps_own_unit(
    client, rep, distributor, pooled, admin_user, org
):
    product = ProductFactory(organization=org, gtin=GTIN, tracking=Product.Tracking.LOT)
    receive_units(admin_user, distributor, product=product, lot_number="LL")
    (own,) = receive_units(admin_user, rep, product=product, lot_number="LL")
    case = open_event(rep)
    client.force_login(rep)
    answer = _check(client, case, f"(01){GTIN}(10)LL").json()
    assert answer["ok"] and answer["unit"]["id"] == own.pk
    assert "your own custody" in answer["notes"][0]


def test_the_scanner_on_mark_used_refuses_a_package_label(client, rep, org, admin_user):
    product = ProductFactory(organization=org, hibc_lic="A999", hibc_product="1234")
    receive_units(admin_user, rep, product=product, serial_prefix="P")
    case = open_event(rep)
    client.force_login(rep)
    answer = _check(client, case, hibc("A99912343/$$+7P1")).json()
    assert not answer["ok"] and "packaging level 3" in answer["message"]
    assert _check(client, case, hibc("A99912340/$$+7P1")).json()["ok"]


def test_a_rep_may_not_ask_the_receive_lookup(client, rep, unit):
    client.force_login(rep)
    response = client.get(
        reverse("inventory:scan_lookup"), {"code": f"(01){GTIN}(21)S-1", "context": "receive"}
    )
    assert response.status_code == 403 and "already received" not in response.content.decode()


def test_find_says_which_serial_when_a_lot_holds_several(client, admin_user, rep, org):
    product = ProductFactory(organization=org, gtin=GTIN)
    receive_units(admin_user, rep, n=3, product=product, serial_prefix="Q-", lot_number="L1")
    client.force_login(admin_user)
    for code in (f"(01){GTIN}(10)L1", "L1"):
        assert "lot L1 holds 3 units tracked by serial" in _lookup(client, code)["message"]


def test_the_recall_lookups_scanner_takes_any_readable_label(client, admin_user, unit):
    client.force_login(admin_user)
    answer = _lookup(client, f"(01){GTIN}(10)ANYLOT", context="lookup")
    assert answer["ok"] and answer["unit"]["detail"] == "lot ANYLOT"
    assert _lookup(client, "R-77", context="lookup")["ok"]
    refused = _lookup(client, "(01)09506000134353(10)X", context="lookup")
    assert not refused["ok"] and "check digit" in refused["message"]


def test_the_tap_refuses_when_the_code_now_names_another_unit(client, rep, org, admin_user):
    product = ProductFactory(organization=org, gtin=GTIN, tracking=Product.Tracking.LOT)
    first, second = receive_units(admin_user, rep, n=2, product=product, lot_number="LL")
    case = open_event(rep)
    client.force_login(rep)
    code = f"(01){GTIN}(10)LL"
    listed = _check(client, case, code).json()["unit"]["id"]
    other = second.pk if listed == first.pk else first.pk
    response = client.post(
        reverse("events:mark_used_scan_mark", args=[case.pk]), {"code": code, "unit": other}
    )
    assert response.status_code == 422 and "nothing was marked" in response.json()["message"]
    assert not EventLine.objects.filter(event=case).exists()
    marked = client.post(
        reverse("events:mark_used_scan_mark", args=[case.pk]), {"code": code, "unit": listed}
    )
    assert marked.json()["ok"] and EventLine.objects.get(event=case).unit_id == listed


def test_an_hibc_check_character_space_survives_the_transfer_and_lookup_boxes(
    client, admin_user, org
):
    product = ProductFactory(organization=org, hibc_lic="A999", hibc_product="1234")
    serial = next(f"S{n}" for n in range(1, 500) if hibc(f"A99912340/$$+7S{n}").endswith(" "))
    (unit,) = receive_units(admin_user, None, product=product, serial_prefix=serial[:-1] or "S")
    Unit.objects.filter(pk=unit.pk).update(serial_number=serial)
    code = hibc(f"A99912340/$$+7{serial}")
    client.force_login(admin_user)
    page = client.post(
        reverse("inventory:transfer_new"), {"scan": code, "add_scanned": "1"}
    ).content.decode()
    assert "check character" not in page and f'value="{unit.pk}"' in page
    lookup = client.get(reverse("inventory:recall_lookup"), {"code": code}).content.decode()
    assert "check character" not in lookup and serial in lookup
