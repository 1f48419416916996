"""Stale pages (issue 20, finding 5; DESIGN 14): a form that acts on units carries what the
page showed of each (`seen`), and when a unit changed since, nothing happens and the page says
what changed, from the ledger. Scans and offline marks carry no sequence and are judged on the
state now.

Each test opens the real page as a browser would (tests.pages reads its `seen` field), lets
something else change a unit, then submits the page as drawn.
"""

from __future__ import annotations

import datetime
import html
import json
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from events.models import EventLine
from events.services.usage import event_mark_used
from inventory.models import CustodyEntry, EntryKind, Transfer, Unit, UnitState
from inventory.selectors.changes import changes_since
from inventory.services.holds import units_release_hold
from inventory.services.locations import units_move
from inventory.services.recalls import recall_record, recall_return
from inventory.services.transfers import transfer_create, transfer_decline
from tests.events.factories import open_event
from tests.factories import DistributorFactory, RepFactory, UserFactory
from tests.inventory.factories import LocationFactory, ProductFactory, receive_units
from tests.pages import page_seen, seen_on, transfer_seen

pytestmark = pytest.mark.django_db

TRANSFER = reverse("inventory:transfer_new")
MOVE = reverse("inventory:unit_move")
RELEASE = reverse("inventory:hold_release")
HOLDS = reverse("inventory:hold_list")


def _messages(response) -> str:
    return html.unescape(" | ".join(str(m) for m in response.context["messages"]))


def _hhmm(unit_id: int, kind: str) -> str:
    at = CustodyEntry.objects.filter(unit_id=unit_id, kind=kind).latest("sequence").at
    return timezone.localtime(at).strftime("%H:%M")


def _login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def cast(org, admin_user, distributor, rep):
    sam = RepFactory(organization=org, assigned_to=distributor, display_name="Sam Rep")
    return {"admin": admin_user, "dana": distributor, "riley": rep, "sam": sam}


def test_twenty_sessions_open_one_transfer_form_and_only_the_first_submit_moves_it(cast):
    """The finding: twenty admin sessions each opened the unit's transfer form and fourteen
    transfers went through. Now the first submit wins and every later one changes nothing."""
    (unit,) = receive_units(cast["admin"], cast["riley"], n=1, serial_prefix="R-100")
    sessions = [_login(cast["admin"]) for _ in range(20)]
    seen = [transfer_seen(c, [unit.pk]) for c in sessions]
    entries_before = CustodyEntry.objects.filter(unit=unit).count()

    answers = []
    for i, client in enumerate(sessions):
        recipient = cast["sam"] if i % 2 == 0 else cast["dana"]
        answers.append(
            client.post(
                TRANSFER,
                {"unit": [unit.pk], "recipient": recipient.pk, "send": "1", "seen": seen[i]},
                follow=True,
            )
        )

    assert "Transferred 1 unit(s) to Sam Rep" in _messages(answers[0])
    (transfer,) = Transfer.objects.all()
    unit.refresh_from_db()
    assert (unit.custodian, unit.state) == (cast["sam"], UnitState.AVAILABLE)
    # One transfer: its "sent" and (completed at once by an admin) "accepted" entries.
    assert CustodyEntry.objects.filter(unit=unit).count() == entries_before + 2
    told = f"R-1001 went to Sam Rep at {_hhmm(unit.pk, EntryKind.TRANSFER_ACCEPTED)}."
    for later in answers[1:]:
        assert told in _messages(later)
        assert "Transferred" not in _messages(later)


def test_a_reps_transfer_form_opened_twice_sends_once_and_adds_one_entry(cast):
    (unit,) = receive_units(cast["admin"], cast["riley"], n=1, serial_prefix="RT-")
    first, second = _login(cast["riley"]), _login(cast["riley"])
    seen = transfer_seen(first, [unit.pk]), transfer_seen(second, [unit.pk])

    ok = first.post(
        TRANSFER, {"unit": [unit.pk], "recipient": cast["sam"].pk, "send": "1", "seen": seen[0]}
    )
    assert ok.status_code == 302
    late = second.post(
        TRANSFER, {"unit": [unit.pk], "recipient": cast["dana"].pk, "send": "1", "seen": seen[1]}
    )

    assert f"RT-1 was sent to Sam Rep at {_hhmm(unit.pk, EntryKind.TRANSFER_SENT)}." in (
        _messages(late)
    )
    assert Transfer.objects.get().recipient == cast["sam"]
    assert CustodyEntry.objects.filter(unit=unit).count() == 2  # received, sent
    # The page is drawn again as things are now, so a second look judges the new state.
    assert transfer_seen(second, [unit.pk]) == f"{unit.pk}:2"


