"""Reads of events that need more than one queryset call."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db.models import Case, Count, F, Q, QuerySet, Value, When
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.policies import Actor, event_rep_scope, usable_holder_ids
from accounts.selectors import actor_for, holders_for_org
from core.tasks import failed_job_count
from inventory.filters import CUSTODY_LABELS
from inventory.hooks import CaseUse, EventRef
from inventory.models import Facility, Unit, UnitState
from inventory.selectors.par import below_par
from inventory.selectors.recalls import active_recalls_for
from inventory.selectors.transfers import transfers_waiting_on, waiting_on_me_q
from inventory.selectors.units import (
    custody_label,
    expiry_counts,
    pool_levels,
    unit_rows,
    units_on_hold,
)

from . import policies
from .models import Comment, Event, EventLine, EventStatus, EventType, viewers_q

# Newest first; the indexes on (organization | representative, [status,] -scheduled_at, -id)
# serve it, so a page reads its rows from an index in order and stops.
EVENT_ORDER = [("scheduled_at", "desc"), ("pk", "desc")]


def event_rows(qs: QuerySet[Event]) -> QuerySet[Event]:
    """What an event list row shows, but its unit count (see `with_unit_counts`)."""
    return qs.select_related("representative", "facility", "physician", "procedure")


def with_unit_counts(events: list[Event]) -> list[Event]:
    """Set `unit_count` (units currently used) on each of these events, in one query over
    just their lines. Annotating the list's queryset instead would make PostgreSQL count the
    lines of every event in scope before it keeps a page of them."""
    counts = dict(
        EventLine.objects.current()
        .filter(event_id__in=[e.pk for e in events])
        .values("event_id")
        .annotate(n=Count("*"))
        .values_list("event_id", "n")
        .order_by()
    )
    for event in events:
        event.unit_count = counts.get(event.pk, 0)
    return events


def representative_picks(*, actor: Actor) -> QuerySet[User] | None:
    """The short list of representatives a distributor or rep picks from; None for an admin,
    who may name any holder of the organization and so types a name instead of scrolling
    through thousands (`HolderPurpose.REPRESENTATIVE`, the same people)."""
    return None if actor.is_admin else representative_choices(actor=actor)


def representative_choices(*, actor: Actor) -> QuerySet[User]:
    """Whom the actor may name as an event's representative: the active holders of the
    organization for whom `policies.can_create_event_for` says yes."""
    # The policy reads only these columns: named rows, not model instances (a distributor's
    # group runs to hundreds of people, on every event list).
    candidates = holders_for_org(organization_id=actor.organization_id).values_list(
        "pk", "organization_id", "is_active", "role", named=True
    )
    scope = event_rep_scope(actor=actor)
    if scope is not None:  # only narrows the read; the policy below decides
        candidates = candidates.filter(pk__any_of=scope)
    allowed = [
        u.pk for u in candidates if policies.can_create_event_for(actor=actor, representative=u)
    ]
    return User.objects.filter(pk__any_of=allowed).order_by("display_name", "username")


def usable_units(*, event: Event, rep_actor: Actor, scanning: bool = False) -> QuerySet[Unit]:
    """Units the event's representative may mark used on it: own custody and, with pooling on,
    the distributor's; available, plus (for a Case) facility stock at the event's facility.

    `scanning` adds quarantined units of the same holders: a scanned recalled unit must reach
    `event_mark_used`, which refuses it naming the recall, rather than "no unit matches"."""
    usable = Q(state=UnitState.AVAILABLE)
    if event.type == EventType.CASE:
        usable |= Q(state=UnitState.FACILITY_STOCK, facility_id=event.facility_id)
    if scanning:
        usable |= Q(state=UnitState.QUARANTINED)
    return Unit.objects.filter(
        usable,
        organization_id=event.organization_id,
        custodian_id__any_of=usable_holder_ids(actor=rep_actor),
    )


def current_lines(*, event: Event) -> list[EventLine]:
    return list(
        event.lines.current()
        .select_related("unit__product", "unit__custodian", "marked_by")
        .order_by("marked_at", "pk")
    )


def offline_snapshot(*, event: Event, viewer: User) -> dict:
    """What a phone keeps to mark units used on `event` without signal, JSON-ready, and nothing
    more of the event (no patient reference, notes or comments): the event, the units its
    representative may use now (the Mark Used page's custody and facility-stock rules), the
    units already marked, and the names of the custody tabs.

    Units come own custody first, then the rest, each by earliest expiry (none last), then id:
    the order the phone also takes a lot-only code's unit in, as the scanner does. At most
    settings.OFFLINE_MAX_UNITS; `truncated` says there were more. Needs the event's
    representative and facility loaded; a fixed number of queries whatever the units.
    """
    rep = event.representative
    rep_actor = actor_for(rep)
    day = policies.event_date(event)
    limit = settings.OFFLINE_MAX_UNITS
    units = list(
        unit_rows(usable_units(event=event, rep_actor=rep_actor))
        .annotate(not_own=Case(When(custodian_id=rep.pk, then=Value(0)), default=Value(1)))
        .order_by("not_own", F("expiration_date").asc(nulls_last=True), "pk")[: limit + 1]
    )
    # Someone else looking sees the tabs named after the representative, as on the page.
    mine = CUSTODY_LABELS["mine"] if viewer.pk == rep.pk else f"{rep.name}'s Custody"
    return {
        "version": 1,
        "user": viewer.pk,
        "taken_at": timezone.now().isoformat(),
        "event": {
            "id": event.pk,
            "name": event.name,
            "facility": event.facility.name,
            "date": day.isoformat(),
            "type": event.get_type_display(),
            "status": event.status,
            "status_display": event.get_status_display(),
            "representative": rep.name,
            "rep_id": rep.pk,
            "mark_used_url": reverse("events:mark_used", args=[event.pk]),
            "can_use": policies.can_mark_used(actor=actor_for(viewer), event=event),
        },
        # A day after the event the phone forgets it: it holds names of an organization's stock.
        "purge_after": (day + datetime.timedelta(days=1)).isoformat(),
        "units": [
            _offline_unit(unit, event=event, rep_actor=rep_actor, viewer=viewer)
            for unit in units[:limit]
        ],
        "lines": [
            {
                "unit": line.unit_id,
                "label": line.unit.label,
                "title": f"{line.unit.product.catalog_number} {line.unit.product.description}",
                "marked_by": str(line.marked_by),
                "marked_at": line.marked_at.isoformat(),
            }
            for line in current_lines(event=event)
        ],
        "truncated": len(units) > limit,
        "custody_labels": {
            "mine": mine,
            "shared": CUSTODY_LABELS["shared"],
            "both": CUSTODY_LABELS["both"],
        },
    }


def _offline_unit(unit: Unit, *, event: Event, rep_actor: Actor, viewer: User) -> dict:
    product = unit.product
    custody = custody_label(unit=unit, actor=rep_actor, viewer_id=viewer.pk)
    return {
        "id": unit.pk,
        "catalog_number": product.catalog_number,
        "description": product.description,
        "gtin": product.gtin or "",
        "hibc": product.hibc or "",
        "serial": unit.serial_number,
        "lot": unit.lot_number,
        "expiry": unit.expiration_date.isoformat() if unit.expiration_date else None,
        "state": unit.state,
        "facility_stock": unit.state == UnitState.FACILITY_STOCK,
        "holder": "mine" if unit.custodian_id == rep_actor.id else "shared",
        "custody": custody.text,
        "custody_css": custody.css,
        "expired": policies.unit_expired_for(event=event, unit=unit),
        "warning": policies.unit_use_warning(event=event, unit=unit) or "",
    }


def usage_summary(*, event: Event) -> dict:
    """The event's current lines, billable and not. Each line carries `recall`: the active
    recall naming its unit (None when none does), so a case that used a recalled unit, before
    or after the recall was recorded, is flagged for the surgeon. One query more."""
    lines = current_lines(event=event)
    recalls = active_recalls_for(unit_ids=[ln.unit_id for ln in lines])
    for line in lines:
        line.recall = recalls.get(line.unit_id)
    billable = [ln for ln in lines if ln.billable]
    return {
        "lines": lines,
        "billable": billable,
        "unbillable": [ln for ln in lines if not ln.billable],
        "recalled": [ln for ln in lines if ln.recall is not None],
    }


def resolve_mentions(*, event: Event, names: list[str]) -> tuple[list[User], list[str], list[str]]:
    """One query: which mentioned usernames are people who can see the event.

    Returns (users who can see it, names of organization users who cannot, unknown names).
    An integration's service user is nobody to mention: its name counts as unknown.
    """
    if not names:
        return [], [], []
    candidates = list(
        User.objects.people()
        .annotate(lower_name=Lower("username"))
        .filter(organization_id=event.organization_id, lower_name__in=names)
        .annotate(can_see=Case(When(viewers_q(event), then=Value(True)), default=Value(False)))
    )
    by_name = {u.lower_name: u for u in candidates}
    visible = [by_name[n] for n in names if n in by_name and by_name[n].can_see]
    hidden = [n for n in names if n in by_name and not by_name[n].can_see]
    unknown = [n for n in names if n not in by_name]
    return visible, hidden, unknown


def mention_candidates(*, event: Event, prefix: str, limit: int = 8) -> list[User]:
    """The autocomplete: only people who can see the event (never a service user), by
    username or name prefix."""
    prefix = prefix.strip().lstrip("@")
    qs = User.objects.people().filter(viewers_q(event))
    if prefix:
        qs = qs.filter(Q(username__istartswith=prefix) | Q(display_name__istartswith=prefix))
    return list(qs.order_by("username")[:limit])


def comments_for(*, event: Event) -> list[Comment]:
    return list(
        event.comments.select_related("author")
        .prefetch_related("mentioned")
        .order_by("created_at", "pk")
    )


def facility_stock_counts(*, units: QuerySet[Unit]) -> list[dict]:
    """Facility stock among `units` per facility, by facility name, in two queries.

    Counted on the partial index of facility stock by (organization, custodian, facility)
    (inventory migration 0011) with no join, so PostgreSQL reads only facility stock, from the
    index alone; the facilities' names come in a second, small query.
    """
    counts = list(
        units.filter(state=UnitState.FACILITY_STOCK)
        .values("facility_id")
        .annotate(units=Count("*"))
        .order_by()
    )
    names = dict(
        Facility.objects.filter(pk__in=[row["facility_id"] for row in counts]).values_list(
            "pk", "name"
        )
    )
    rows = [{**row, "facility__name": names.get(row["facility_id"], "")} for row in counts]
    return sorted(rows, key=lambda row: (row["facility__name"], row["facility_id"]))


def dashboard(*, user: User, actor: Actor) -> dict:
    """The numbers a person sees first; each links to the filtered list behind it."""
    today = timezone.localdate()
    visible_units = Unit.objects.visible_to(user)
    mine = waiting_on_me_q(actor=actor)
    # One query each for the two transfer counts and the two event counts (FILTER).
    # Counting a never-null column of the index read (Django refuses COUNT(*) with a
    # FILTER; counting the id made PostgreSQL read every row from the table): index-only.
    waiting = transfers_waiting_on(user=user, actor=actor).aggregate(
        mine=Count("organization_id", filter=mine), others=Count("organization_id", filter=~mine)
    )
    # Admins represent nobody: their "open events" are the organization's; a distributor's
    # own beside her whole group's (hers and her reps', as the linked list shows them).
    open_events = Event.objects.visible_to(user).filter(status=EventStatus.OPEN)
    if actor.is_distributor:
        open_events = open_events.aggregate(
            every=Count("representative_id"),
            own=Count("representative_id", filter=Q(representative_id=actor.id)),
        )
    elif actor.is_admin:
        open_events = {"every": open_events.count()}
    else:
        open_events = {"own": open_events.filter(representative_id=actor.id).count()}
    data = {
        "waiting_on_me": waiting["mine"],
        "waiting_on_reps": waiting["others"] if (actor.is_distributor or actor.is_admin) else 0,
        "open_events": open_events["every"] if actor.is_admin else open_events["own"],
        "expiry": expiry_counts(qs=visible_units, today=today),
        "facility_stock": facility_stock_counts(units=visible_units),
    }
    if actor.is_admin:
        data["failed_jobs"] = failed_job_count(organization_id=actor.organization_id)
        data["on_hold"] = units_on_hold(actor=actor).count()
        # Every distributor's locations below par, refillable from organization custody too.
        data["below_par"] = below_par(holder=None, viewer=user, today=today, propose=False)
    if actor.is_distributor:
        data["pool_levels"] = pool_levels(actor=actor, today=today)
        data["below_par"] = below_par(holder=user, today=today, propose=False)
        data["group_open_events"] = open_events["every"]
    return data


def events_by_id(*, user: User, event_ids) -> dict[int, Event]:
    """The events among `event_ids` that the user may see, by id, in one query."""
    return {e.pk: e for e in Event.objects.visible_to(user).filter(pk__in=set(event_ids))}


def ledger_event_refs(*, user: User, event_ids) -> dict[int, EventRef]:
    """Name and link of the events a unit's ledger entries belong to (registered with
    inventory.hooks, so a unit's history names its events without inventory importing events).
    """
    return {
        pk: EventRef(name=event.name, url=reverse("events:event_detail", args=[pk]))
        for pk, event in events_by_id(user=user, event_ids=event_ids).items()
    }


def recall_case_uses(
    *, user: User | None, unit_ids, limit: int | None = None, open_only: bool = False
) -> list[CaseUse]:
    """The events (not cancelled; only open ones when `open_only`) whose current lines use
    these units, by event date, at most `limit` lines: what a recall hands the surgeons
    (registered with inventory.hooks). Only events the user may see; every one when `user` is
    None (the recall services, deciding whom to notify). One query."""
    events = Event.objects.all() if user is None else Event.objects.visible_to(user)
    events = events.exclude(status=EventStatus.CANCELLED)
    if open_only:
        events = events.filter(status=EventStatus.OPEN)
    # Read from the events, joined to their lines (one filter() call, so one join that the
    # values and the order reuse): visibility then filters the joined event row. Asked from
    # the lines with `event__in=<visible events>`, the subquery added an eighth relation that
    # PostgreSQL took 7-12 ms to plan at ten organizations, twice per recall page. Plain
    # values, not five models a line: the recall page lists up to 200 lines.
    rows = (
        events.filter(lines__removed_at__isnull=True, lines__unit_id__in=unit_ids)
        .order_by("scheduled_at", "pk", "lines__unit_id")
        .values_list(
            "lines__unit_id",
            "pk",
            "name",
            "status",
            "facility__name",
            "physician__name",
            "scheduled_at",
            "patient_ref",
            "representative_id",
            "representative__display_name",
            "representative__username",
        )
    )
    if limit is not None:
        rows = rows[:limit]
    detail = reverse("events:event_detail", args=[0])[:-2]
    return [
        CaseUse(
            unit_id=unit_id,
            event_id=event_id,
            name=name,
            url=f"{detail}{event_id}/",
            status=EventStatus(status).label,
            is_open=status == EventStatus.OPEN,
            facility=facility or "",
            surgeon=surgeon or "",
            date=scheduled_at,
            patient_ref=patient_ref,
            representative_id=rep_id,
            representative=rep_display or rep_username,
        )
        for (
            unit_id,
            event_id,
            name,
            status,
            facility,
            surgeon,
            scheduled_at,
            patient_ref,
            rep_id,
            rep_display,
            rep_username,
        ) in rows
    ]
