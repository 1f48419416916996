"""The recall lookup and recall pages: who sees what, counts over every match, units paged by
cursor 50 at a time, the cases that used a unit (never a name), and the formula-safe CSV."""

import csv
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from events.services.events import event_submit, event_update
from inventory.models import Unit, UnitState
from inventory.selectors import recalls as recall_selectors
from inventory.services.recalls import recall_record
from inventory.views import recalls as recall_views
from tests.events.factories import PhysicianFactory, mark_used, open_event
from tests.factories import AdminFactory, DistributorFactory, RepFactory, UserFactory
from tests.inventory.factories import ProductFactory, receive_units
from tests.pages import seen_fields

LOOKUP = reverse("inventory:recall_lookup")


@pytest.fixture
def lot(org, admin_user, distributor, rep):
    product = ProductFactory(organization=org, lot_tracked=True, gtin="00850001230018")
    other_group = DistributorFactory(organization=org)
    units = {
        "dana": receive_units(admin_user, distributor, n=53, product=product, lot_number="=L1"),
        "riley": receive_units(admin_user, rep, n=2, product=product, lot_number="=L1"),
        "drew": receive_units(admin_user, other_group, n=3, product=product, lot_number="=L1"),
    }
    physician = PhysicianFactory(organization=org, name="Dr. Hale")
    case = open_event(rep, physician=physician)
    case.patient_ref = "CASE-9"
    case.save(update_fields=["patient_ref"])
    mark_used(rep, case, units["riley"][:1])
    return {"product": product, "units": units, "case": case}


def test_an_admin_sees_counts_over_every_match_and_pages_units_50_at_a_time(
    client, admin_user, lot
):
    client.force_login(admin_user)
    response = client.get(LOOKUP, {"code": "=L1"})
    counts = response.context["counts"]
    assert counts["total"] == 58
    assert dict(counts["by_state"]) == {"Available": 57, "Allocated": 1}
    assert len(response.context["page"].rows) == 50
    second = client.get(LOOKUP, {"code": "=L1", "after": response.context["page"].next_cursor})
    assert len(second.context["page"].rows) == 8
    (case,) = response.context["cases"]
    assert (case.surgeon, case.patient_ref) == ("Dr. Hale", "CASE-9")


def test_a_distributor_sees_only_her_scope(client, distributor, lot):
    client.force_login(distributor)
    response = client.get(LOOKUP, {"product": lot["product"].catalog_number, "lots": "=L1"})
    assert response.context["counts"]["total"] == 55  # hers and her rep's, not drew's


def test_a_scanned_udi_finds_its_lot(client, admin_user, distributor, lot):
    receive_units(admin_user, distributor, n=2, product=lot["product"], lot_number="ABC7")
    client.force_login(admin_user)
    response = client.get(LOOKUP, {"code": "(01)00850001230018(17)271231(10)ABC7"})
    assert response.context["counts"]["total"] == 2


def test_a_rep_cannot_look_up(client, rep, lot):
    client.force_login(rep)
    assert client.get(LOOKUP, {"code": "=L1"}).status_code == 403


def test_an_unknown_product_is_a_message_not_an_error(client, admin_user, lot):
    client.force_login(admin_user)
    response = client.get(LOOKUP, {"product": "NOPE", "lots": "x"})
    assert "No product has catalog number or GTIN NOPE" in response.content.decode()


def test_the_lookup_page_runs_a_fixed_number_of_queries(
    client, admin_user, lot, django_assert_max_num_queries
):
    client.force_login(admin_user)
    with django_assert_max_num_queries(20):
        client.get(LOOKUP, {"code": "=L1"})


def _export_rows(client, params):
    response = client.get(reverse("inventory:recall_lookup_export"), params)
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


EXPORT_HEADER = [
    "catalog_number",
    "lot_number",
    "serial_number",
    "expiration_date",
    "state",
    "holder",
    "location",
    "facility",
    "event",
    "event_status",
    "event_date",
    "event_facility",
    "surgeon",
    "patient_reference",
]


