"""Organizations (tenants), users with one role each, and distributor groups with pooling."""

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower


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
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-pk"]

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
