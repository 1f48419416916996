"""The inventory pages as people use them: custody filter, labels, export, transfers."""

import csv
import datetime
import html
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.policies import holder_ids_in_scope
from accounts.selectors import actor_for
from inventory.models import CustodyEntry, Transfer, Unit, UnitState
from inventory.selectors.units import filtered_units, list_partitions
from inventory.services.transfers import transfer_create
from inventory.views import transfers as transfer_views
from inventory.views import units as unit_views
from tests.factories import DistributorFactory, RepFactory, UserFactory
from tests.inventory.factories import ProductFactory, receive_units
from tests.pages import seen_on, transfer_seen


@pytest.fixture
def stock(org, admin_user, distributor, rep):
    """dana-like distributor with D- units, her rep with R- units, a second rep with S- units,
    another group's rep with C- units, and organization stock O-."""
    sam = RepFactory(organization=org, assigned_to=distributor, display_name="Sam")
    other = DistributorFactory(organization=org)
    casey = RepFactory(organization=org, assigned_to=other)
    product = ProductFactory(organization=org, product_line="Trauma")
    receive_units(admin_user, distributor, n=3, product=product, serial_prefix="D-")
    receive_units(admin_user, rep, n=2, product=product, serial_prefix="R-")
    receive_units(admin_user, sam, n=2, product=product, serial_prefix="S-")
    receive_units(admin_user, casey, n=2, product=product, serial_prefix="C-")
    receive_units(admin_user, None, n=2, product=product, serial_prefix="O-")
    return {"sam": sam, "casey": casey, "product": product}


def serials_on(response):
    body = response.content.decode()
    return sorted(
        s
        for s in Unit.objects.values_list("serial_number", flat=True)
        if f'data-serial="{s}"' in body
    )


def prefixes(serials):
    return sorted({s.split("-")[0] for s in serials})


@pytest.mark.parametrize(
    ("who", "pooling", "custody", "expected"),
    [
        ("rep", False, "", ["R"]),
        ("rep", False, "mine", ["R"]),
        ("rep", True, "mine", ["R"]),
        ("rep", True, "shared", ["D"]),
        ("rep", True, "both", ["D", "R"]),
        ("rep", True, "", ["D", "R"]),
        ("distributor", False, "mine", ["D"]),
        ("distributor", False, "reps", ["R", "S"]),
        ("distributor", False, "both", ["D", "R", "S"]),
        ("distributor", True, "", ["D", "R", "S"]),
        ("admin_user", False, "", ["C", "D", "O", "R", "S"]),
    ],
)
def test_custody_filter_values(client, stock, who, pooling, custody, expected, request):
    user = request.getfixturevalue(who)
    group = request.getfixturevalue("distributor").distributor_group
    group.pooling_enabled = pooling
    group.save()
    client.force_login(user)
    params = {"custody": custody} if custody else {}
    response = client.get(reverse("inventory:unit_list"), params)
    assert response.status_code == 200
    assert prefixes(serials_on(response)) == expected


@pytest.mark.parametrize("custody", ["shared", "both"])
def test_hand_typed_pool_custody_without_pooling_shows_own_units_and_says_why(
    client, rep, stock, custody
):
    client.force_login(rep)
    response = client.get(reverse("inventory:unit_list"), {"custody": custody})
    assert response.status_code == 200
    assert prefixes(serials_on(response)) == ["R"]  # nothing of the distributor's
    assert "Access Distributor&#x27;s Inventory is off" in response.content.decode()


def test_distributor_narrows_to_one_rep(client, distributor, rep, stock):
    client.force_login(distributor)
    response = client.get(
        reverse("inventory:unit_list"), {"custody": "reps", "rep": stock["sam"].pk}
    )
    assert prefixes(serials_on(response)) == ["S"]


def test_distributor_cannot_pick_a_rep_of_another_group(client, distributor, stock):
    client.force_login(distributor)
    response = client.get(
        reverse("inventory:unit_list"), {"custody": "reps", "rep": stock["casey"].pk}
    )
    assert serials_on(response) == []
    assert "Select a valid choice" in response.content.decode()


def test_admin_narrows_by_custodian_including_organization_custody(client, admin_user, stock):
    client.force_login(admin_user)
    response = client.get(reverse("inventory:unit_list"), {"custodian": "org"})
    assert prefixes(serials_on(response)) == ["O"]


def test_search_and_state_combine_with_custody(client, rep, pooled, stock):
    client.force_login(rep)
    response = client.get(reverse("inventory:unit_list"), {"custody": "both", "q": "D-2"})
    assert serials_on(response) == ["D-2"]
    response = client.get(
        reverse("inventory:unit_list"), {"custody": "both", "state": UnitState.HOLD}
    )
    assert serials_on(response) == []


