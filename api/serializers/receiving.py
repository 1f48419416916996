"""Receiving: the shapes of a receipt by lines and of one by a scanned UDI (JSON types only;
the receiving service checks tracking, serials, custody and locations), and the units
received."""

from __future__ import annotations

from django.conf import settings
from rest_framework import serializers

from api.serializers.base import CodeField, InputSerializer
from api.serializers.units import UnitSerializer

BIGGEST_ID = 2**63 - 1


def _id(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=BIGGEST_ID, **kwargs)


CUSTODIAN_HELP = "Whose custody the units go into (a person's id); null: organization custody."
LOCATION_HELP = "Where they sit: a location the custodian holds; null or left out: none."


class ReceiveLineSerializer(InputSerializer):
    product = _id(help_text="A product of your catalog.")
    lot_number = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    serial_numbers = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        default=list,
        max_length=settings.IMPORT_MAX_UNITS,
        help_text="Serial-tracked products: one per unit.",
    )
    quantity = serializers.IntegerField(
        min_value=1,
        max_value=settings.RECEIVE_MAX_QUANTITY,
        required=False,
        default=1,
        help_text="Lot-tracked products: how many units.",
    )
    expiration_date = serializers.DateField(required=False, allow_null=True, default=None)
    location = _id(required=False, allow_null=True, default=None, help_text=LOCATION_HELP)


class ReceiveLinesSerializer(InputSerializer):
    custodian = _id(allow_null=True, help_text=CUSTODIAN_HELP)
    lines = ReceiveLineSerializer(many=True, allow_empty=False, max_length=1000)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ReceiveUdiSerializer(InputSerializer):
    udi = CodeField(
        max_length=255,
        trim_whitespace=False,  # a trailing space can be an HIBC label's check character
        help_text="The scanned GS1, GS1 Digital Link or HIBC label of one unit.",
    )
    custodian = _id(allow_null=True, help_text=CUSTODIAN_HELP)
    location = _id(required=False, allow_null=True, default=None, help_text=LOCATION_HELP)

    def validate_udi(self, udi: str) -> str:
        # As the receiving page's UDI form cleans it: a scanner's line ending is not the label.
        udi = udi.strip("\r\n\t")
        if not udi.strip():
            raise serializers.ValidationError("Scan or paste a barcode.")
        return udi


class ReceivedSerializer(serializers.Serializer):
    units = UnitSerializer(
        many=True,
        help_text="The units received; one whose lot or serial an active recall names is "
        "quarantined on receipt.",
    )
