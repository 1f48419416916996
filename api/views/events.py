"""Events: the list with the event page's filters, opening and editing one, its lines and usage,
marking units used and unmarking them, and its life (submit, reopen, cancel, PO, paid), each
through events.services."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from accounts.models import User
from api.idempotency import idempotent
from api.pagination import keyset_rows
from api.serializers.events import (
    EventDetailSerializer,
    EventSerializer,
    EventUsageSerializer,
    EventWriteSerializer,
    MarkUsedResultSerializer,
    MarkUsedSerializer,
    PoSerializer,
    UnitIdsSerializer,
    UnmarkResultSerializer,
)
from api.serializers.responses import (
    IDEMPOTENCY_KEY,
    PAGE_PARAMS,
    READ_ERRORS,
    WRITE_ERRORS,
    paged,
)
from api.views.base import ApiView, refuse_invalid_filter, refuse_invalid_form, scoped_object
from events import policies, selectors
from events.filters import EventFilter
from events.forms import EventForm, PoForm
from events.models import Event, EventStatus, EventType
from events.services import events as event_services
from events.services.usage import event_mark_used, event_unmark

EVENT_FILTERS = [
    OpenApiParameter("type", str, enum=EventType.values),
    OpenApiParameter("status", str, enum=EventStatus.values),
    OpenApiParameter("facility", int, description="A facility id."),
    OpenApiParameter("representative", int, description="A user id: whose events."),
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="On or after this day."),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description="On or before this day."),
]
# The event form's fields, as event_create and event_update take them.
DETAILS = (
    "type",
    "name",
    "representative",
    "facility",
    "physician",
    "procedure",
    "scheduled_at",
    "patient_ref",
    "notes",
)


def visible_event(request, pk) -> Event:
    """The event, if the caller may see it (its page's lookup); else 404."""
    return scoped_object(
        Event.objects.visible_to(request.user).select_related(
            "representative", "facility", "physician", "procedure", "created_by"
        ),
        pk=pk,
    )


def event_answer(event: Event, actor, status_code: int = status.HTTP_200_OK) -> Response:
    """One event as its page shows it (patient reference included, as there), its usage
    counts and the steps the caller may take now."""
    event = Event.objects.select_related(
        "representative", "facility", "physician", "procedure", "created_by"
    ).get(pk=event.pk)
    summary = selectors.usage_summary(event=event)
    event.unit_count = len(summary["lines"])
    event.usage = _counts(summary)
    event.can = {
        "edit": policies.can_edit_event(actor=actor, event=event),
        "mark_used": policies.can_mark_used(actor=actor, event=event),
        "submit": policies.can_submit(actor=actor, event=event),
        "cancel": policies.can_cancel(actor=actor, event=event),
        "po": policies.can_complete(actor=actor, event=event),
        "paid": policies.can_mark_paid(actor=actor, event=event),
        "reopen": policies.can_reopen(actor=actor, event=event),
    }
    return Response(EventDetailSerializer(event).data, status=status_code)


def _counts(summary: dict) -> dict:
    return {key: len(summary[key]) for key in ("billable", "unbillable", "recalled")}


def _form_data(details: dict) -> dict:
    """Validated JSON details as the event form reads a post."""
    data = {}
    for name, value in details.items():
        if value is None:
            data[name] = ""
        elif hasattr(value, "pk"):
            data[name] = str(value.pk)
        elif name == "scheduled_at":
            data[name] = timezone.localtime(value).isoformat()
        else:
            data[name] = str(value)
    return data


class EventList(ApiView):
    @extend_schema(
        operation_id="events_list",
        parameters=[*EVENT_FILTERS, *PAGE_PARAMS],
        responses={200: paged(EventSerializer), **READ_ERRORS},
    )
    def get(self, request):
        """Events the caller may see, newest first, with the event list's filters."""
        actor = self.actor
        filterset = EventFilter(
            request.query_params,
            queryset=Event.objects.visible_to(request.user),
            organization_id=actor.organization_id,
            user=request.user,
            representatives=selectors.representative_picks(actor=actor),
        )
        if not filterset.is_valid():
            refuse_invalid_filter(filterset)
        rows, next_url = keyset_rows(
            request, selectors.event_rows(filterset.qs), selectors.EVENT_ORDER
        )
        selectors.with_unit_counts(rows)
        return Response({"results": EventSerializer(rows, many=True).data, "next": next_url})

    @extend_schema(
        request=EventWriteSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: EventDetailSerializer, **WRITE_ERRORS},
    )
    @idempotent
    def post(self, request):
        """Open an event: reps for themselves, distributors for themselves or their reps, admins
        for anyone who holds stock. A Case needs a procedure; a blank name is made up."""
        body = EventWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        actor = self.actor
        form = EventForm(
            _form_data(body.validated_data),
            organization_id=actor.organization_id,
            representatives=selectors.representative_picks(actor=actor),
            user=request.user,
        )
        refuse_invalid_form(form)
        event = event_services.event_create(
            actor=request.user, **{name: form.cleaned_data[name] for name in DETAILS}
        )
        return event_answer(event, actor, status.HTTP_201_CREATED)


