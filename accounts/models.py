"""Organizations (tenants), users with one role each, distributor groups with pooling, and the
notifications people receive (with their email preferences)."""

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone


class Organization(models.Model):
    name = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    DISTRIBUTOR = "distributor", "Distributor"
    REP = "rep", "Sales rep"


class UserQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Users a person may look up: their organization only (admins manage, others pick)."""
        if not user.is_authenticated or user.organization_id is None:
            return self.none()
        return self.filter(organization_id=user.organization_id)

    def people(self):
        """Persons only: never an integration's service user. Every list a person picks
        someone from (holders, @mentions) starts here."""
        return self.filter(is_service=False)


class TrunkpoolUserManager(UserManager.from_queryset(UserQuerySet)):
    pass


class User(AbstractUser):
    # Superusers made with createsuperuser for Django's admin site may have no organization;
    # every person who uses Trunkpool itself belongs to exactly one.
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.REP)
    display_name = models.CharField(max_length=150, blank=True)
    # An integration's service user (the API's organization tokens act as it): it has an
    # unusable password, never signs in, and is never offered as a holder or an @mention.
    is_service = models.BooleanField(default=False)

    objects = TrunkpoolUserManager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=[r.value for r in Role]), name="user_role_valid"
            ),
            # "Bob" and "bob" would be one person to @mentions and to people reading lists.
            models.UniqueConstraint(Lower("username"), name="user_username_ci_unique"),
        ]
        indexes = [models.Index(fields=["organization", "role"])]
        ordering = ["display_name", "username"]

    def __str__(self):
        return self.display_name or self.username

    @property
    def name(self):
        return self.display_name or self.username

    @property
    def is_distributor(self):
        return self.role == Role.DISTRIBUTOR

    @property
    def is_rep(self):
        return self.role == Role.REP


class DistributorGroup(models.Model):
    """A distributor and the reps assigned to them.

    The distributor column is NOT NULL and UNIQUE, so a group has exactly one distributor and a
    distributor heads at most one group; `GroupMembership.rep` is UNIQUE, so a rep is in at most
    one group. On PostgreSQL triggers also refuse a non-distributor as head and a non-rep as
    member (migration 0002), so a second distributor cannot slip in as a "member".
    """

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT)
    distributor = models.OneToOneField(
        User, on_delete=models.PROTECT, related_name="distributor_group"
    )
    pooling_enabled = models.BooleanField("Access Distributor's Inventory", default=False)
    reps = models.ManyToManyField(User, through="GroupMembership", related_name="+", blank=True)

    def __str__(self):
        return f"{self.distributor}'s group"


class GroupMembership(models.Model):
    group = models.ForeignKey(DistributorGroup, on_delete=models.CASCADE, related_name="members")
    rep = models.OneToOneField(User, on_delete=models.PROTECT, related_name="membership")
    added_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.rep} in {self.group}"


class GroupChange(models.Model):
    """Who changed a group's assignments or pooling, when, and what. Never edited."""

    class Action(models.TextChoices):
        REP_ADDED = "rep_added", "assigned"
        REP_REMOVED = "rep_removed", "unassigned"
        POOLING_ON = "pooling_on", "turned Access Distributor's Inventory on"
        POOLING_OFF = "pooling_off", "turned Access Distributor's Inventory off"

    group = models.ForeignKey(DistributorGroup, on_delete=models.PROTECT, related_name="changes")
    action = models.CharField(max_length=20, choices=Action.choices)
    rep = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-pk"]
        # A group's history, newest first (the group page's last 20), inside the group.
        indexes = [models.Index(fields=["group", "-at", "-id"], name="group_change_history_idx")]

    def __str__(self):
        return f"{self.actor} {self.describe()}"

    def describe(self):
        if self.rep_id:
            return f"{self.get_action_display()} {self.rep}"
        return self.get_action_display()


class SentEmail(models.Model):
    """The sent-log: one row per email that went out, keyed by what it is about (for example
    `mention:42`) and its recipient, so a retried job never sends the same email twice."""

    key = models.CharField(max_length=200)
    recipient = models.EmailField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "recipient"], name="sent_email_once"),
        ]

    def __str__(self):
        return f"{self.key} to {self.recipient}"


