"""The caller's own notifications, as the bell's list shows them, and marking them read."""

from __future__ import annotations

from django.conf import settings
from rest_framework import serializers

from accounts.models import Notification
from api.serializers.base import InputSerializer
from api.serializers.users import NamedUserSerializer

BIGGEST_ID = 2**63 - 1


class NotificationSerializer(serializers.ModelSerializer):
    """Needs `actor` loaded (accounts.selectors.notification_rows)."""

    actor = NamedUserSerializer(allow_null=True, help_text="Who did it; null for a job or digest.")
    url = serializers.CharField(help_text="The path, on this site, of what it is about.")

    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "summary",
            "detail",
            "url",
            "actor",
            "event_id",
            "comment_id",
            "transfer_id",
            "recall_id",
            "created_at",
            "read_at",
        ]


class NotificationFilter(InputSerializer):
    unread = serializers.BooleanField(
        required=False,
        default=None,
        allow_null=True,
        help_text="true: only those not yet read; false: only those read.",
    )


class NotificationReadSerializer(InputSerializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=BIGGEST_ID),
        required=False,
        max_length=settings.MAX_SELECTION,
        help_text="Which of your notifications to mark read; another person's ids change nothing.",
    )
    all = serializers.BooleanField(required=False, default=False, help_text="true: every one.")

    def validate(self, data):
        if data.get("all") == ("ids" in data):
            raise serializers.ValidationError("Give either ids or all: true.")
        return data


class NotificationReadResultSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many were unread and are now read.")
