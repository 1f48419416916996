"""Event lifecycle (README, "Events and facility stock"): who opens events for whom, who sees them, and every
allowed and refused step of open -> submitted -> completed -> paid, cancel and reopen."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import GroupMembership, User
from accounts.selectors import actor_for, forget_actor
from events import policies
from events.models import Event, EventLine, EventStatus, EventType, viewers_q
from events.services.comments import comment_add
from events.services.directory import directory_save
from events.services.events import (
    event_cancel,
    event_complete,
    event_create,
    event_mark_paid,
    event_reopen,
    event_submit,
    event_update,
)
from events.services.usage import event_mark_used
from inventory.models import CustodyEntry, EntryKind, Unit, UnitState
from tests.events.factories import (
    FacilityFactory,
    ProcedureFactory,
    mark_used,
    open_event,
)
from tests.factories import DistributorFactory, OrganizationFactory, RepFactory, UserFactory
from tests.inventory.factories import ProductFactory, ledger_problems, receive_units


@pytest.fixture
def people(org, admin_user, distributor, rep):
    return {"admin": admin_user, "distributor": distributor, "rep": rep}


def do(action, actor, event, po_number="PO-4711"):
    if action == "submit":
        return event_submit(actor=actor, event=event)
    if action == "cancel":
        return event_cancel(actor=actor, event=event)
    if action == "complete":
        return event_complete(actor=actor, event=event, po_number=po_number)
    if action == "paid":
        return event_mark_paid(actor=actor, event=event)
    if action == "reopen":
        return event_reopen(actor=actor, event=event)
    raise AssertionError(action)


# How each starting status is reached from open, and by whom (the office marks paid).
PATH = {
    "open": [],
    "submitted": [("submit", "rep")],
    "completed": [("submit", "rep"), ("complete", "rep")],
    "paid": [("submit", "rep"), ("complete", "rep"), ("paid", "distributor")],
    "cancelled": [("cancel", "rep")],
}


def event_in(status, type, people):
    """An event of the rep's with one of her units marked used, brought to `status`."""
    rep = people["rep"]
    (unit,) = receive_units(people["admin"], rep, n=1)
    event = open_event(rep, type=type)
    mark_used(rep, event, [unit])
    for action, who in PATH[status]:
        do(action, people[who], event)
    event.refresh_from_db()
    assert event.status == status
    return event, unit


def snapshot(event, unit):
    event = Event.objects.get(pk=event.pk)
    unit = Unit.objects.get(pk=unit.pk)
    return {
        "event": (event.status, event.po_number, event.submitted_at),
        "unit": (unit.custodian_id, unit.state, unit.ledger_seq, unit.facility_id),
        "lines": sorted(EventLine.objects.current().values_list("event_id", "unit_id")),
        "entries": CustodyEntry.objects.count(),
    }


@pytest.mark.parametrize(
    ("type", "start", "who", "action", "end"),
    [
        (EventType.CASE, "open", "rep", "submit", "submitted"),
        (EventType.CASE, "open", "distributor", "submit", "submitted"),
        (EventType.CASE, "open", "admin", "submit", "submitted"),
        (EventType.CASE, "open", "rep", "cancel", "cancelled"),
        (EventType.CASE, "open", "distributor", "cancel", "cancelled"),
        (EventType.CASE, "submitted", "rep", "complete", "completed"),
        (EventType.CASE, "submitted", "distributor", "complete", "completed"),
        (EventType.CASE, "completed", "distributor", "paid", "paid"),
        (EventType.CASE, "completed", "admin", "paid", "paid"),
        (EventType.CASE, "submitted", "distributor", "reopen", "open"),
        (EventType.CASE, "submitted", "admin", "reopen", "open"),
        (EventType.STOCKING_ORDER, "open", "rep", "submit", "submitted"),
        (EventType.STOCKING_ORDER, "submitted", "rep", "complete", "completed"),
        (EventType.STOCKING_ORDER, "completed", "admin", "paid", "paid"),
        (EventType.DAMAGE, "open", "rep", "submit", "submitted"),
        (EventType.OTHER, "open", "rep", "cancel", "cancelled"),
    ],
)
def test_allowed_transition(people, type, start, who, action, end):
    event, _ = event_in(start, type, people)

    do(action, people[who], event)

    event.refresh_from_db()
    assert event.status == end
    if end in ("completed", "paid"):
        assert event.po_number == "PO-4711"
    assert ledger_problems() == []