def test_expiry_filter(client, admin_user, org):
    today = timezone.localdate()
    product = ProductFactory(organization=org)
    receive_units(
        admin_user,
        None,
        n=1,
        product=product,
        serial_prefix="OLD-",
        expiration_date=today - datetime.timedelta(days=1),
    )
    receive_units(
        admin_user,
        None,
        n=1,
        product=product,
        serial_prefix="SOON-",
        expiration_date=today + datetime.timedelta(days=10),
    )
    receive_units(
        admin_user,
        None,
        n=1,
        product=product,
        serial_prefix="LATE-",
        expiration_date=today + datetime.timedelta(days=400),
    )
    client.force_login(admin_user)
    assert serials_on(client.get(reverse("inventory:unit_list"), {"expiry": "expired"})) == [
        "OLD-1"
    ]
    assert serials_on(client.get(reverse("inventory:unit_list"), {"expiry": "30"})) == ["SOON-1"]
    assert serials_on(client.get(reverse("inventory:unit_list"), {"expiry": "later"})) == ["LATE-1"]


def test_labels_are_red_for_the_distributor_and_black_for_mine(client, rep, pooled, stock):
    client.force_login(rep)
    body = client.get(reverse("inventory:unit_list"), {"custody": "both"}).content.decode()
    distributor_name = pooled.distributor.name
    assert (
        f'custody-distributor" data-custody="distributor">Distributor · {distributor_name}' in body
    )
    assert f'custody-own" data-custody="own">Mine · {rep.name}' in body


