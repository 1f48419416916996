"""Units and their custody ledger, as the API shows them."""

from __future__ import annotations

from rest_framework import serializers

from inventory.models import CustodyEntry, Unit
from inventory.selectors.units import custody_label


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