def test_the_export_neutralizes_formulas_and_lists_cases(client, admin_user, lot):
    client.force_login(admin_user)
    rows = _export_rows(client, {"code": "=L1"})
    assert rows[0] == EXPORT_HEADER
    assert rows[1][1] == "'=L1"
    (used,) = [row for row in rows if "CASE-9" in row]
    assert used[2] == lot["units"]["riley"][0].serial_number


def test_the_export_is_one_table_a_row_per_unit_and_case_naming_units_by_their_label(
    client, admin_user, rep, org
):
    """A reusable unit used on two cases has two rows (its columns repeated), a unit no case
    used has one row with empty case columns; no blank row, no second header, no internal id."""
    product = ProductFactory(organization=org, serial_tracked=True, single_use=False)
    used, spare = receive_units(
        admin_user, rep, n=2, product=product, serial_prefix="TB-", lot_number="LOT-T"
    )
    cases = []
    for ref in ("PT-1", "PT-2"):
        case = open_event(rep)
        event_update(actor=rep, event=case, patient_ref=ref)
        mark_used(rep, case, [used])
        event_submit(actor=rep, event=case)
        cases.append(case)
    client.force_login(admin_user)
    rows = _export_rows(client, {"code": "LOT-T"})
    assert rows[0] == EXPORT_HEADER
    assert all(len(row) == len(EXPORT_HEADER) for row in rows)
    unit_part = [product.catalog_number, "LOT-T"]
    assert [(row[:3], row[8], row[13]) for row in rows[1:]] == [
        (unit_part + [used.serial_number], cases[0].name, "PT-1"),
        (unit_part + [used.serial_number], cases[1].name, "PT-2"),
        (unit_part + [spare.serial_number], "", ""),
    ]
    assert rows[3][8:] == [""] * 6
    ids = {str(used.pk), str(spare.pk)}
    assert not any(cell in ids for row in rows for cell in row)


def test_the_recall_page_tracks_progress_and_returns(client, admin_user, lot):
    recall = recall_record(
        actor=admin_user,
        reference="R-V",
        reason="x",
        recall_class="I",
        product=lot["product"],
        lot_numbers=["=L1"],
        recall_date=timezone.localdate(),
    )
    client.force_login(admin_user)
    page = client.get(reverse("inventory:recall_detail", args=[recall.pk]))
    progress = page.context["progress"]
    assert (progress.found, progress.quarantined, len(progress.open_cases)) == (58, 57, 1)
    assert "Dr. Hale" in page.content.decode()
    assert page.context["can_return"] and "Return 57 unit(s)" in page.content.decode()
    (seen,) = seen_fields(page.content.decode())
    client.post(
        reverse("inventory:recall_return", args=[recall.pk]),
        {"reference": "RMA-1", "returned_on": timezone.localdate().isoformat(), "seen": seen},
    )
    page = client.get(reverse("inventory:recall_detail", args=[recall.pk]))
    assert page.context["progress"].returned == 57
    assert (
        lot["units"]["riley"][0].__class__.objects.get(pk=lot["units"]["riley"][0].pk).state
        == UnitState.ALLOCATED
    )


def test_a_distributor_of_another_group_does_not_see_the_recall(client, org, admin_user, lot):
    recall = recall_record(
        actor=admin_user,
        reference="R-W",
        reason="x",
        recall_class="I",
        product=lot["product"],
        lot_numbers=["=L1"],
        recall_date=timezone.localdate(),
    )
    stranger = DistributorFactory(organization=org)
    RepFactory(organization=org, assigned_to=stranger)
    client.force_login(stranger)
    assert client.get(reverse("inventory:recall_detail", args=[recall.pk])).status_code == 404