@pytest.mark.parametrize(
    ("type", "start", "who", "action", "reason"),
    [
        (
            EventType.CASE,
            "open",
            "rep",
            "complete",
            "after the event is submitted; this one is open",
        ),
        (EventType.CASE, "open", "distributor", "paid", "Only a completed event"),
        (EventType.CASE, "submitted", "rep", "submit", "Only an open event can be submitted"),
        (EventType.CASE, "submitted", "admin", "cancel", "Only an open event can be cancelled"),
        (EventType.CASE, "submitted", "distributor", "paid", "this one is submitted"),
        (EventType.CASE, "completed", "rep", "complete", "this one is completed"),
        (EventType.CASE, "completed", "rep", "paid", "marked paid"),
        (EventType.CASE, "completed", "rep", "cancel", "this one is completed"),
        (EventType.CASE, "paid", "admin", "paid", "this one is paid"),
        (EventType.CASE, "paid", "distributor", "reopen", "this one is paid"),
        (EventType.CASE, "cancelled", "rep", "submit", "this one is cancelled"),
        (EventType.CASE, "cancelled", "admin", "reopen", "this one is cancelled"),
        (EventType.CASE, "submitted", "rep", "reopen", "by its distributor or an admin"),
        (EventType.CASE, "open", "distributor", "reopen", "this one is open"),
        (EventType.CASE, "completed", "admin", "reopen", "this one is completed"),
        (EventType.STOCKING_ORDER, "submitted", "distributor", "reopen", "cannot be reopened"),
        (EventType.STOCKING_ORDER, "submitted", "admin", "reopen", "cannot be reopened"),
        (EventType.STOCKING_ORDER, "completed", "admin", "reopen", "cannot be reopened"),
    ],
)
def test_refused_transition_says_why_and_changes_nothing(people, type, start, who, action, reason):
    event, unit = event_in(start, type, people)
    before = snapshot(event, unit)

    with pytest.raises(ValidationError) as refused:
        do(action, people[who], event)

    assert any(reason in message for message in refused.value.messages), refused.value.messages
    assert snapshot(event, unit) == before
    assert ledger_problems() == []


def test_rep_marking_paid_is_refused_with_a_reason_that_names_who_may(people):
    # The office records payment. Telling the rep "only a completed event can be marked paid;
    # this one is completed" gives no reason at all.
    event, _ = event_in("completed", EventType.CASE, people)

    with pytest.raises(ValidationError) as refused:
        event_mark_paid(actor=people["rep"], event=event)

    assert "distributor or an admin" in " ".join(refused.value.messages)


@pytest.mark.parametrize("po_number", ["", "   "])
def test_completing_needs_a_po_number(people, po_number):
    event, unit = event_in("submitted", EventType.CASE, people)
    before = snapshot(event, unit)

    with pytest.raises(ValidationError) as refused:
        event_complete(actor=people["rep"], event=event, po_number=po_number)

    assert refused.value.message_dict == {"po_number": ["Enter the PO number."]}
    assert snapshot(event, unit) == before


def test_po_number_is_stored_trimmed(people):
    event, _ = event_in("submitted", EventType.CASE, people)

    event_complete(actor=people["rep"], event=event, po_number="  PO-99 ")

    event.refresh_from_db()
    assert (event.status, event.po_number) == (EventStatus.COMPLETED, "PO-99")


def test_cancelling_an_open_event_releases_its_units(people):
    rep = people["rep"]
    units = receive_units(people["admin"], rep, n=2)
    event = open_event(rep)
    mark_used(rep, event, units)
    assert set(Unit.objects.values_list("state", flat=True)) == {UnitState.ALLOCATED}

    event_cancel(actor=rep, event=event)

    event.refresh_from_db()
    assert event.status == EventStatus.CANCELLED
    for unit in Unit.objects.filter(pk__in=[u.pk for u in units]):
        assert (unit.custodian_id, unit.state) == (rep.pk, UnitState.AVAILABLE)
        assert list(unit.ledger.values_list("kind", flat=True)) == [
            EntryKind.RECEIVED,
            EntryKind.MARKED_USED,
            EntryKind.UNMARKED,
        ]
    assert not event.lines.current().exists()
    assert event.lines.count() == 2  # unmarking keeps the rows, as history
    assert ledger_problems() == []


def test_cancelled_event_units_can_be_used_elsewhere(people):
    rep = people["rep"]
    (unit,) = receive_units(people["admin"], rep, n=1)
    first = open_event(rep)
    mark_used(rep, first, [unit])
    event_cancel(actor=rep, event=first)

    second = open_event(rep)
    (line,) = mark_used(rep, second, [unit])

    assert line.unit_id == unit.pk
    assert ledger_problems() == []


