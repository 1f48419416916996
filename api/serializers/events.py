"""Events, their lines and usage, as the API shows them, and the shapes of the requests that
open, edit and move them along.

The patient reference is shown where the event's own page shows it (the detail, to everyone who
may see the event) and nowhere else: not in lists, lines or answers about units.
Request serializers check JSON types only; the page's forms (events.forms) resolve ids as the
pages do, and the services decide the rest.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework import serializers

from api.serializers.base import InputSerializer, TextField
from api.serializers.transfers import BIGGEST_ID, NamedRefSerializer
from api.serializers.units import ExpectedSequencesField, HolderField, check_expected_among
from events.models import Event, EventLine, EventType
from inventory.identification import Identified


def _id_field(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=BIGGEST_ID, **kwargs)


class EventSerializer(serializers.ModelSerializer):
    """One event as the event list shows it, with its PO number."""

    representative = HolderField()
    facility = NamedRefSerializer()
    physician = NamedRefSerializer(allow_null=True)
    procedure = NamedRefSerializer(allow_null=True)
    unit_count = serializers.IntegerField(help_text="Units currently used on it.")

    class Meta:
        model = Event
        fields = [
            "id",
            "name",
            "type",
            "status",
            "scheduled_at",
            "representative",
            "facility",
            "physician",
            "procedure",
            "po_number",
            "submitted_at",
            "created_at",
            "unit_count",
        ]


class EventPermissionsSerializer(serializers.Serializer):
    """What the caller may do now (events.policies), as the event page shows its buttons."""

    edit = serializers.BooleanField()
    mark_used = serializers.BooleanField()
    submit = serializers.BooleanField()
    cancel = serializers.BooleanField()
    po = serializers.BooleanField(help_text="Record the PO number (complete).")
    paid = serializers.BooleanField()
    reopen = serializers.BooleanField()


class UsageCountsSerializer(serializers.Serializer):
    billable = serializers.IntegerField()
    unbillable = serializers.IntegerField(help_text="Facility stock used on a Case.")
    recalled = serializers.IntegerField(help_text="Lines whose unit a recall names.")


class EventDetailSerializer(EventSerializer):
    """One event as its page shows it (the patient reference too, as there, to everyone who
    may see the event), its usage counts, and what the caller may do now."""

    created_by = HolderField()
    usage = UsageCountsSerializer()
    can = EventPermissionsSerializer()

    class Meta(EventSerializer.Meta):
        fields = [
            *EventSerializer.Meta.fields,
            "patient_ref",
            "notes",
            "created_by",
            "usage",
            "can",
        ]


class LineUnitSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    product = NamedRefSerializer()
    serial_number = serializers.CharField()
    lot_number = serializers.CharField()
    expiration_date = serializers.DateField(allow_null=True)
    state = serializers.CharField()
    custodian = HolderField(allow_null=True, help_text="null: organization custody.")


class RecallRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    recall_class = serializers.CharField()


class EventLineSerializer(serializers.ModelSerializer):
    unit = LineUnitSerializer()
    marked_by = HolderField()
    recall = RecallRefSerializer(
        allow_null=True, help_text="An active recall naming the unit: tell the surgeon."
    )

    class Meta:
        model = EventLine
        fields = [
            "id",
            "unit",
            "billable",
            "from_facility_stock",
            "marked_by",
            "marked_at",
            "recall",
        ]


class EventUsageSerializer(serializers.Serializer):
    """The event's usage: its current lines, billable or not, and where it stands."""

    event = serializers.IntegerField(source="event.pk")
    type = serializers.CharField(source="event.type")
    status = serializers.CharField(source="event.status")
    po_number = serializers.CharField(source="event.po_number")
    usage = UsageCountsSerializer()
    lines = EventLineSerializer(many=True)


class EventWriteSerializer(InputSerializer):
    """Open an event (POST) or change some of its details (PATCH: only the fields sent)."""

    type = serializers.ChoiceField(choices=EventType.choices)
    name = serializers.CharField(
        max_length=200, allow_blank=True, required=False, default="", help_text="Blank: made up."
    )
    representative = _id_field(help_text="A user id: whose event it is.")
    facility = _id_field()
    physician = _id_field(allow_null=True, required=False, default=None)
    procedure = _id_field(
        allow_null=True, required=False, default=None, help_text="Required for a Case."
    )
    scheduled_at = serializers.DateTimeField()
    patient_ref = serializers.CharField(
        max_length=40,
        allow_blank=True,
        required=False,
        default="",
        help_text="An anonymous reference such as a case number; never a patient's name.",
    )
    notes = TextField(max_length=5000, allow_blank=True, required=False, default="")


class UnitIdsSerializer(InputSerializer):
    unit_ids = serializers.ListField(
        child=_id_field(), max_length=settings.MAX_SELECTION, help_text="Unit ids."
    )


class MarkUsedSerializer(UnitIdsSerializer):
    identified_by = serializers.DictField(
        child=serializers.ChoiceField(choices=Identified.choices),
        required=False,
        default=dict,
        help_text="How each unit was identified, by unit id; a unit not named was chosen from "
        "a list.",
    )
    expected_sequences = ExpectedSequencesField()

    def validate(self, attrs):
        units = set(attrs["unit_ids"])
        by_unit = {}
        for key, how in attrs["identified_by"].items():
            # isdigit() alone takes "²", which int() refuses.
            if not (key.isascii() and key.isdigit() and int(key) in units):
                raise serializers.ValidationError(
                    {"identified_by": [f"“{key}” is not one of the unit_ids sent."]}
                )
            by_unit[int(key)] = how
        attrs["identified_by"] = by_unit
        check_expected_among(attrs)
        return attrs


class MarkUsedResultSerializer(serializers.Serializer):
    lines = EventLineSerializer(many=True, help_text="The lines just made.")
    warnings = serializers.ListField(
        child=serializers.CharField(), help_text="Units that expire soon after the event's date."
    )


class UnmarkResultSerializer(serializers.Serializer):
    unmarked = serializers.IntegerField()


class PoSerializer(InputSerializer):
    po_number = serializers.CharField(max_length=60, allow_blank=True)
