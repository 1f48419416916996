"""Directory (facilities, physicians, procedures), events and their used units, and comments with
@mentions (their notifications live in accounts)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.policies import event_rep_scope
from accounts.selectors import actor_for, event_viewers_q
from inventory.models import Facility


class Physician(models.Model):
    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    name = models.CharField(max_length=200)
    specialty = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="physician_name_unique")
        ]

    def __str__(self):
        return self.name


class Procedure(models.Model):
    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="procedure_name_unique")
        ]

    def __str__(self):
        return self.name


class EventType(models.TextChoices):
    CASE = "case", "Case"
    STOCKING_ORDER = "stocking_order", "Stocking Order"
    DAMAGE = "damage", "Damage"
    RETURN = "return", "Return"
    ADJUSTMENT = "adjustment", "Stock Adjustment"
    OTHER = "other", "Other"


class EventStatus(models.TextChoices):
    OPEN = "open", "Open"
    SUBMITTED = "submitted", "Submitted"
    COMPLETED = "completed", "Completed"
    PAID = "paid", "Paid"
    CANCELLED = "cancelled", "Cancelled"


class EventQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The representative, the representative's distributor, and admins see an event."""
        if not user.is_authenticated or user.organization_id is None:
            return self.none()
        actor = actor_for(user)
        scope = event_rep_scope(actor=actor)
        qs = self.filter(organization_id=actor.organization_id)
        return qs if scope is None else qs.filter(representative_id__any_of=scope)


class Event(models.Model):
    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    type = models.CharField(max_length=20, choices=EventType.choices, default=EventType.CASE)
    name = models.CharField(max_length=200)
    representative = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="represented_events"
    )
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="events")
    physician = models.ForeignKey(Physician, null=True, blank=True, on_delete=models.PROTECT)
    procedure = models.ForeignKey(Procedure, null=True, blank=True, on_delete=models.PROTECT)
    scheduled_at = models.DateTimeField("Date and time")
    patient_ref = models.CharField(
        "Patient reference",
        max_length=40,
        blank=True,
        help_text="An anonymous reference only, never a name.",
    )
    notes = models.TextField(blank=True, max_length=5000)
    status = models.CharField(max_length=20, choices=EventStatus.choices, default=EventStatus.OPEN)
    po_number = models.CharField("PO number", max_length=60, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["-scheduled_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(type__in=[t.value for t in EventType]), name="event_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in EventStatus]), name="event_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(type="case") | Q(procedure__isnull=False),
                name="event_case_has_procedure",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["completed", "paid"]) | ~Q(po_number=""),
                name="event_completed_has_po",
            ),
        ]
        indexes = [
            # The event list's order (newest first) for an admin and for one representative.
            models.Index(
                fields=["organization", "-scheduled_at", "-id"], name="event_org_when_idx"
            ),
            models.Index(
                fields=["representative", "-scheduled_at", "-id"], name="event_rep_when_idx"
            ),
            models.Index(fields=["organization", "representative", "status"]),
            # The same order within one status (the list filtered by status, open events).
            models.Index(
                fields=["organization", "status", "-scheduled_at", "-id"],
                name="event_org_status_when_idx",
            ),
            models.Index(
                fields=["representative", "status", "-scheduled_at", "-id"],
                name="event_rep_status_when_idx",
            ),
            models.Index(fields=["organization", "facility", "scheduled_at"]),
        ]

    def __str__(self):
        return self.name


def viewers_q(event: Event) -> Q:
    """Users who can see `event`, as a filter on users (one query with no extra lookups)."""
    return event_viewers_q(
        organization_id=event.organization_id, representative_id=event.representative_id
    )


class EventLineQuerySet(models.QuerySet):
    def current(self):
        return self.filter(removed_at__isnull=True)


class EventLine(models.Model):
    """A unit used on an event. Unmarking keeps the row (removed_at), so nothing is lost."""

    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="lines")
    unit = models.ForeignKey("inventory.Unit", on_delete=models.PROTECT, related_name="event_lines")
    billable = models.BooleanField(default=True)
    from_facility_stock = models.BooleanField(default=False)
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    marked_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = EventLineQuerySet.as_manager()

    class Meta:
        ordering = ["marked_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "unit"],
                condition=Q(removed_at__isnull=True),
                name="eventline_unit_once_per_event",
            ),
        ]

    def __str__(self):
        return f"{self.event} · unit {self.unit_id}"


class Comment(models.Model):
    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(max_length=5000)
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    mentioned = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Mention", related_name="+"
    )

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"Comment {self.pk} on {self.event}"


class Mention(models.Model):
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="mentions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["comment", "user"], name="mention_once_per_comment")
        ]

    def __str__(self):
        return f"@{self.user_id} in {self.comment_id}"


class ClientOperationKind(models.TextChoices):
    MARK_USED = "mark_used", "Mark used"
    UNMARK = "unmark", "Unmark"
    # Any API write sent with an Idempotency-Key (api.idempotency): its first answer is kept.
    API = "api", "API call"


class ClientOperationHow(models.TextChoices):
    LIST = "list", "Chosen from the list"
    TYPED = "typed", "Typed"
    SCAN = "scan", "Scanned"
    API = "api", "Through the API"


# What an offline phone may queue: the API's records share the table, never the phone's path.
PHONE_KINDS = (ClientOperationKind.MARK_USED, ClientOperationKind.UNMARK)
PHONE_HOWS = (ClientOperationHow.LIST, ClientOperationHow.TYPED, ClientOperationHow.SCAN)


class ClientOperationStatus(models.TextChoices):
    APPLIED = "applied", "Applied"
    REFUSED = "refused", "Refused"


class ClientOperation(models.Model):
    """An operation made on a client with an id made there: an offline phone's mark, or an API
    write sent with an Idempotency-Key (its id derived from the caller and the key). The server
    judges it when it arrives and keeps its first answer, which every replay of the same id gets
    back unchanged."""

    Kind = ClientOperationKind
    How = ClientOperationHow
    Status = ClientOperationStatus

    # The phone's id: the primary key is the unique constraint that makes a replay a no-op.
    id = models.UUIDField(primary_key=True)
    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # Null when the id sent names no event the user can see: the refusal is kept all the same,
    # so that a replay gets it back.
    event = models.ForeignKey(
        Event, null=True, blank=True, on_delete=models.PROTECT, related_name="client_operations"
    )
    # A plain column: the id sent may name no unit, or one the user may not see.
    unit_id = models.BigIntegerField(null=True, blank=True)
    label = models.CharField(max_length=500, blank=True)
    how = models.CharField(max_length=10, choices=How.choices)
    # The phone's clock, stored as reported: it may be wrong, so no rule reads it.
    reported_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices)
    message = models.CharField(max_length=500, blank=True)
    answer = models.JSONField(default=dict)
    # API calls: a digest of the method, path and body (a key reused for another request is
    # refused, not answered with the wrong result), and the HTTP status of the first answer.
    request_hash = models.CharField(max_length=64, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=ClientOperationKind.values), name="clientop_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(how__in=ClientOperationHow.values), name="clientop_how_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ClientOperationStatus.values), name="clientop_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-received_at"], name="clientop_user_received_idx"),
        ]

    def __str__(self):
        return f"{self.kind} {self.id} ({self.status})"