def _recall(admin_user, lot, reference="R-S"):
    return recall_record(
        actor=admin_user,
        reference=reference,
        reason="x",
        recall_class="II",
        product=lot["product"],
        lot_numbers=["=L1"],
        recall_date=timezone.localdate(),
    )


def _messages(response):
    return [str(m) for m in response.context["messages"]]


def test_returning_another_organizations_unit_is_not_found_and_names_nothing(
    client, admin_user, lot
):
    recall = _recall(admin_user, lot)
    stranger = UserFactory(admin=True)
    foreign_product = ProductFactory(organization=stranger.organization, lot_tracked=True)
    (foreign,) = receive_units(stranger, None, n=1, product=foreign_product, lot_number="SECRET")
    client.force_login(admin_user)
    response = client.post(
        reverse("inventory:recall_return", args=[recall.pk]),
        {
            "reference": "RMA",
            "returned_on": timezone.localdate().isoformat(),
            "unit": [foreign.pk],
            # Hand-made, as a forger would: the unit's true sequence changes nothing.
            "seen": f"{foreign.pk}:{foreign.ledger_seq}",
        },
        follow=True,
    )
    text = " ".join(_messages(response))
    assert "not found" in text
    assert "SECRET" not in text and "SECRET" not in response.content.decode()
    assert Unit.objects.get(pk=foreign.pk).state == UnitState.AVAILABLE
    assert response.context["progress"].returned == 0


def test_a_distributor_sees_only_her_scopes_units_and_counts_on_the_recall_page(
    client, admin_user, distributor, lot
):
    recall = _recall(admin_user, lot)
    client.force_login(distributor)
    response = client.get(reverse("inventory:recall_detail", args=[recall.pk]))
    progress = response.context["progress"]
    drew_ids = {u.pk for u in lot["units"]["drew"]}
    # Dana's 53 and her rep Riley's 2; never the 3 of the other group's distributor.
    assert (progress.found, progress.quarantined) == (55, 54)
    page = response.context["page"]
    assert len(page.rows) == 50
    assert not drew_ids & {row.unit_id for row in page.rows}
    second = client.get(
        reverse("inventory:recall_detail", args=[recall.pk]), {"after": page.next_cursor}
    )
    rows = second.context["page"].rows
    assert len(rows) == 5 and not drew_ids & {row.unit_id for row in rows}
    html = response.content.decode()
    assert not any(reverse("inventory:unit_detail", args=[pk]) + '"' in html for pk in drew_ids)


def test_an_admin_pages_every_unit_of_the_recall(client, admin_user, lot):
    recall = _recall(admin_user, lot)
    client.force_login(admin_user)
    response = client.get(reverse("inventory:recall_detail", args=[recall.pk]))
    assert response.context["progress"].found == 58
    assert len(response.context["page"].rows) == 50
    assert response.context["page"].has_next


def test_the_recall_page_caps_its_cases_and_says_so(
    client, admin_user, rep, lot, settings, monkeypatch
):
    monkeypatch.setattr(recall_selectors, "CASES_SHOWN", 1)
    mark_used(rep, open_event(rep), lot["units"]["riley"][1:])
    recall = _recall(admin_user, lot)
    client.force_login(admin_user)
    response = client.get(reverse("inventory:recall_detail", args=[recall.pk]))
    progress = response.context["progress"]
    assert len(progress.cases) == 1 and progress.more_cases
    assert "first 1 case" in response.content.decode()


def test_the_recall_page_runs_a_fixed_number_of_queries(
    client, admin_user, rep, lot, django_assert_max_num_queries
):
    recall = _recall(admin_user, lot)
    client.force_login(admin_user)
    with django_assert_max_num_queries(20):
        client.get(reverse("inventory:recall_detail", args=[recall.pk]))


def test_a_return_with_only_unreadable_units_is_refused_and_returns_nothing(
    client, admin_user, lot
):
    recall = _recall(admin_user, lot)
    client.force_login(admin_user)
    response = client.post(
        reverse("inventory:recall_return", args=[recall.pk]),
        {"reference": "RMA", "returned_on": timezone.localdate().isoformat(), "unit": ["abc"]},
        follow=True,
    )
    assert "Select at least one" in " ".join(_messages(response))
    assert response.context["progress"].returned == 0