def test_bad_query_values_get_a_message_and_change_nothing(client, rep, stock):
    client.force_login(rep)
    before = list(Unit.objects.order_by("pk").values_list("state", "custodian_id"))
    response = client.get(
        reverse("inventory:unit_list"), {"custody": "bogus", "page": "x", "state": "melted"}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert list(Unit.objects.order_by("pk").values_list("state", "custodian_id")) == before


def _query_count(client, url, params=None):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
        assert response.status_code == 200
    return len(ctx), response


def test_inventory_list_query_count_does_not_grow_from_5_to_50_rows(
    client, admin_user, distributor, rep, pooled
):
    product = ProductFactory(organization=admin_user.organization)
    receive_units(admin_user, rep, n=3, product=product, serial_prefix="A-")
    receive_units(admin_user, distributor, n=2, product=product, serial_prefix="B-")
    client.force_login(rep)
    url = reverse("inventory:unit_list")
    few, response = _query_count(client, url, {"custody": "both"})
    assert len(serials_on(response)) == 5
    receive_units(admin_user, rep, n=25, product=product, serial_prefix="C-")
    receive_units(admin_user, distributor, n=20, product=product, serial_prefix="E-")
    many, response = _query_count(client, url, {"custody": "both"})
    assert len(serials_on(response)) == 50
    assert many == few


def _next_url(response):
    page = response.context["page"]
    return page.next_cursor if page.has_next else None


def test_list_pages_with_a_cursor_without_counting_or_offset(client, admin_user, org):
    product = ProductFactory(organization=org)
    receive_units(admin_user, None, n=55, product=product, serial_prefix="P-")
    client.force_login(admin_user)
    with CaptureQueriesContext(connection) as ctx:
        first = client.get(reverse("inventory:unit_list"))
    unit_counts = [
        q["sql"]
        for q in ctx.captured_queries
        if "COUNT(" in q["sql"].upper() and "inventory_unit" in q["sql"]
    ]
    assert unit_counts == []
    assert len(serials_on(first)) == 50 and "Next" in first.content.decode()
    assert "Page 1" in first.content.decode()
    with CaptureQueriesContext(connection) as ctx:
        second = client.get(reverse("inventory:unit_list"), {"after": _next_url(first)})
    assert len(serials_on(second)) == 5
    list_sql = [
        q["sql"] for q in ctx.captured_queries if 'FROM "inventory_unit" INNER JOIN' in q["sql"]
    ]
    assert list_sql and all("OFFSET" not in sql for sql in list_sql)
    assert all(sql.rstrip().endswith("LIMIT 51") for sql in list_sql)


def test_paging_neither_skips_nor_repeats_when_units_arrive_between_clicks(client, admin_user, org):
    today = timezone.localdate()
    product = ProductFactory(organization=org)
    for days in range(60):
        receive_units(
            admin_user,
            None,
            n=1,
            product=product,
            serial_prefix=f"K{days:02d}-",
            expiration_date=today + datetime.timedelta(days=days),
        )
    client.force_login(admin_user)
    url = reverse("inventory:unit_list")
    first = client.get(url)
    seen = [u.serial_number for u in first.context["units"]]
    # New units land before the cursor (earliest expiry) and after it, between the clicks.
    receive_units(
        admin_user,
        None,
        n=3,
        product=product,
        serial_prefix="EARLY-",
        expiration_date=today - datetime.timedelta(days=5),
    )
    receive_units(
        admin_user,
        None,
        n=2,
        product=product,
        serial_prefix="LATE-",
        expiration_date=today + datetime.timedelta(days=365),
    )
    second = client.get(url, {"after": _next_url(first)})
    seen += [u.serial_number for u in second.context["units"]]
    assert len(seen) == len(set(seen))  # nothing repeated
    originals = {f"K{d:02d}-1" for d in range(60)}
    assert originals <= set(seen)  # nothing skipped
    assert {"LATE-1", "LATE-2"} <= set(seen) and not any(s.startswith("EARLY") for s in seen)
    # "Page 1" goes back to the start, where the early arrivals now are.
    assert "Page 1" in second.content.decode()
    back = client.get(url)
    assert [u.serial_number for u in back.context["units"]][:3] == ["EARLY-1", "EARLY-2", "EARLY-3"]


def test_a_later_page_runs_as_many_queries_as_page_one_whatever_its_length(client, admin_user, org):
    product = ProductFactory(organization=org)
    receive_units(admin_user, None, n=53, product=product, serial_prefix="Q-")
    client.force_login(admin_user)
    url = reverse("inventory:unit_list")
    first = client.get(url)
    short, _ = _query_count(client, url, {"after": _next_url(first)})  # 3 rows
    receive_units(admin_user, None, n=60, product=product, serial_prefix="W-")
    full, response = _query_count(client, url, {"after": _next_url(first)})
    assert len(response.context["units"]) == 50
    assert short == full


def test_csv_export_has_exactly_the_filtered_rows(client, rep, pooled, stock):
    client.force_login(rep)
    response = client.get(reverse("inventory:unit_export"), {"custody": "shared"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert sorted(r["serial_number"] for r in rows) == ["D-1", "D-2", "D-3"]
    assert all(r["custody"].startswith("Distributor · ") for r in rows)


def test_unit_outside_scope_is_404(client, rep, stock):
    client.force_login(rep)
    casey_unit = Unit.objects.get(serial_number="C-1")
    assert client.get(reverse("inventory:unit_detail", args=[casey_unit.pk])).status_code == 404
    dana_unit = Unit.objects.get(serial_number="D-1")
    assert client.get(reverse("inventory:unit_detail", args=[dana_unit.pk])).status_code == 404
    stranger = UserFactory(admin=True)
    client.force_login(stranger)
    assert client.get(reverse("inventory:unit_detail", args=[dana_unit.pk])).status_code == 404


def test_distributor_transfers_reps_units_on_their_behalf(client, distributor, rep, stock):
    units = list(Unit.objects.filter(serial_number__in=["R-1", "R-2"]))
    client.force_login(distributor)
    response = client.post(
        reverse("inventory:transfer_new"),
        {
            "unit": [u.pk for u in units],
            "recipient": stock["sam"].pk,
            "send": "1",
            "seen": transfer_seen(client, [u.pk for u in units]),
        },
        follow=True,
    )
    assert "Transferred 2 unit(s) to Sam" in response.content.decode()
    transfer = Transfer.objects.get()
    assert (transfer.status, transfer.started_by, transfer.on_behalf_of) == (
        "completed",
        distributor,
        rep,
    )
    for unit in units:
        unit.refresh_from_db()
        assert unit.custodian == stock["sam"] and unit.state == UnitState.AVAILABLE
    history = client.get(reverse("inventory:unit_detail", args=[units[0].pk])).content.decode()
    assert f"by {distributor.name} acting for {rep.name}" in history


def test_rep_sends_to_another_rep_who_accepts(client, rep, stock):
    unit = Unit.objects.get(serial_number="R-1")
    client.force_login(rep)
    client.post(
        reverse("inventory:transfer_new"),
        {
            "unit": [unit.pk],
            "recipient": stock["sam"].pk,
            "send": "1",
            "seen": transfer_seen(client, [unit.pk]),
        },
    )
    transfer = Transfer.objects.get()
    assert transfer.status == "pending"
    # riley cannot accept on sam's behalf
    assert client.post(reverse("inventory:transfer_accept", args=[transfer.pk])).status_code == 403
    client.force_login(stock["sam"])
    waiting = client.get(reverse("inventory:transfer_list")).content.decode()
    assert f"#{transfer.pk}" in waiting
    client.post(reverse("inventory:transfer_accept", args=[transfer.pk]))
    unit.refresh_from_db()
    assert unit.custodian == stock["sam"]


def test_decline_without_reason_changes_nothing(client, rep, stock):
    unit = Unit.objects.get(serial_number="R-1")
    client.force_login(rep)
    client.post(
        reverse("inventory:transfer_new"),
        {
            "unit": [unit.pk],
            "recipient": stock["sam"].pk,
            "send": "1",
            "seen": transfer_seen(client, [unit.pk]),
        },
    )
    transfer = Transfer.objects.get()
    client.force_login(stock["sam"])
    response = client.post(
        reverse("inventory:transfer_decline", args=[transfer.pk]), {"reason": " "}, follow=True
    )
    assert "Say why you decline" in response.content.decode()
    transfer.refresh_from_db()
    assert transfer.status == "pending"
    response = client.post(
        reverse("inventory:transfer_decline", args=[transfer.pk]),
        {"reason": "Wrong size"},
        follow=True,
    )
    unit.refresh_from_db()
    assert (unit.state, unit.custodian) == (UnitState.HOLD, rep)


def test_scanning_serials_selects_units_for_transfer(client, distributor, stock):
    client.force_login(distributor)
    response = client.post(
        reverse("inventory:transfer_new"), {"scan": "R-1\nS-2\nC-1\nNOPE", "add_scanned": "1"}
    )
    body = response.content.decode()
    assert body.count('name="unit"') >= 2
    assert "C-1: no unit you can use matches this." in body
    assert "NOPE: no unit you can use matches this." in body


def test_transfer_of_a_unit_in_transit_names_the_transfer(client, rep, distributor, stock):
    unit = Unit.objects.get(serial_number="R-1")
    client.force_login(rep)
    client.post(
        reverse("inventory:transfer_new"),
        {
            "unit": [unit.pk],
            "recipient": stock["sam"].pk,
            "send": "1",
            "seen": transfer_seen(client, [unit.pk]),
        },
    )
    first = Transfer.objects.get()
    client.force_login(distributor)
    response = client.post(
        reverse("inventory:transfer_new"),
        {
            "unit": [unit.pk],
            "recipient": distributor.pk,
            "send": "1",
            "seen": transfer_seen(client, [unit.pk]),
        },
        follow=True,
    )
    assert f"R-1 is already in transit to Sam (transfer #{first.pk})" in response.content.decode()
    assert Transfer.objects.count() == 1
    assert CustodyEntry.objects.filter(unit=unit).count() == 2


def test_admin_releases_hold_from_the_unit_page(client, admin_user, rep, stock):
    unit = Unit.objects.get(serial_number="R-1")
    client.force_login(rep)
    client.post(
        reverse("inventory:transfer_new"),
        {
            "unit": [unit.pk],
            "recipient": stock["sam"].pk,
            "send": "1",
            "seen": transfer_seen(client, [unit.pk]),
        },
    )
    client.force_login(stock["sam"])
    client.post(
        reverse("inventory:transfer_decline", args=[Transfer.objects.get().pk]),
        {"reason": "Not mine"},
    )
    client.force_login(admin_user)
    page = reverse("inventory:unit_detail", args=[unit.pk])
    client.post(
        reverse("inventory:hold_release"), {"unit": [unit.pk], "seen": seen_on(client, page)}
    )
    unit.refresh_from_db()
    assert unit.state == UnitState.AVAILABLE and unit.custodian == rep


def test_receive_csv_reports_every_bad_row_and_imports_nothing(client, admin_user, org):
    ProductFactory(organization=org, catalog_number="SCR-1")
    data = (
        b"catalog_number,serial_number,lot_number,expiration_date\n"
        b"SCR-1,A1,L1,2030-01-01\n"
        b"NOPE,A2,L1,2030-01-01\n"
        b"SCR-1,A3,L1,01/02/2030\n"
    )
    client.force_login(admin_user)
    upload = io.BytesIO(data)
    upload.name = "units.csv"
    response = client.post(
        reverse("inventory:receive_csv"), {"csv-file": upload, "csv-custodian": "org"}
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "Line 3: unknown catalog number &#x27;NOPE&#x27;" in body
    assert "Line 4: expiration_date &#x27;01/02/2030&#x27; is not YYYY-MM-DD" in body
    assert not Unit.objects.exists()


def test_receive_udi_with_unknown_gtin_says_so(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        reverse("inventory:receive_udi"),
        {"udi-udi": "(01)09506000134352(21)X1", "udi-custodian": "org"},
    )
    assert "No product in the catalog has GTIN 09506000134352" in response.content.decode()
    assert not Unit.objects.exists()


def test_distributor_receives_only_into_own_custody(client, distributor, rep, org):
    product = ProductFactory(organization=org)
    client.force_login(distributor)
    response = client.post(
        reverse("inventory:receive"),
        {"product": product.pk, "serial_numbers": "X1", "quantity": 1, "custodian": rep.pk},
    )
    assert "Select a valid choice" in response.content.decode()
    client.post(
        reverse("inventory:receive"),
        {
            "product": product.pk,
            "serial_numbers": "X1\nX2",
            "quantity": 2,
            "custodian": distributor.pk,
        },
    )
    assert sorted(
        Unit.objects.filter(custodian=distributor).values_list("serial_number", flat=True)
    ) == ["X1", "X2"]


def test_inactive_units_leave_the_list_unless_asked_for(client, admin_user, org):
    from inventory.models import EntryKind
    from inventory.services.ledger import lock_units, record_entries

    product = ProductFactory(organization=org)
    gone, kept = receive_units(admin_user, None, n=2, product=product, serial_prefix="G-")
    record_entries(
        units=lock_units([gone.pk], organization_id=org.pk),
        kind=EntryKind.ADJUSTED,
        to_state=UnitState.INACTIVE,
        actor=admin_user,
    )
    client.force_login(admin_user)
    assert serials_on(client.get(reverse("inventory:unit_list"))) == [kept.serial_number]
    response = client.get(reverse("inventory:unit_list"), {"state": "inactive"})
    assert serials_on(response) == [gone.serial_number]
    detail = client.get(reverse("inventory:unit_detail", args=[gone.pk]))
    assert detail.status_code == 200 and "Adjusted" in detail.content.decode()


def test_the_selection_form_posts_so_no_csrf_token_lands_in_a_url(client, admin_user, stock):
    client.force_login(admin_user)
    body = client.get(reverse("inventory:unit_list")).content.decode()
    assert '<form method="post" action="/inventory/transfers/new/" id="unit-select-form">' in body
    unit = Unit.objects.get(serial_number="R-1")
    response = client.post(reverse("inventory:transfer_new"), {"unit": [unit.pk]})
    assert "Transfer 1 unit" in response.content.decode()
    assert not Transfer.objects.exists()


def test_units_on_hold_can_be_ticked_only_by_admins(client, admin_user, rep, stock):
    unit = Unit.objects.get(serial_number="R-1")
    client.force_login(rep)
    client.post(
        reverse("inventory:transfer_new"),
        {
            "unit": [unit.pk],
            "recipient": stock["sam"].pk,
            "send": "1",
            "seen": transfer_seen(client, [unit.pk]),
        },
    )
    client.force_login(stock["sam"])
    client.post(
        reverse("inventory:transfer_decline", args=[Transfer.objects.get().pk]), {"reason": "No"}
    )
    checkbox = f'name="unit" value="{unit.pk}" aria-label="Select R-1" disabled'
    client.force_login(rep)
    assert checkbox in client.get(reverse("inventory:unit_list")).content.decode()
    client.force_login(admin_user)
    assert checkbox not in client.get(reverse("inventory:unit_list")).content.decode()


def test_a_doubled_unit_id_counts_once(client, distributor, rep, stock):
    unit = Unit.objects.get(serial_number="R-1")
    client.force_login(distributor)
    response = client.post(
        reverse("inventory:transfer_new"),
        {
            "unit": [unit.pk, unit.pk],
            "recipient": stock["sam"].pk,
            "send": "1",
            "seen": transfer_seen(client, [unit.pk, unit.pk]),
        },
        follow=True,
    )
    assert "Transferred 1 unit(s) to Sam" in response.content.decode()


def test_returns_to_organization_custody_wait_on_the_admin(client, admin_user, rep, stock):
    unit = Unit.objects.get(serial_number="R-1")
    client.force_login(rep)
    client.post(
        reverse("inventory:transfer_new"),
        {
            "unit": [unit.pk],
            "recipient": "org",
            "send": "1",
            "seen": transfer_seen(client, [unit.pk]),
        },
    )
    transfer = Transfer.objects.get()
    client.force_login(admin_user)
    body = client.get(reverse("inventory:transfer_list")).content.decode()
    waiting_on_me = body.split('id="waiting-on-me"')[1].split("</section>")[0]
    assert f"#{transfer.pk}" in waiting_on_me
    from accounts.selectors import actor_for
    from events.selectors import dashboard

    assert dashboard(user=admin_user, actor=actor_for(admin_user))["waiting_on_me"] == 1


# --- Holder pickers: no page lists every holder ------------------------------------------------


@pytest.mark.parametrize("typed", ["Sam", "sam rep", "{username}", "Sam Rep ({username})", "{pk}"])
def test_admin_narrows_by_a_custodian_typed_into_the_box(client, admin_user, stock, typed):
    sam = stock["sam"]
    sam.display_name = "Sam Rep"
    sam.save()
    client.force_login(admin_user)
    text = typed.format(username=sam.username, pk=sam.pk)
    response = client.get(reverse("inventory:unit_list"), {"custodian": text})
    assert prefixes(serials_on(response)) == ["S"]


@pytest.mark.parametrize("typed", ["org", "Organization custody", "organization CUSTODY"])
def test_admin_picks_organization_custody_in_the_custodian_box(client, admin_user, stock, typed):
    client.force_login(admin_user)
    response = client.get(reverse("inventory:unit_list"), {"custodian": typed})
    assert prefixes(serials_on(response)) == ["O"]


def test_an_ambiguous_custodian_names_the_matches_and_shows_nothing(client, admin_user, org, stock):
    RepFactory(organization=org, display_name="Sammy")
    client.force_login(admin_user)
    response = client.get(reverse("inventory:unit_list"), {"custodian": "sa"})
    assert serials_on(response) == []
    assert "matches several people" in response.content.decode()


def test_inventory_pages_do_not_list_every_holder(client, admin_user, distributor, rep, org, stock):
    others = [RepFactory(organization=org) for _ in range(5)]
    client.force_login(admin_user)
    unit = Unit.objects.get(serial_number="R-1")
    pages = [
        client.get(reverse("inventory:unit_list")),
        client.get(reverse("inventory:transfer_new"), {"unit": unit.pk}),
        client.get(reverse("inventory:receive")),
    ]
    for response in pages:
        body = response.content.decode()
        for person in [*others, rep, distributor]:
            assert f'<option value="{person.pk}"' not in body
        assert 'data-holder-url="/users/holders/?purpose=' in body
        assert '<option value="Organization custody" data-fixed>' in body


def test_a_distributor_picks_among_her_own_reps_only(client, distributor, rep, stock):
    client.force_login(distributor)
    response = client.get(reverse("inventory:unit_list"))
    choices = [v for v, _ in response.context["filter"].form.fields["rep"].choices if v]
    assert sorted(choices) == sorted([str(rep.pk), str(stock["sam"].pk)])
    assert f'<option value="{stock["casey"].pk}"' not in response.content.decode()


def test_a_rep_has_no_custodian_or_rep_picker(client, rep, stock):
    client.force_login(rep)
    response = client.get(reverse("inventory:unit_list"))
    assert not {"custodian", "rep"} & set(response.context["filter"].form.fields)
    assert "data-holder-url" not in response.content.decode()


def test_the_transfer_box_takes_a_typed_name_and_organization_custody(client, rep, stock):
    one, two = Unit.objects.filter(serial_number__in=["R-1", "R-2"]).order_by("pk")
    client.force_login(rep)
    response = client.post(
        reverse("inventory:transfer_new"),
        {
            "unit": [one.pk],
            "recipient": f"{stock['sam'].name} ({stock['sam'].username})",
            "send": "1",
            "seen": transfer_seen(client, [one.pk]),
        },
        follow=True,
    )
    assert "waiting for them to accept" in response.content.decode()
    response = client.post(
        reverse("inventory:transfer_new"),
        {
            "unit": [two.pk],
            "recipient": "Organization custody",
            "send": "1",
            "seen": transfer_seen(client, [two.pk]),
        },
        follow=True,
    )
    assert "to organization custody" in response.content.decode()
    assert sorted(Transfer.objects.values_list("recipient_id", flat=True), key=str) == sorted(
        [stock["sam"].pk, None], key=str
    )


def test_the_transfer_box_refuses_the_sender_and_changes_nothing(client, rep, stock):
    unit = Unit.objects.get(serial_number="R-1")
    client.force_login(rep)
    response = client.post(
        reverse("inventory:transfer_new"),
        {
            "unit": [unit.pk],
            "recipient": rep.username,
            "send": "1",
            "seen": transfer_seen(client, [unit.pk]),
        },
    )
    text = html.unescape(response.content.decode())
    assert "You already hold the units you picked" in text
    assert "Nobody you may pick here matches" not in text
    assert not Transfer.objects.exists()


def test_handing_units_to_the_rep_who_took_them_meanwhile_says_so(client, distributor, rep, stock):
    """The distributor's page was loaded while the unit was hers; by the time she presses Send
    to that rep, the unit has reached the rep another way (here: her own earlier transfer, as
    a second tab or a colleague would): a lost race, told as such, nothing changes."""
    unit = Unit.objects.get(serial_number="D-1")
    client.force_login(distributor)
    seen = transfer_seen(client, [unit.pk])
    transfer_create(actor=distributor, unit_ids=[unit.pk], recipient=rep)
    unit.refresh_from_db()
    assert unit.custodian == rep
    before = (Transfer.objects.count(), CustodyEntry.objects.count())
    response = client.post(
        reverse("inventory:transfer_new"),
        {"unit": [unit.pk], "recipient": f"{rep.name} ({rep.username})", "send": "1", "seen": seen},
    )
    assert response.status_code == 200
    assert f"{rep.name} already holds the units you picked" in html.unescape(
        response.content.decode()
    )
    assert (Transfer.objects.count(), CustodyEntry.objects.count()) == before


# --- Search: exact codes first, short terms by prefix, then "contains" -----------------------


@pytest.fixture
def codes(org, admin_user):
    product = ProductFactory(organization=org, catalog_number="CAT-77", description="Hip stem")
    other = ProductFactory(organization=org, catalog_number="XCAT-770", description="Knee")
    receive_units(admin_user, None, n=1, product=product, serial_prefix="AB", lot_number="LOT9")
    receive_units(admin_user, None, n=1, product=product, serial_prefix="AB1")  # AB11
    receive_units(admin_user, None, n=1, product=other, serial_prefix="ZAB")  # ZAB1
    return {"product": product, "other": other}


def _search(client, admin_user, q):
    client.force_login(admin_user)
    response = client.get(reverse("inventory:unit_list"), {"q": q})
    return sorted(u.serial_number for u in response.context["units"]), response


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("AB1", ["AB1"]),  # exact serial, though AB11 and ZAB1 contain it
        ("ab1", ["AB1"]),  # any case
        ("lot9", ["AB1"]),  # exact lot
        ("cat-77", ["AB1", "AB11"]),  # exact catalog number, not XCAT-770
    ],
)
def test_an_exact_serial_lot_or_catalog_number_shows_only_its_units(
    client, admin_user, codes, q, expected
):
    found, response = _search(client, admin_user, q)
    assert found == expected
    assert "Short searches" not in response.content.decode()


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("B11", ["AB11"]),  # part of a serial
        ("CAT-7", ["AB1", "AB11", "ZAB1"]),  # part of catalog numbers
        ("knee", ["ZAB1"]),  # part of a description
    ],
)
def test_three_or_more_characters_match_anywhere(client, admin_user, codes, q, expected):
    found, response = _search(client, admin_user, q)
    assert found == expected
    assert "Short searches" not in response.content.decode()


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("a", ["AB1", "AB11"]),  # serials starting with A, not ZAB1
        ("zA", ["ZAB1"]),
        ("xc", ["ZAB1"]),  # a catalog number's start
        ("b1", []),  # in the middle of serials: not matched by a short search
    ],
)
def test_short_searches_match_only_the_start_and_the_page_says_so(
    client, admin_user, codes, q, expected
):
    found, response = _search(client, admin_user, q)
    assert found == expected
    assert (
        "Short searches match the start of a serial, lot or catalog number."
        in response.content.decode()
    )