def test_a_distributors_transfer_for_her_rep_is_refused_when_the_rep_moved_the_unit_first(cast):
    units = receive_units(cast["admin"], cast["riley"], n=2, serial_prefix="DB-")
    dana = _login(cast["dana"])
    seen = transfer_seen(dana, [u.pk for u in units])
    transfer_create(actor=cast["riley"], unit_ids=[units[1].pk], recipient=cast["sam"])

    late = dana.post(
        TRANSFER,
        {"unit": [u.pk for u in units], "recipient": cast["dana"].pk, "send": "1", "seen": seen},
    )

    text = _messages(late)
    assert f"DB-2 was sent to Sam Rep at {_hhmm(units[1].pk, EntryKind.TRANSFER_SENT)}." in text
    assert "DB-1" not in text  # unchanged: not named
    # All or nothing: the unchanged unit did not go either.
    assert Transfer.objects.count() == 1
    assert Unit.objects.get(pk=units[0].pk).custodian == cast["riley"]


def test_a_move_page_is_refused_when_the_unit_moved_meanwhile(cast, org):
    dana = cast["dana"]
    shelf = LocationFactory(organization=org, holder=dana, name="Main shelf")
    bin_ = LocationFactory(organization=org, holder=dana, name="St. Mary bin", kind="bin")
    (unit,) = receive_units(cast["admin"], dana, n=1, serial_prefix="MV-")
    client = _login(dana)
    seen = page_seen(client, "inventory:unit_move", [unit.pk])
    units_move(actor=cast["admin"], unit_ids=[unit.pk], to_location=bin_)

    late = client.post(MOVE, {"unit": [unit.pk], "to_location": shelf.pk, "seen": seen})

    assert f"MV-1 was moved to St. Mary bin at {_hhmm(unit.pk, EntryKind.MOVED)}." in (
        _messages(late)
    )
    assert Unit.objects.get(pk=unit.pk).location == bin_


def test_mark_used_is_refused_when_another_event_took_the_unit_since_the_page_was_drawn(cast):
    riley = cast["riley"]
    units = receive_units(cast["admin"], riley, n=2, serial_prefix="MU-")
    mine, other = open_event(riley), open_event(riley)
    page = reverse("events:mark_used", args=[mine.pk])
    client = _login(riley)
    seen = seen_on(client, page)
    event_mark_used(actor=cast["dana"], event=other, unit_ids=[units[0].pk])

    late = client.post(page, {"unit": [u.pk for u in units], "seen": seen}, follow=True)

    at = _hhmm(units[0].pk, EntryKind.MARKED_USED)
    assert f"MU-1 was marked used on “{other.name}” at {at}." in _messages(late)
    assert not EventLine.objects.filter(event=mine).exists()  # not even MU-2


def _on_hold(cast, n=1, prefix="H-"):
    units = receive_units(cast["admin"], cast["riley"], n=n, serial_prefix=prefix)
    (transfer,) = transfer_create(
        actor=cast["riley"], unit_ids=[u.pk for u in units], recipient=cast["sam"]
    )
    transfer_decline(actor=cast["sam"], transfer=transfer, reason="Wrong size")
    return units


@pytest.mark.parametrize("how", ["selected", "all"])
def test_the_hold_queue_release_is_refused_when_another_admin_released_first(cast, org, how):
    units = _on_hold(cast, n=2)
    client = _login(cast["admin"])
    seen = seen_on(client, HOLDS)
    other_admin = UserFactory(organization=org, admin=True, display_name="Alex Admin")
    units_release_hold(actor=other_admin, unit_ids=[units[0].pk])
    data = {"unit": [u.pk for u in units]} if how == "selected" else {"all": "1"}

    late = client.post(RELEASE, {**data, "seen": seen, "next": HOLDS}, follow=True)

    assert f"H-1 was released from hold at {_hhmm(units[0].pk, EntryKind.HOLD_RELEASED)}." in (
        _messages(late)
    )
    assert Unit.objects.get(pk=units[1].pk).state == UnitState.HOLD


