"""Recalls as the recall pages show them, their units, the recall lookup, and the shapes of the
requests that record a recall and return its units (JSON types only: the services decide)."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.serializers.base import CodeField, InputSerializer, TextField
from api.serializers.units import ExpectedSequencesField, UnitSerializer, check_expected_among
from api.serializers.users import NamedUserSerializer
from inventory.models import Recall, RecallReturn, RecallUnit
from inventory.selectors.recalls import MAX_CODES

BIGGEST_ID = 2**63 - 1


class ProductRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    catalog_number = serializers.CharField()
    description = serializers.CharField()


class RecallSerializer(serializers.ModelSerializer):
    """A recall as the recall list shows it; needs `product` and `created_by` loaded."""

    product = ProductRefSerializer()
    created_by = NamedUserSerializer()

    class Meta:
        model = Recall
        fields = [
            "id",
            "reference",
            "recall_class",
            "reason",
            "product",
            "lot_numbers",
            "serial_numbers",
            "recall_date",
            "status",
            "created_by",
            "created_at",
            "withdrawn_at",
            "withdraw_reason",
        ]


class CaseUseSerializer(serializers.Serializer):
    """One event line that used a unit (inventory.hooks.CaseUse), among the events the caller
    may see."""

    unit_id = serializers.IntegerField()
    event_id = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.CharField(help_text="The event's status, in words.")
    is_open = serializers.BooleanField()
    facility = serializers.CharField()
    surgeon = serializers.CharField(allow_blank=True)
    date = serializers.DateTimeField()
    patient_ref = serializers.CharField(allow_blank=True)
    representative_id = serializers.IntegerField()
    representative = serializers.CharField()


class RecallReturnSerializer(serializers.ModelSerializer):
    unit_count = serializers.IntegerField(help_text="Units of this shipment the caller may see.")

    class Meta:
        model = RecallReturn
        fields = ["id", "reference", "returned_on", "created_at", "unit_count"]


class RecallProgressSerializer(serializers.Serializer):
    """What the recall page tracks, over the units the caller may see (selectors.recall_progress)."""

    found = serializers.IntegerField()
    quarantined = serializers.IntegerField()
    returned = serializers.IntegerField()
    in_transit = serializers.IntegerField()
    returnable = serializers.IntegerField(help_text="Quarantined and not yet returned.")
    cases = CaseUseSerializer(many=True, help_text="By event date, at most 200.")
    more_cases = serializers.BooleanField(help_text="More cases used a unit than `cases` lists.")
    open_cases = CaseUseSerializer(many=True, help_text="Units on open events: act on them.")
    surgeons = serializers.ListField(child=serializers.CharField())
    returns = RecallReturnSerializer(many=True)


class RecallDetailSerializer(RecallSerializer):
    progress = serializers.SerializerMethodField()

    class Meta(RecallSerializer.Meta):
        fields = [*RecallSerializer.Meta.fields, "progress"]

    @extend_schema_field(RecallProgressSerializer)
    def get_progress(self, recall) -> dict:
        return RecallProgressSerializer(self.context["progress"]).data


class RecallUnitSerializer(serializers.ModelSerializer):
    """A unit the recall found; needs inventory.selectors.recalls.recall_unit_rows' joins."""

    unit = UnitSerializer()
    # The unit states' enum is the unit's `state`; a second name for it would split the schema.
    found_state = serializers.CharField(help_text="The unit's state when the recall found it.")
    found = serializers.CharField(source="found_display", help_text="Where the recall found it.")
    returned_in = serializers.IntegerField(source="returned_in_id", allow_null=True)

    class Meta:
        model = RecallUnit
        fields = ["unit", "found_state", "on_receipt", "found", "returned_in"]


def _codes(help_text: str) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        max_length=MAX_CODES,
        help_text=help_text,
    )


class RecallCreateSerializer(InputSerializer):
    reference = serializers.CharField(max_length=80, help_text="The manufacturer's reference.")
    recall_class = serializers.ChoiceField(choices=Recall.RecallClass.choices)
    product = serializers.IntegerField(
        min_value=1, max_value=BIGGEST_ID, help_text="The id of a product of your catalog."
    )
    lot_numbers = _codes("The affected lots.")
    serial_numbers = _codes("The affected serial numbers.")
    recall_date = serializers.DateField()
    reason = TextField(max_length=1000)


class RecallReturnRequestSerializer(InputSerializer):
    reference = serializers.CharField(max_length=80, help_text="The return's RMA or shipment.")
    returned_on = serializers.DateField()
    unit_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=BIGGEST_ID),
        required=False,
        max_length=settings.MAX_SELECTION,
        help_text="Which quarantined units go back; left out: every one the recall holds.",
    )
    expected_sequences = ExpectedSequencesField(
        help_text="Optional: the `ledger_seq` you last read, by unit id. If any of these units "
        "changed since, nothing is done and the answer is a 409 (code `stale`) whose message "
        "says what changed. Without `unit_ids`, the units named are returned too (or told as "
        "changed); others are judged as they are now."
    )

    def validate(self, attrs):
        if "unit_ids" in attrs:
            check_expected_among(attrs)
        return attrs


class RecallShipmentSerializer(serializers.ModelSerializer):
    unit_ids = serializers.SerializerMethodField()

    class Meta:
        model = RecallReturn
        fields = ["id", "recall", "reference", "returned_on", "created_at", "unit_ids"]

    def get_unit_ids(self, shipment) -> list[int]:
        return sorted(shipment.units.values_list("unit_id", flat=True))


class LookupQuerySerializer(InputSerializer):
    """The recall lookup page's form, as query parameters (inventory.recall_forms.LookupForm)."""

    q = CodeField(
        max_length=255,
        required=False,
        trim_whitespace=False,  # a trailing space can be an HIBC label's check character
        allow_blank=True,
        help_text="A lot, a serial number, or a scanned GS1 or HIBC UDI.",
    )
    product = serializers.CharField(
        max_length=64, required=False, allow_blank=True, help_text="A catalog number or GTIN."
    )
    lots = serializers.CharField(
        max_length=5000, required=False, allow_blank=True, help_text="The product's lots."
    )


class LookupUnitSerializer(UnitSerializer):
    """A matching unit and every case that used it among the events the caller may see."""

    cases = serializers.SerializerMethodField()

    class Meta(UnitSerializer.Meta):
        fields = [*UnitSerializer.Meta.fields, "cases"]

    @extend_schema_field(CaseUseSerializer(many=True))
    def get_cases(self, unit) -> list:
        return CaseUseSerializer(self.context["cases"].get(unit.pk, []), many=True).data


class CountSerializer(serializers.Serializer):
    name = serializers.CharField()
    count = serializers.IntegerField()


class LookupCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    by_state = CountSerializer(many=True)
    by_holder = CountSerializer(many=True)


class LookupSerializer(serializers.Serializer):
    description = serializers.CharField(help_text="What was looked up, in words.")
    scanned_serial = serializers.CharField(
        allow_blank=True, help_text="The unit a scanned label named, among its lot."
    )
    counts = LookupCountsSerializer(help_text="Over every match, not only this page.")
    results = LookupUnitSerializer(many=True)
    next = serializers.CharField(allow_null=True)