def test_a_search_matching_nothing_shows_nothing(client, admin_user, codes):
    found, response = _search(client, admin_user, "NO-SUCH-CODE")
    assert found == []
    assert "No units match." in response.content.decode()


def test_an_exact_match_outside_the_scope_does_not_hide_matches_within_it(
    client, rep, admin_user, org, stock
):
    # casey (another group) holds C-1; riley's search for "C-1" must not come up empty
    # because of it, nor show it.
    receive_units(admin_user, rep, n=1, product=stock["product"], serial_prefix="XC-1")
    client.force_login(rep)
    response = client.get(reverse("inventory:unit_list"), {"q": "C-1"})
    assert [u.serial_number for u in response.context["units"]] == ["XC-11"]


# --- Transfers page: Recent pages with a cursor; the pending lists say when capped -----------


def _send(actor, units, to):

    return transfer_create(actor=actor, unit_ids=[u.pk for u in units], recipient=to)


def test_recent_transfers_page_with_a_cursor_and_counts_only_the_rows_shown(
    client, admin_user, distributor, rep, org
):
    units = receive_units(admin_user, rep, n=55)
    for unit in units:
        _send(distributor, [unit], distributor)  # completes at once
    client.force_login(admin_user)
    url = reverse("inventory:transfer_list")
    with CaptureQueriesContext(connection) as ctx:
        first = client.get(url)
    assert len(first.context["recent"]) == 50
    assert all(t.unit_count == 1 for t in first.context["recent"])
    # No query groups transfers by their lines to count units for the whole list.
    assert not any(
        "GROUP BY" in q["sql"] and 'FROM "inventory_transfer"' in q["sql"]
        for q in ctx.captured_queries
    )
    with CaptureQueriesContext(connection) as ctx:
        second = client.get(url, {"after": first.context["page"].next_cursor})
    recent_sql = [
        q["sql"]
        for q in ctx.captured_queries
        if 'FROM "inventory_transfer"' in q["sql"] and "NOT" in q["sql"]
    ]
    assert recent_sql and all(
        "OFFSET" not in sql and sql.rstrip().endswith("LIMIT 51") for sql in recent_sql
    )
    seen = [t.pk for t in first.context["recent"]] + [t.pk for t in second.context["recent"]]
    assert sorted(seen) == sorted(Transfer.objects.values_list("pk", flat=True))
    assert "Page 1" in second.content.decode()