def test_a_recall_return_is_refused_when_a_unit_was_returned_since_the_page_was_drawn(cast, org):
    product = ProductFactory(organization=org)
    units = receive_units(cast["admin"], cast["riley"], n=2, product=product, serial_prefix="RC-")
    recall = recall_record(
        actor=cast["admin"],
        reference="R-2026-07",
        reason="Seal",
        recall_class="II",
        product=product,
        serial_numbers=["RC-1", "RC-2"],
        recall_date=timezone.localdate(),
    )
    client = _login(cast["admin"])
    page = reverse("inventory:recall_detail", args=[recall.pk])
    seen = seen_on(client, page)
    recall_return(
        actor=cast["admin"],
        recall=recall,
        reference="RMA-1",
        returned_on=timezone.localdate(),
        unit_ids=[units[0].pk],
    )

    late = client.post(
        reverse("inventory:recall_return", args=[recall.pk]),
        {"reference": "RMA-2", "returned_on": timezone.localdate().isoformat(), "seen": seen},
        follow=True,
    )

    at = _hhmm(units[0].pk, EntryKind.RETURNED)
    assert f"RC-1 was returned to the manufacturer (recall R-2026-07) at {at}." in (_messages(late))
    assert Unit.objects.get(pk=units[1].pk).state == UnitState.QUARANTINED


def test_a_recall_recorded_since_the_page_was_drawn_is_named(cast, org):
    product = ProductFactory(organization=org)
    (unit,) = receive_units(cast["admin"], cast["riley"], n=1, product=product, serial_prefix="Q-")
    client = _login(cast["riley"])
    seen = transfer_seen(client, [unit.pk])
    recall_record(
        actor=cast["admin"],
        reference="R-2026-09",
        reason="Seal",
        recall_class="I",
        product=product,
        serial_numbers=["Q-1"],
        recall_date=timezone.localdate(),
    )

    late = client.post(
        TRANSFER, {"unit": [unit.pk], "recipient": cast["sam"].pk, "send": "1", "seen": seen}
    )

    at = _hhmm(unit.pk, EntryKind.QUARANTINED)
    assert f"Q-1 was quarantined (recall R-2026-09) at {at}." in _messages(late)
    assert not Transfer.objects.exists()


def test_a_unit_that_left_the_viewers_scope_is_no_longer_available_and_its_new_holder_unnamed(
    cast, org, pooled
):
    """Riley saw the distributor's pooled unit; the distributor then sent it to a rep of
    another group, whom Riley may not see: the page says it is gone, not where."""
    other = DistributorFactory(organization=org)
    stranger = RepFactory(organization=org, assigned_to=other, display_name="Zed Faraway")
    (unit,) = receive_units(cast["admin"], cast["dana"], n=1, serial_prefix="P-")
    client = _login(cast["riley"])
    seen = transfer_seen(client, [unit.pk])
    transfer_create(actor=cast["admin"], unit_ids=[unit.pk], recipient=stranger)

    late = client.post(
        TRANSFER, {"unit": [unit.pk], "recipient": cast["sam"].pk, "send": "1", "seen": seen}
    )

    text = _messages(late)
    at = _hhmm(unit.pk, EntryKind.TRANSFER_ACCEPTED)
    assert f"P-1 is no longer available to you (it changed at {at})." in text
    assert "Zed" not in text and "Zed" not in late.content.decode()
    assert Unit.objects.get(pk=unit.pk).custodian == stranger


def test_a_form_without_the_seen_field_changes_nothing_and_says_so(cast):
    (unit,) = receive_units(cast["admin"], cast["riley"], n=1)
    client = _login(cast["riley"])

    response = client.post(TRANSFER, {"unit": [unit.pk], "recipient": cast["sam"].pk, "send": "1"})

    assert "did not say how the units looked" in _messages(response)
    assert not Transfer.objects.exists()


