"""Releasing units on hold: the request's shape, and the units released."""

from __future__ import annotations

from django.conf import settings
from rest_framework import serializers

from api.serializers.base import InputSerializer
from api.serializers.units import ExpectedSequencesField, UnitSerializer, check_expected_among

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
    expected_sequences = ExpectedSequencesField(
        help_text="Optional: the `ledger_seq` you last read, by unit id. If any of these units "
        "changed since, nothing is done and the answer is a 409 (code `stale`) whose message "
        "says what changed. With `all`, the units named are released too (or told as "
        "changed); others on hold are judged as they are now."
    )

    def validate(self, data):
        if data.get("all") == ("unit_ids" in data):
            raise serializers.ValidationError("Give either unit_ids or all: true.")
        if not data.get("all"):
            check_expected_among(data)
        return data


class HoldReleasedSerializer(serializers.Serializer):
    units = UnitSerializer(many=True)