def test_transfer_page_query_count_does_not_grow_with_its_lists(
    client, admin_user, distributor, rep, org
):
    sam = RepFactory(organization=org)
    client.force_login(admin_user)
    url = reverse("inventory:transfer_list")
    _send(rep, receive_units(admin_user, rep, n=1), sam)
    _send(distributor, receive_units(admin_user, rep, n=1), distributor)
    few, _ = _query_count(client, url)
    for _ in range(6):
        _send(rep, receive_units(admin_user, rep, n=2), sam)
        _send(distributor, receive_units(admin_user, rep, n=1), distributor)
    many, _ = _query_count(client, url)
    assert many == few


def test_capped_pending_lists_say_so(client, admin_user, rep, org, monkeypatch):

    sam = RepFactory(organization=org)
    for _ in range(3):
        _send(rep, receive_units(admin_user, rep, n=1), sam)
    client.force_login(rep)
    url = reverse("inventory:transfer_list")
    assert "Only the" not in client.get(url).content.decode()
    monkeypatch.setattr(transfer_views, "PENDING_SHOWN", 2)
    body = client.get(url).content.decode()
    assert "Only the 2 newest pending transfers you sent are listed here." in body
    client.force_login(sam)
    body = client.get(url).content.decode()
    assert "only the 2 newest are listed here" in body