def test_the_message_is_in_the_users_time_zone_and_tells_the_changes_in_order(cast, org, settings):
    settings.TIME_ZONE = "America/Chicago"
    dana = cast["dana"]
    bin_ = LocationFactory(organization=org, holder=cast["riley"], name="Trunk 7", kind="trunk")
    (unit,) = receive_units(cast["admin"], dana, n=1, serial_prefix="TZ-")
    seen = {unit.pk: unit.ledger_seq}
    transfer_create(actor=dana, unit_ids=[unit.pk], recipient=cast["riley"], to_location=bin_)
    case = open_event(cast["riley"])
    event_mark_used(actor=cast["riley"], event=case, unit_ids=[unit.pk])
    unit.refresh_from_db()

    (line,) = changes_since(units=[unit], seen=seen, viewer=dana)

    chicago = ZoneInfo("America/Chicago")
    accepted, used = (
        CustodyEntry.objects.filter(unit=unit, kind=kind).get().at.astimezone(chicago)
        for kind in (EntryKind.TRANSFER_ACCEPTED, EntryKind.MARKED_USED)
    )
    assert accepted.utcoffset() != datetime.timedelta(0)
    today = timezone.localdate()

    def when(at):
        return f"at {at:%H:%M}" if at.date() == today else f"on {at:%Y-%m-%d} at {at:%H:%M}"

    # A transfer completed at once is one change ("went to"), not "was sent", then "went".
    riley = cast["riley"].name
    assert line == (
        f"TZ-1 went to {riley} {when(accepted)}, then was marked used on “{case.name}” {when(used)}."
    )
    assert changes_since(units=[unit], seen={unit.pk: unit.ledger_seq}, viewer=dana) == []


def test_a_scan_is_judged_on_the_unit_as_it_is_now(cast, org):
    """A scan carries no sequence: a unit moved within its holder's custody after the page was
    drawn is still marked used from the scan box."""
    riley = cast["riley"]
    trunk = LocationFactory(organization=org, holder=riley, name="Trunk", kind="trunk")
    (unit,) = receive_units(cast["admin"], riley, n=1, serial_prefix="SC-")
    case = open_event(riley)
    page = reverse("events:mark_used", args=[case.pk])
    client = _login(riley)
    client.get(page)
    units_move(actor=riley, unit_ids=[unit.pk], to_location=trunk)

    done = client.post(page, {"scan": "SC-1"}, follow=True)

    assert "Marked 1 unit(s) used" in _messages(done)
    assert EventLine.objects.filter(event=case, unit=unit).exists()


def test_an_offline_mark_is_judged_on_the_unit_as_it_is_now(cast, org):
    riley = cast["riley"]
    trunk = LocationFactory(organization=org, holder=riley, name="Trunk", kind="trunk")
    (unit,) = receive_units(cast["admin"], riley, n=1, serial_prefix="OF-")
    case = open_event(riley)
    units_move(actor=riley, unit_ids=[unit.pk], to_location=trunk)

    operation = {
        "id": "5b2f0c3e-8f7a-4c51-9e0b-2d6f1a9c7e44",
        "kind": "mark_used",
        "event": case.pk,
        "unit": unit.pk,
        "label": "",
        "how": "list",
        "at": timezone.now().isoformat(),
    }
    response = _login(riley).post(
        reverse("events:offline_sync"),
        data=json.dumps({"operations": [operation]}),
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    (answer,) = response.json()["results"]
    assert answer["status"] == "applied", answer
    assert Unit.objects.get(pk=unit.pk).state == UnitState.ALLOCATED


@pytest.mark.parametrize("claimed", [0, 1, 999])
def test_a_unit_never_in_the_viewers_scope_is_not_found_whatever_sequence_is_claimed(
    cast, org, claimed
):
    """Another group's rep's unit, its id tried by hand with made-up sequences: the answer is
    the same as for a missing unit, never its serial or when it changed."""
    other = DistributorFactory(organization=org)
    stranger = RepFactory(organization=org, assigned_to=other, display_name="Zed Faraway")
    (unit,) = receive_units(cast["admin"], stranger, n=1, serial_prefix="SECRET-")
    client = _login(cast["riley"])

    response = client.post(
        TRANSFER,
        {
            "unit": [unit.pk],
            "recipient": cast["sam"].pk,
            "send": "1",
            "seen": f"{unit.pk}:{claimed}",
        },
    )

    body = response.content.decode()
    assert "A selected unit was not found." in _messages(response) + html.unescape(body)
    assert "SECRET-" not in body and "SECRET-" not in _messages(response)
    assert not Transfer.objects.exists()
