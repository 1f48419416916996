"""Releasing units on hold: the request's shape, and the units released."""

from __future__ import annotations

from django.conf import settings
from rest_framework import serializers

from api.serializers.base import InputSerializer
from api.serializers.units import UnitSerializer

BIGGEST_ID = 2**63 - 1


class HoldReleaseSerializer(InputSerializer):
    unit_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=BIGGEST_ID),
        required=False,
        max_length=settings.MAX_SELECTION,
        help_text="The units on hold to make available again with their holder.",
    )
    all = serializers.BooleanField(
        required=False,
        default=False,
        help_text=f"true: every unit on hold, up to {settings.MAX_SELECTION} (the oldest first).",
    )
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    def validate(self, data):
        if data.get("all") == ("unit_ids" in data):
            raise serializers.ValidationError("Give either unit_ids or all: true.")
        return data


class HoldReleasedSerializer(serializers.Serializer):
    units = UnitSerializer(many=True)