# --- CSV export: capped, and both the page and the file say so -------------------------------


def _export_rows(client, params=None):
    response = client.get(reverse("inventory:unit_export"), params or {})
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_a_capped_export_ends_with_a_line_that_says_so(client, admin_user, org, monkeypatch):
    receive_units(admin_user, None, n=4, serial_prefix="X-")
    client.force_login(admin_user)
    monkeypatch.setattr(unit_views, "EXPORT_LIMIT", 4)
    rows = _export_rows(client)
    assert len(rows) == 5 and not any("capped" in cell for row in rows for cell in row)
    monkeypatch.setattr(unit_views, "EXPORT_LIMIT", 3)
    rows = _export_rows(client)
    assert len(rows) == 1 + 3 + 1
    assert rows[-1] == [
        "Export capped: only the first 3 rows are in this file. Narrow the filters to export "
        "the rest."
    ]


def test_the_inventory_page_says_the_export_is_capped_when_the_list_is_long(
    client, admin_user, org
):
    client.force_login(admin_user)
    receive_units(admin_user, None, n=3)
    assert (
        'data-testid="export-cap"'
        not in client.get(reverse("inventory:unit_list")).content.decode()
    )
    receive_units(admin_user, None, n=50)
    body = client.get(reverse("inventory:unit_list")).content.decode()
    assert "The CSV export holds at most 100,000 rows" in body


