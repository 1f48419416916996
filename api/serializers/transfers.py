"""Transfers as the API shows them, and the shapes of the requests that start and answer them.

The request serializers check JSON types only; the page's form (inventory.forms) resolves the
recipient and location as the page does, and the services decide the rest.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework import serializers

from api.serializers.base import InputSerializer
from api.serializers.units import (
    ExpectedSequencesField,
    HolderField,
    UnitSerializer,
    check_expected_among,
)
from inventory.models import Transfer

BIGGEST_ID = 2**63 - 1


def _id_field(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=BIGGEST_ID, **kwargs)


class NamedRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="__str__")


class TransferSerializer(serializers.ModelSerializer):
    """One transfer as the transfers page lists it. A null sender or recipient is organization
    custody."""

    sender = HolderField(allow_null=True, help_text="null: organization custody.")
    recipient = HolderField(allow_null=True, help_text="null: organization custody.")
    started_by = HolderField()
    on_behalf_of = HolderField(
        allow_null=True, help_text="Whom the starter acted for (a distributor for a rep)."
    )
    to_location_id = serializers.IntegerField(allow_null=True)
    resolved_by_id = serializers.IntegerField(allow_null=True)
    unit_count = serializers.IntegerField()

    class Meta:
        model = Transfer
        fields = [
            "id",
            "status",
            "sender",
            "recipient",
            "started_by",
            "on_behalf_of",
            "to_location_id",
            "note",
            "decline_reason",
            "created_at",
            "resolved_at",
            "resolved_by_id",
            "unit_count",
        ]


class TransferPermissionsSerializer(serializers.Serializer):
    """What the caller may do now (inventory.policies), as the page shows its buttons."""

    accept = serializers.BooleanField()
    decline = serializers.BooleanField()
    cancel = serializers.BooleanField()


class TransferDetailSerializer(TransferSerializer):
    """One transfer as its page shows it: its units, with custody as the caller reads it, and
    what the caller may do now."""

    to_location = NamedRefSerializer(allow_null=True)
    resolved_by = HolderField(allow_null=True)
    resolved_for = HolderField(
        allow_null=True, help_text="Whom the person who closed it answered for, if not themselves."
    )
    units = UnitSerializer(many=True, source="units_shown")
    can = TransferPermissionsSerializer()

    class Meta(TransferSerializer.Meta):
        fields = [
            *TransferSerializer.Meta.fields,
            "to_location",
            "resolved_by",
            "resolved_for",
            "units",
            "can",
        ]


class TransferCreatedSerializer(serializers.Serializer):
    """Units of several holders make one transfer per holder."""

    transfers = TransferSerializer(many=True)


class TransferCreateSerializer(InputSerializer):
    unit_ids = serializers.ListField(
        child=_id_field(), max_length=settings.MAX_SELECTION, help_text="Unit ids to send."
    )
    recipient = _id_field(
        allow_null=True,
        help_text="A user id (anyone active of the organization who holds stock), or null for "
        "organization custody.",
    )
    to_location = _id_field(
        allow_null=True,
        required=False,
        default=None,
        help_text="Where the units will sit: a location the recipient holds (a trunk, a bin).",
    )
    note = serializers.CharField(max_length=500, allow_blank=True, required=False, default="")
    expected_sequences = ExpectedSequencesField()

    def validate(self, attrs):
        check_expected_among(attrs)
        return attrs


class TransferDeclineSerializer(InputSerializer):
    reason = serializers.CharField(
        max_length=500,
        allow_blank=True,
        required=False,
        default="",
        help_text="Why: the sender and an admin read it. Required by the rule.",
    )