def test_reopened_case_takes_its_consumed_units_back_and_can_be_submitted_again(people):
    rep, distributor = people["rep"], people["distributor"]
    (unit,) = receive_units(people["admin"], rep, n=1)
    event = open_event(rep)
    mark_used(rep, event, [unit])
    event_submit(actor=rep, event=event)
    unit.refresh_from_db()
    assert unit.state == UnitState.INACTIVE

    event_reopen(actor=distributor, event=event)

    event.refresh_from_db()
    unit.refresh_from_db()
    assert (event.status, event.submitted_at) == (EventStatus.OPEN, None)
    assert (unit.custodian_id, unit.state) == (rep.pk, UnitState.ALLOCATED)
    assert list(event.lines.current().values_list("unit_id", flat=True)) == [unit.pk]
    assert ledger_problems() == []

    event_submit(actor=rep, event=event)
    unit.refresh_from_db()
    assert unit.state == UnitState.INACTIVE
    assert ledger_problems() == []


def test_reopened_case_leaves_reusable_units_in_stock_and_closes_their_lines(people):
    rep = people["rep"]
    reusable = ProductFactory(organization=rep.organization, single_use=False)
    (unit,) = receive_units(people["admin"], rep, n=1, product=reusable)
    event = open_event(rep)
    mark_used(rep, event, [unit])
    event_submit(actor=rep, event=event)

    event_reopen(actor=people["admin"], event=event)

    unit.refresh_from_db()
    assert (unit.custodian_id, unit.state) == (rep.pk, UnitState.AVAILABLE)
    assert not event.lines.current().exists()
    assert ledger_problems() == []


# --- Creating events --------------------------------------------------------------------------


def test_a_case_needs_a_procedure(people):
    rep = people["rep"]
    facility = FacilityFactory(organization=rep.organization)

    with pytest.raises(ValidationError) as refused:
        event_create(
            actor=rep,
            type=EventType.CASE,
            representative=rep,
            facility=facility,
            scheduled_at=timezone.now(),
            procedure=None,
        )

    assert refused.value.message_dict == {"procedure": ["A Case needs a procedure."]}
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    "type", [EventType.STOCKING_ORDER, EventType.DAMAGE, EventType.RETURN, EventType.OTHER]
)
def test_other_event_types_need_no_procedure(people, type):
    event = open_event(people["rep"], type=type)
    assert (event.type, event.procedure_id, event.status) == (type, None, EventStatus.OPEN)


def test_blank_name_is_generated_from_type_procedure_facility_and_date(people):
    rep = people["rep"]
    facility = FacilityFactory(organization=rep.organization, name="Mercy General")
    procedure = ProcedureFactory(organization=rep.organization, name="Hip revision")

    event = open_event(rep, facility=facility, procedure=procedure)

    assert event.name.startswith("Case · Hip revision · Mercy General · ")


def test_blank_names_on_the_same_day_facility_and_procedure_are_told_apart(people):
    rep = people["rep"]
    facility = FacilityFactory(organization=rep.organization, name="Mercy General")
    procedure = ProcedureFactory(organization=rep.organization, name="Hip revision")
    when = timezone.now()

    first = open_event(rep, facility=facility, procedure=procedure, scheduled_at=when)
    second = open_event(rep, facility=facility, procedure=procedure, scheduled_at=when)
    # Blanking the first one's name on edit gives back its own name, not a third one.
    renamed = event_update(actor=rep, event=first, name="")

    assert first.name != second.name
    assert second.name == f"{first.name} #2"
    assert renamed.name == first.name


def test_rep_cannot_create_events_for_another_rep(people):
    rep = people["rep"]
    sam = RepFactory(organization=rep.organization, assigned_to=people["distributor"])
    casey = RepFactory(organization=rep.organization)

    for other in (sam, casey, people["distributor"]):
        with pytest.raises(ValidationError) as refused:
            open_event(rep, representative=other)
        assert "representative" in refused.value.message_dict
    assert not Event.objects.exists()


def test_distributor_creates_events_for_herself_and_her_reps_only(people):
    distributor, rep = people["distributor"], people["rep"]
    outsider = RepFactory(
        organization=rep.organization,
        assigned_to=DistributorFactory(organization=rep.organization),
    )

    for_rep = open_event(distributor, representative=rep)
    for_herself = open_event(distributor)
    with pytest.raises(ValidationError):
        open_event(distributor, representative=outsider)

    assert (for_rep.representative_id, for_rep.created_by_id) == (rep.pk, distributor.pk)
    assert for_herself.representative_id == distributor.pk
    assert Event.objects.count() == 2


def test_admin_creates_events_for_reps_but_represents_nobody(people):
    admin, rep = people["admin"], people["rep"]

    event = open_event(admin, representative=rep)

    assert event.representative_id == rep.pk
    with pytest.raises(ValidationError):
        open_event(admin, representative=admin)