class RateCounter(models.Model):
    """Calls counted per key and fixed window, shared by every app server (API throttles, the
    password-reset limit): one row per (key, window), counted up with one INSERT … ON CONFLICT
    DO UPDATE … RETURNING (accounts.ratelimit), so two servers never lose a count."""

    key = models.CharField(max_length=200)
    window_start = models.BigIntegerField()  # unix seconds at the start of the window
    window_seconds = models.PositiveIntegerField()  # its length, for pruning ended windows
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "window_start"], name="rate_counter_once")
        ]
        indexes = [models.Index(fields=["window_start"], name="rate_counter_window_idx")]

    def __str__(self):
        return f"{self.key}@{self.window_start}: {self.count}"


class NotificationKind(models.TextChoices):
    """What a notification is about; each user turns email on or off per kind."""

    MENTION = "mention", "Someone @mentions me in a comment"
    TRANSFER_WAITING = "transfer_waiting", "A transfer waits on me or on one of my reps"
    TRANSFER_ACCEPTED = "transfer_accepted", "My transfer was accepted"
    TRANSFER_DECLINED = "transfer_declined", "My transfer was declined (its units are on hold)"
    TRANSFER_CANCELLED = "transfer_cancelled", "A transfer to or from me was cancelled"
    HOLD_RELEASED = "hold_released", "My units on hold were released"
    STOCK_MOVED = "stock_moved", "My distributor or an admin moved stock on my behalf"
    EVENT_CHANGED = "event_changed", "Someone else edited, submitted or reopened my event"
    RECALL = "recall", "A recall touches my units or my open events"
    BELOW_PAR = "below_par", "One of my pool locations fell below par"
    JOB_DONE = "job_done", "My background import or export finished"
    OFFLINE_CONFLICT = (
        "offline_conflict",
        "A mark one of my reps made offline was refused at sync",
    )
    WEBHOOK_DISABLED = (
        "webhook_disabled",
        "A webhook subscription was switched off after repeated failures (admins)",
    )


class Notification(models.Model):
    """One thing a person is told, in-app (the bell) and, unless they opted out, by email.

    Accounts is the lowest app, so what a notification is about is kept as plain ids of the
    higher apps' rows (an event, a comment, a transfer, a recall), never foreign keys, plus the
    summary and the link written when it was created: the list shows them without a join.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=30, choices=NotificationKind.choices)
    # Nobody for what no person did (a finished job, a digest).
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    summary = models.CharField(max_length=300)
    detail = models.CharField(max_length=1000, blank=True)
    # A path inside the site (the page of what it is about); the email prefixes SITE_URL.
    url = models.CharField(max_length=300, blank=True)
    event_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    comment_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    transfer_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    recall_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    Kind = NotificationKind

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            # The bell: one count over the user's unread rows, from the index alone.
            models.Index(
                fields=["user", "created_at"],
                condition=Q(read_at__isnull=True),
                name="notice_unread_idx",
            ),
            # The list, newest first, by cursor.
            models.Index(fields=["user", "-created_at", "-id"], name="notice_user_list_idx"),
        ]

    def __str__(self):
        return f"{self.kind} for {self.user_id}"


class NotificationPreference(models.Model):
    """A user's email switch for one kind. No row means email is on (the default)."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=30, choices=NotificationKind.choices)
    email = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notice_preference_once_per_kind")
        ]

    def __str__(self):
        return f"{self.user_id} {self.kind} email={'on' if self.email else 'off'}"


class ReadPin(models.Model):
    """Until when a user's reads go to the primary, because they just wrote (accounts.replica).

    A table on the primary rather than process memory, so the pin holds on every app server
    that user's next request may reach. Written only with DATABASE_REPLICA_URL set."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, primary_key=True, related_name="+")
    until = models.DateTimeField()
    # The primary's WAL position (pg_lsn as text) after the write: reads stay on the primary
    # until the replica has replayed this far, however long that takes past `until`.
    lsn = models.CharField(max_length=32)

    def __str__(self):
        return f"{self.user_id} until {self.until}"