def test_a_capped_lookup_export_says_so_in_its_last_row(client, admin_user, lot, monkeypatch):

    monkeypatch.setattr(recall_views, "EXPORT_LIMIT", 5)
    client.force_login(admin_user)
    response = client.get(reverse("inventory:recall_lookup_export"), {"code": "=L1"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len([r for r in rows if r and r[0] == lot["product"].catalog_number]) == 5
    assert any("Export capped" in " ".join(r) for r in rows)


def test_a_long_numeric_lot_starting_with_01_is_looked_up_as_a_lot(client, admin_user, org):
    product = ProductFactory(organization=org, lot_tracked=True)
    receive_units(admin_user, None, n=2, product=product, lot_number="0123456789012345")
    client.force_login(admin_user)
    response = client.get(LOOKUP, {"code": "0123456789012345"})
    assert response.context["counts"]["total"] == 2


def test_the_lookup_page_lists_a_capped_number_of_cases_and_says_so(
    client, admin_user, lot, monkeypatch
):
    client.force_login(admin_user)
    page = client.get(LOOKUP, {"code": "=L1"}).content.decode()
    assert "CASE-9" in page and 'data-testid="lookup-more-cases"' not in page
    monkeypatch.setattr(recall_views, "LOOKUP_CASES", 0)
    page = client.get(LOOKUP, {"code": "=L1"}).content.decode()
    assert "CASE-9" not in page and 'data-testid="lookup-more-cases"' in page


def test_the_return_form_shows_only_when_there_is_something_to_return(client, admin_user, lot):
    """After everything quarantined went back, the page no longer offers "Return 0 unit(s)"."""
    recall = _recall(admin_user, lot)
    url = reverse("inventory:recall_detail", args=[recall.pk])
    client.force_login(admin_user)
    html = client.get(url).content.decode()
    assert 'data-testid="return-form"' in html and "Return 57 unit(s)" in html
    (seen,) = seen_fields(html)
    client.post(
        reverse("inventory:recall_return", args=[recall.pk]),
        {"reference": "RMA-1", "returned_on": timezone.localdate().isoformat(), "seen": seen},
    )
    page = client.get(url)
    html = page.content.decode()
    assert page.context["progress"].returnable == 0 and not page.context["can_return"]
    assert 'data-testid="return-form"' not in html and "Return 0 unit(s)" not in html
    assert 'data-testid="nothing-to-return"' in html
    assert 'action="' + reverse("inventory:recall_withdraw", args=[recall.pk]) + '"' in html


def test_another_organizations_admin_gets_none_of_a_recalls_units_or_cases(admin_user, lot):
    # The selectors no longer read each unit for an admin (a recall's units are its
    # organization's), so they must refuse a recall of another organization themselves.
    recall = _recall(admin_user, lot)
    stranger = AdminFactory()
    assert recall_selectors.recall_unit_rows(recall=recall, user=stranger).count() == 0
    progress = recall_selectors.recall_progress(recall=recall, user=stranger)
    assert (progress.found, progress.cases) == (0, [])
    own = recall_selectors.recall_progress(recall=recall, user=admin_user)
    assert (own.found, len(own.cases)) == (58, 1)


def test_a_distributor_of_another_group_sees_no_case_of_a_recall_she_may_not_see(org, lot):
    # Case lines come from Event.visible_to on the joined event: drew's distributor sees her
    # own units of the lot but not the case riley's unit was used in.
    drew = Unit.objects.filter(pk=lot["units"]["drew"][0].pk).get().custodian
    found = recall_selectors.hooks.cases_using_units(
        user=drew, unit_ids=[u.pk for u in lot["units"]["riley"]]
    )
    assert found == []