def test_distributor_gets_a_new_reps_events_only_after_the_rep_joins(people):
    distributor = people["distributor"]
    newcomer = RepFactory(organization=distributor.organization)
    with pytest.raises(ValidationError):
        open_event(distributor, representative=newcomer)

    GroupMembership.objects.create(group=distributor.distributor_group, rep=newcomer)
    forget_actor(distributor)

    assert open_event(distributor, representative=newcomer).representative_id == newcomer.pk


def test_events_use_only_the_organizations_directory(people):
    rep = people["rep"]
    foreign = FacilityFactory(organization=OrganizationFactory())

    with pytest.raises(ValidationError):
        open_event(rep, facility=foreign)
    with pytest.raises(ValidationError):
        open_event(rep, procedure=ProcedureFactory(organization=foreign.organization))
    assert not Event.objects.exists()


# --- Visibility -------------------------------------------------------------------------------


@pytest.fixture
def cast(org, admin_user, distributor, rep, pooled):
    """An event of the rep's and one of the distributor's, with everyone who might look."""
    other_org = OrganizationFactory()
    return {
        "rep": rep,
        "distributor": distributor,
        "admin": admin_user,
        "same_group_rep": RepFactory(organization=org, assigned_to=distributor),
        "other_distributor": DistributorFactory(organization=org),
        "other_group_rep": RepFactory(
            organization=org, assigned_to=DistributorFactory(organization=org)
        ),
        "unassigned_rep": RepFactory(organization=org),
        "other_org_admin": UserFactory(organization=other_org, admin=True),
        "inactive_admin": UserFactory(organization=org, admin=True, is_active=False),
        "inactive_rep": RepFactory(organization=org, assigned_to=distributor, is_active=False),
        "reps_event": open_event(rep),
        "distributors_event": open_event(distributor),
    }


@pytest.mark.parametrize(
    ("viewer", "sees"),
    [
        ("rep", {"reps_event"}),
        ("distributor", {"reps_event", "distributors_event"}),
        ("admin", {"reps_event", "distributors_event"}),
        # Pooling shares stock, never events.
        ("same_group_rep", set()),
        ("other_distributor", set()),
        ("other_group_rep", set()),
        ("unassigned_rep", set()),
        ("other_org_admin", set()),
        ("inactive_admin", set()),
        ("inactive_rep", set()),
    ],
)
def test_event_visibility(cast, viewer, sees):
    user = cast[viewer]
    names = {"reps_event", "distributors_event"}
    visible = set(Event.objects.visible_to(user).values_list("pk", flat=True))

    assert visible == {cast[n].pk for n in sees}
    # The policy the templates use agrees with the queryset that scopes every lookup...
    actor = actor_for(user)
    assert {n for n in names if policies.can_see_event(actor=actor, event=cast[n])} == sees
    # ...and with the filter on users that @mentions and the autocomplete use.
    seen_by = {n for n in names if User.objects.filter(viewers_q(cast[n]), pk=user.pk).exists()}
    assert seen_by == sees


@pytest.mark.parametrize("viewer", ["same_group_rep", "other_group_rep", "other_org_admin"])
def test_an_event_outside_ones_scope_answers_404_on_every_page(client, cast, viewer):
    client.force_login(cast[viewer])
    pk = cast["reps_event"].pk
    for name in ("event_detail", "mark_used", "event_edit", "usage_csv", "mention_autocomplete"):
        assert client.get(reverse(f"events:{name}", args=[pk])).status_code == 404, name
    assert client.post(reverse("events:event_submit", args=[pk])).status_code == 404
    assert Event.objects.get(pk=pk).status == EventStatus.OPEN


def test_an_event_outside_ones_scope_cannot_be_changed_through_the_services(cast):
    event = cast["reps_event"]
    outsider = cast["other_group_rep"]
    (unit,) = receive_units(cast["admin"], cast["rep"], n=1)

    for call in (
        lambda: event_submit(actor=outsider, event=event),
        lambda: event_cancel(actor=outsider, event=event),
        lambda: event_mark_used(actor=outsider, event=event, unit_ids=[unit.pk]),
        lambda: comment_add(actor=outsider, event=event, body="hello"),
    ):
        with pytest.raises(PermissionDenied):
            call()
    assert Event.objects.get(pk=event.pk).status == EventStatus.OPEN
    assert not event.comments.exists()
    assert Unit.objects.get(pk=unit.pk).state == UnitState.AVAILABLE


# --- The buttons on the event page follow the same rules ---------------------------------------


