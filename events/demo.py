"""Demo directory and events for `seed_demo`, made through the services (so the ledger tells the
same story). Idempotent: each event is looked up by its name before it is created."""

from __future__ import annotations

import datetime

from django.utils import timezone

from accounts.demo import Summary
from events.services.comments import comment_add
from events.services.events import event_create, event_submit
from events.services.usage import event_mark_used
from inventory.models import Facility, Unit

from .models import Comment, Event, EventType, Physician, Procedure

FACILITIES = [
    ("St. Mary's Hospital", Facility.Kind.HOSPITAL, "Springfield"),
    ("Lakeside Surgery Center", Facility.Kind.ASC, "Shelbyville"),
]
PHYSICIANS = [
    ("Dr. Priya Natarajan", "Orthopaedic trauma"),
    ("Dr. Marcus Hale", "Joint replacement"),
]
PROCEDURES = ["ORIF distal radius", "Total knee arthroplasty", "Total hip arthroplasty"]
RILEY_SECOND_OPEN_CASE = "ORIF · St. Mary's · next week"


def _get_or_create_event(*, name, actor, submit=False, use=(), comment=None, **fields):
    event = Event.objects.filter(organization_id=actor.organization_id, name=name).first()
    if event is not None:
        return event
    event = event_create(actor=actor, name=name, **fields)
    units = list(Unit.objects.filter(serial_number__in=use, organization_id=actor.organization_id))
    if units:
        event_mark_used(actor=actor, event=event, unit_ids=[u.pk for u in units])
    if comment and not Comment.objects.filter(event=event).exists():
        author, body = comment
        comment_add(actor=author, event=event, body=body)
    if submit:
        event_submit(actor=actor, event=event)
    return event


def seed(summary: Summary) -> None:
    org = summary.organization
    users = summary.users
    facilities = {
        name: Facility.objects.get_or_create(
            organization=org, name=name, defaults={"kind": kind, "city": city}
        )[0]
        for name, kind, city in FACILITIES
    }
    physicians = {
        name: Physician.objects.get_or_create(
            organization=org, name=name, defaults={"specialty": specialty}
        )[0]
        for name, specialty in PHYSICIANS
    }
    procedures = {
        name: Procedure.objects.get_or_create(organization=org, name=name)[0] for name in PROCEDURES
    }
    now = timezone.localtime().replace(minute=0, second=0, microsecond=0)
    st_marys = facilities["St. Mary's Hospital"]
    lakeside = facilities["Lakeside Surgery Center"]

    # Facility stock at St. Mary's sold by dana: any of her reps can use it there once pooling
    # is on (README, "Events and facility stock": why stocking orders are best done by the distributor).
    _get_or_create_event(
        name="Stocking order · St. Mary's consignment",
        actor=users["dana"],
        type=EventType.STOCKING_ORDER,
        representative=users["dana"],
        facility=st_marys,
        scheduled_at=now - datetime.timedelta(days=7),
        use=["D-1003", "D-1004", "D-1007"],
        submit=True,
    )
    _get_or_create_event(
        name="ORIF · Lakeside · last week",
        actor=users["riley"],
        type=EventType.CASE,
        representative=users["riley"],
        facility=lakeside,
        physician=physicians["Dr. Priya Natarajan"],
        procedure=procedures["ORIF distal radius"],
        scheduled_at=now - datetime.timedelta(days=5),
        patient_ref="CASE-2041",
        use=["R-1008"],
        comment=(
            users["riley"],
            "@dana used the last 8-hole plate from my trunk here; can you restock me?",
        ),
        submit=True,
    )
    # Used one screw of the lot the recall demo names (inventory.demo.RECALL_DEMO_LOT).
    _get_or_create_event(
        name="ORIF · St. Mary's · two weeks ago",
        actor=users["riley"],
        type=EventType.CASE,
        representative=users["riley"],
        facility=st_marys,
        physician=physicians["Dr. Priya Natarajan"],
        procedure=procedures["ORIF distal radius"],
        scheduled_at=now - datetime.timedelta(days=14),
        patient_ref="CASE-2033",
        use=["R-RC2"],
        submit=True,
    )
    _get_or_create_event(
        name="TKA · St. Mary's · tomorrow",
        actor=users["riley"],
        type=EventType.CASE,
        representative=users["riley"],
        facility=st_marys,
        physician=physicians["Dr. Marcus Hale"],
        procedure=procedures["Total knee arthroplasty"],
        scheduled_at=now + datetime.timedelta(days=1),
        patient_ref="CASE-2057",
    )
    # A second open case, so the README's recall and par-level steps still have one to mark
    # units on after "Things to try" has submitted the knee case (README, Demo logins).
    _get_or_create_event(
        name=RILEY_SECOND_OPEN_CASE,
        actor=users["riley"],
        type=EventType.CASE,
        representative=users["riley"],
        facility=st_marys,
        physician=physicians["Dr. Priya Natarajan"],
        procedure=procedures["ORIF distal radius"],
        scheduled_at=now + datetime.timedelta(days=7),
        patient_ref="CASE-2063",
    )
    _get_or_create_event(
        name="THA · Lakeside · Friday",
        actor=users["dana"],
        type=EventType.CASE,
        representative=users["sam"],
        facility=lakeside,
        physician=physicians["Dr. Marcus Hale"],
        procedure=procedures["Total hip arthroplasty"],
        scheduled_at=now + datetime.timedelta(days=3),
    )
    _get_or_create_event(
        name="ORIF · St. Mary's · Casey",
        actor=users["casey"],
        type=EventType.CASE,
        representative=users["casey"],
        facility=st_marys,
        physician=physicians["Dr. Priya Natarajan"],
        procedure=procedures["ORIF distal radius"],
        scheduled_at=now + datetime.timedelta(days=2),
    )