def test_the_filter_bars_lists_are_escaped_and_keep_the_chosen_option(client, org, admin_user):
    from tests.events.factories import FacilityFactory
    from tests.inventory.factories import LocationFactory

    LocationFactory(organization=org, name="Aisle 1")
    chosen = LocationFactory(organization=org, name="<b>Trunk & Co</b>")
    FacilityFactory(organization=org, name="St. Mary's")
    client.force_login(admin_user)

    body = client.get(reverse("inventory:unit_list"), {"location": chosen.pk}).content.decode()

    assert (
        f'<option value="{chosen.pk}" selected>&lt;b&gt;Trunk &amp; Co&lt;/b&gt;</option>' in body
    )
    assert '<option value="">Any location</option>' in body
    assert "<b>Trunk" not in body
    assert "St. Mary&#x27;s</option>" in body  # the inventory list keeps "Sold to facility"
    assert '<option value="" selected>Any facility</option>' in body  # nothing chosen there


def test_my_reps_custody_names_the_custodian_list_once(distributor, rep, stock):
    """Two "custodian IN" lists (the scope's and the filter's) made PostgreSQL expect 255 of a
    distributor's 71,000 rep units at full scale, and sort them all: 300-500 ms a page."""
    filterset, qs, valid = filtered_units(
        params={"custody": "reps"},
        actor=actor_for(distributor),
        queryset=Unit.objects.visible_to(distributor),
    )
    assert valid
    sql, params = qs.query.sql_with_params()
    # The scope's list, and the one holder left out of it: never the reps' list again
    # (`__any_of`: one array parameter on PostgreSQL, an IN list on SQLite).
    scope_lists = re.findall(r'(?<!NOT \()"inventory_unit"\."custodian_id" (?:IN \(|= ANY\()', sql)
    assert len(scope_lists) == 1, sql
    tests = re.findall(r'"inventory_unit"\."custodian_id" (?:IN \(|= ANY\(|= %s)', sql)
    assert len(tests) == 2, sql
    left_out = re.search(r'NOT \("inventory_unit"\."custodian_id" (IN \(%s\)|= %s)', sql)
    assert left_out, sql
    assert [distributor.pk] in params or distributor.pk in params
    assert sorted(s[0] for s in qs.values_list("serial_number", flat=True)) == ["R", "R", "S", "S"]


@pytest.mark.parametrize(
    ("search", "read_apart"),
    [("", True), ("R", True), ("R-0", False), ("zzz", False)],
)
def test_a_pooled_reps_list_is_read_per_holder_unless_a_search_names_few_units(
    distributor, rep, stock, search, read_apart
):
    """Per-holder reads repeat the scope's custodian list, and PostgreSQL then expected 5 of
    28,000 units and tested a "contains" search on each in expiry order (35-170 ms at full
    scale); the search's own index finds its few units of the scope in one query."""
    group = distributor.distributor_group
    group.pooling_enabled = True
    group.save()
    actor = actor_for(rep)
    filterset, qs, valid = filtered_units(
        params={"q": search} if search else {},
        actor=actor,
        queryset=Unit.objects.visible_to(rep),
    )
    assert valid
    partitions = list_partitions(filterset, holder_ids_in_scope(actor=actor))
    assert len(partitions) == (2 if read_apart else 0)
