"""Units and their custody ledger, as the API shows them."""

from __future__ import annotations

from django.conf import settings
from rest_framework import serializers

from inventory.models import CustodyEntry, Unit
from inventory.selectors.units import custody_label


class ExpectedSequencesField(serializers.DictField):
    """`expected_sequences`: {"<unit id>": ledger_seq} as the caller last read each unit (the
    unit's `ledger_seq`). Sent, the write is refused with a 409 `stale`, doing nothing, when a
    unit named changed since (README, "Stale pages"); left out, the units are judged as they
    are now. Keys come back as ints."""

    def __init__(self, **kwargs):
        kwargs.setdefault("child", serializers.IntegerField(min_value=0, max_value=2**31 - 1))
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text",
            "Optional: the `ledger_seq` you last read, by unit id. If any of these units "
            "changed since, nothing is done and the answer is a 409 (code `stale`) whose "
            "message says what changed.",
        )
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        if len(values) > settings.MAX_SELECTION:
            raise serializers.ValidationError(f"At most {settings.MAX_SELECTION} units.")
        expected = {}
        for key, seq in values.items():
            # isdigit() alone takes "²", which int() refuses.
            if not (key.isascii() and key.isdigit() and 0 < int(key) < 2**63):
                raise serializers.ValidationError(f"“{key}” is not a unit id.")
            expected[int(key)] = seq
        return expected


def check_expected_among(attrs: dict, ids_field: str = "unit_ids") -> None:
    """An expected sequence for a unit the call does not act on is a mistake, said so."""
    ids = set(attrs.get(ids_field) or ())
    for pk in attrs.get("expected_sequences") or {}:
        if pk not in ids:
            raise serializers.ValidationError(
                {"expected_sequences": [f"“{pk}” is not one of the {ids_field} sent."]}
            )


class HolderField(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    role = serializers.CharField()


class UnitSerializer(serializers.ModelSerializer):
    product = serializers.SerializerMethodField()
    custodian = serializers.SerializerMethodField()
    custody = serializers.SerializerMethodField()
    location = serializers.SerializerMethodField()
    facility = serializers.SerializerMethodField()

    class Meta:
        model = Unit
        fields = [
            "id",
            "product",
            "serial_number",
            "lot_number",
            "expiration_date",
            "udi",
            "state",
            "custodian",
            "custody",
            "location",
            "facility",
            "ledger_seq",
            "created_at",
        ]

    def get_product(self, unit) -> dict:
        p = unit.product
        return {"id": p.pk, "name": str(p)}

    def get_custodian(self, unit) -> dict | None:
        holder = unit.custodian
        if holder is None:
            return None
        return {"id": holder.pk, "name": holder.name, "role": holder.role}

    def get_custody(self, unit) -> dict:
        """The same words and kind the pages colour: own, distributor (red), rep, org."""
        label = custody_label(unit=unit, actor=self.context["actor"])
        return {"label": label.text, "kind": label.kind}

    def get_location(self, unit) -> dict | None:
        return {"id": unit.location_id, "name": str(unit.location)} if unit.location_id else None

    def get_facility(self, unit) -> dict | None:
        return {"id": unit.facility_id, "name": str(unit.facility)} if unit.facility_id else None


class LedgerEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = CustodyEntry
        fields = [
            "id",
            "unit",
            "sequence",
            "kind",
            "from_custodian",
            "to_custodian",
            "from_state",
            "to_state",
            "actor",
            "on_behalf_of",
            "transfer",
            "event_id",
            "recall",
            "from_location",
            "to_location",
            "identified_by",
            "at",
            "reported_at",
            "note",
        ]
