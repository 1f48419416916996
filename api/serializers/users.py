"""People, as the users pages show them: name, username, role, group and status. An email is
shown only to those who manage users (the admins), as the user page does."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User


class NamedUserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class UserSerializer(serializers.ModelSerializer):
    """Needs `accounts.selectors.user_list`'s select_related and rep_count, and the context's
    `can_manage` (whether the caller manages users)."""

    name = serializers.CharField(read_only=True)
    email = serializers.SerializerMethodField(help_text="null unless you manage users (admins).")
    distributor = serializers.SerializerMethodField(
        help_text="A rep's distributor (the head of their group); null for anyone else."
    )
    pooling_enabled = serializers.SerializerMethodField(
        help_text="Access Distributor's Inventory of the group the person heads or is in; "
        "null outside a group."
    )
    rep_count = serializers.SerializerMethodField(
        help_text="How many reps a distributor's group has; null for anyone else."
    )

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "name",
            "role",
            "is_active",
            "is_service",
            "email",
            "distributor",
            "pooling_enabled",
            "rep_count",
        ]

    @staticmethod
    def _group(user):
        membership = getattr(user, "membership", None)
        if membership is not None:
            return membership.group
        return getattr(user, "distributor_group", None)

    def get_email(self, user) -> str | None:
        return user.email if self.context["can_manage"] else None

    @extend_schema_field(NamedUserSerializer(allow_null=True))
    def get_distributor(self, user) -> dict | None:
        membership = getattr(user, "membership", None)
        if membership is None:
            return None
        head = membership.group.distributor
        return NamedUserSerializer({"id": head.pk, "name": head.name}).data

    def get_pooling_enabled(self, user) -> bool | None:
        group = self._group(user)
        return None if group is None else group.pooling_enabled

    def get_rep_count(self, user) -> int | None:
        return user.rep_count if user.is_distributor else None