BUTTONS = {
    "submit": "events:event_submit",
    "cancel": "events:event_cancel",
    "complete": "events:event_complete",
    "paid": "events:event_paid",
    "reopen": "events:event_reopen",
}


def buttons_on(client, user, event):
    client.force_login(user)
    body = client.get(reverse("events:event_detail", args=[event.pk])).content.decode()
    return {name for name, url in BUTTONS.items() if reverse(url, args=[event.pk]) in body}


@pytest.mark.parametrize(
    ("type", "start", "who", "expected"),
    [
        (EventType.CASE, "open", "rep", {"submit", "cancel"}),
        (EventType.CASE, "submitted", "rep", {"complete"}),
        (EventType.CASE, "submitted", "distributor", {"complete", "reopen"}),
        (EventType.CASE, "completed", "rep", set()),
        (EventType.CASE, "completed", "admin", {"paid"}),
        (EventType.CASE, "paid", "distributor", set()),
        (EventType.STOCKING_ORDER, "submitted", "distributor", {"complete"}),
        (EventType.CASE, "cancelled", "admin", set()),
    ],
)
def test_event_page_offers_only_the_allowed_steps(client, people, type, start, who, expected):
    event, _ = event_in(start, type, people)
    assert buttons_on(client, people[who], event) == expected


def test_a_refused_step_posted_by_hand_says_why_and_changes_nothing(client, people):
    event, unit = event_in("submitted", EventType.STOCKING_ORDER, people)
    before = snapshot(event, unit)
    client.force_login(people["admin"])

    response = client.post(reverse("events:event_reopen", args=[event.pk]), follow=True)

    assert "A submitted Stocking Order cannot be reopened" in response.content.decode()
    assert snapshot(event, unit) == before


def test_completing_on_the_page_records_the_po_number(client, people):
    event, _ = event_in("submitted", EventType.CASE, people)
    client.force_login(people["rep"])

    client.post(reverse("events:event_complete", args=[event.pk]), {"po_number": "PO-12"})

    event.refresh_from_db()
    assert (event.status, event.po_number) == (EventStatus.COMPLETED, "PO-12")


# --- The directory takes named details ----------------------------------------------------------


def test_directory_save_takes_each_entrys_own_details(people):
    admin = people["admin"]

    facility = directory_save(
        actor=admin, entry="facility", name="Mercy", kind="asc", city="Springfield"
    )
    physician = directory_save(actor=admin, entry="physician", name="Dr. Who", specialty="Knees")

    assert (facility.name, facility.kind, facility.city) == ("Mercy", "asc", "Springfield")
    assert (physician.name, physician.specialty) == ("Dr. Who", "Knees")
    directory_save(actor=admin, entry="facility", name="Mercy West", instance=facility)
    facility.refresh_from_db()
    assert (facility.name, facility.kind, facility.city) == ("Mercy West", "asc", "Springfield")


@pytest.mark.parametrize(
    ("entry", "details"),
    [
        ("procedure", {"specialty": "Knees"}),
        ("physician", {"city": "Springfield"}),
        ("facility", {"organization_id": 0}),
        ("facility", {"fields": {"name": "X"}}),
    ],
)
def test_directory_save_refuses_a_detail_the_entry_does_not_have(people, entry, details):
    with pytest.raises(TypeError):
        directory_save(actor=people["admin"], entry=entry, name="X", **details)


def test_event_form_leaves_the_procedure_rule_to_the_service(client, people):
    """The form checks shape only; the service refuses a Case without a procedure, shown next
    to the field, and nothing is created."""
    rep = people["rep"]
    facility = FacilityFactory(organization=rep.organization)
    client.force_login(rep)

    response = client.post(
        reverse("events:event_create"),
        {
            "type": EventType.CASE,
            "representative": rep.pk,
            "facility": facility.pk,
            "scheduled_at": "2030-01-02T08:00",
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {"procedure": ["A Case needs a procedure."]}
    assert not Event.objects.exists()


def test_a_blank_name_from_long_facility_and_procedure_names_fits_and_stays_unique(people):
    rep = people["rep"]
    facility = FacilityFactory(organization=rep.organization, name="F" * 200)
    procedure = ProcedureFactory(organization=rep.organization, name="P" * 200)
    when = timezone.now()

    first = open_event(rep, facility=facility, procedure=procedure, scheduled_at=when)
    second = open_event(rep, facility=facility, procedure=procedure, scheduled_at=when)

    assert len(first.name) <= 200 and len(second.name) <= 200
    assert first.name.endswith(timezone.localtime(when).strftime("%Y-%m-%d"))
    assert second.name == f"{first.name} #2"
