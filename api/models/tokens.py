"""Access tokens: personal ones, and an admin's integration tokens (which act as a service user).

A token is shown once, when made, and only its SHA-256 digest is kept: the secret part is 256
random bits, so a fast hash is enough (there is nothing to guess), and a leaked table gives no
one a working token. The short public prefix finds the row; the digest is then compared in
constant time.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class TokenScope(models.TextChoices):
    READ = "read", "Read only"
    WRITE = "write", "Read and write"


class ApiTokenQuerySet(models.QuerySet):
    def live(self, now=None):
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True, expires_at__gt=now, user__is_active=True)

    def visible_to(self, user):
        """A person's own tokens; an admin also sees every token of the organization's service
        users (integrations). Nobody sees another person's personal tokens."""
        if not user.is_authenticated or user.organization_id is None:
            return self.none()
        mine = Q(user=user)
        if user.role == "admin":
            mine |= Q(user__organization_id=user.organization_id, user__is_service=True)
        return self.filter(mine)


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    # Public, unique, and part of the token itself: "tp_<prefix>_<secret>".
    prefix = models.CharField(max_length=12, unique=True)
    digest = models.CharField(max_length=64)
    scope = models.CharField(max_length=10, choices=TokenScope.choices, default=TokenScope.READ)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Updated at most once a minute (api.authentication), so a busy token is not a write per call.
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(scope__in=TokenScope.values), name="apitoken_scope_valid"
            ),
        ]
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def can_write(self) -> bool:
        return self.scope == TokenScope.WRITE