class EventDetail(ApiView):
    @extend_schema(responses={200: EventDetailSerializer, **READ_ERRORS})
    def get(self, request, pk):
        return event_answer(visible_event(request, pk), self.actor)

    @extend_schema(
        request=EventWriteSerializer(partial=True),
        parameters=[IDEMPOTENCY_KEY],
        responses={200: EventDetailSerializer, **WRITE_ERRORS},
    )
    @idempotent
    def patch(self, request, pk):
        """Change an open event's details; those not sent stay as they are. The edit page's
        rules: the representative and type only while no unit is used, the facility only while
        no facility stock is."""
        event = visible_event(request, pk)
        body = EventWriteSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        sent = body.validated_data
        actor = self.actor
        current = {name: getattr(event, name) for name in DETAILS}
        picks = selectors.representative_picks(actor=actor)
        # The edit page's form: the event's representative stays acceptable unchanged.
        form = EventForm(
            _form_data({**current, **sent}),
            organization_id=actor.organization_id,
            representatives=None
            if picks is None
            else picks | User.objects.filter(pk=event.representative_id),
            user=request.user,
            keep=event.representative,
        )
        refuse_invalid_form(form)
        event = event_services.event_update(
            actor=request.user, event=event, **{name: form.cleaned_data[name] for name in sent}
        )
        return event_answer(event, actor)


class EventLines(ApiView):
    @extend_schema(responses={200: EventUsageSerializer, **READ_ERRORS})
    def get(self, request, pk):
        """The units used on the event (billable or not, from facility stock, recalled), with
        its status and PO number."""
        event = visible_event(request, pk)
        summary = selectors.usage_summary(event=event)
        return Response(
            EventUsageSerializer(
                {"event": event, "usage": _counts(summary), "lines": summary["lines"]}
            ).data
        )


class EventMarkUsed(ApiView):
    @extend_schema(
        request=MarkUsedSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: MarkUsedResultSerializer, **WRITE_ERRORS},
    )
    @idempotent
    def post(self, request, pk):
        """Allocate units to an open event at once, all or nothing, as Mark Used does: from the
        representative's own custody or, with pooling on, the distributor's; facility stock at
        the event's facility for a Case (unbillable). Refused naming the unit: another event
        took it first (naming that event), recalled, expired before the event's date, or not
        among what the representative may use."""
        event = visible_event(request, pk)
        body = MarkUsedSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        lines = event_mark_used(
            actor=request.user,
            event=event,
            unit_ids=body.validated_data["unit_ids"],
            identified_by=body.validated_data["identified_by"],
            seen=body.validated_data.get("expected_sequences"),
        )
        marked = {line.unit_id for line in lines}
        warnings = [
            warning
            for line in lines
            if (warning := policies.unit_use_warning(event=event, unit=line.unit))
        ]
        shown = [
            line for line in selectors.usage_summary(event=event)["lines"] if line.unit_id in marked
        ]
        return Response(MarkUsedResultSerializer({"lines": shown, "warnings": warnings}).data)


class EventUnmark(ApiView):
    @extend_schema(
        request=UnitIdsSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: UnmarkResultSerializer, **WRITE_ERRORS},
    )
    @idempotent
    def post(self, request, pk):
        """Take units off an open event; they go back where they came from."""
        event = visible_event(request, pk)
        body = UnitIdsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        count = event_unmark(
            actor=request.user, event=event, unit_ids=body.validated_data["unit_ids"]
        )
        return Response(UnmarkResultSerializer({"unmarked": count}).data)


STEPPED = {200: EventDetailSerializer, **WRITE_ERRORS}


def _step(service, doc: str):
    """A lifecycle step that takes nothing but the event."""

    @extend_schema(request=None, parameters=[IDEMPOTENCY_KEY], responses=STEPPED)
    @idempotent
    def post(self, request, pk):
        event = service(actor=request.user, event=visible_event(request, pk))
        return event_answer(event, self.actor)

    post.__doc__ = doc
    return post


class EventSubmit(ApiView):
    post = _step(
        event_services.event_submit,
        "Close an open event and apply its usage: single-use units and facility stock are "
        "consumed, reusable units go back to stock; a Stocking Order's units become facility "
        "stock; Damage, Return and Adjustment units are adjusted away.",
    )


class EventReopen(ApiView):
    post = _step(
        event_services.event_reopen,
        "Reopen a submitted Case (its distributor or an admin); the units it consumed are "
        "allocated to it again.",
    )


class EventCancel(ApiView):
    post = _step(event_services.event_cancel, "Cancel an open event; its units are released.")


class EventPaid(ApiView):
    post = _step(
        event_services.event_mark_paid,
        "Record a completed event as paid: the representative's distributor or an admin.",
    )


class EventPo(ApiView):
    @extend_schema(request=PoSerializer, parameters=[IDEMPOTENCY_KEY], responses=STEPPED)
    @idempotent
    def post(self, request, pk):
        """Record the PO number of a submitted event: it is completed."""
        event = visible_event(request, pk)
        body = PoSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        form = PoForm(body.validated_data)
        refuse_invalid_form(form)
        event = event_services.event_complete(
            actor=request.user, event=event, po_number=form.cleaned_data["po_number"]
        )
        return event_answer(event, self.actor)
