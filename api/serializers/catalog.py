"""Products and locations, as the catalog and locations pages show them."""

from __future__ import annotations

from rest_framework import serializers

from api.serializers.units import HolderField
from inventory.models import Location, Product


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = [
            "id",
            "catalog_number",
            "description",
            "manufacturer",
            "product_line",
            "gtin",
            "hibc_lic",
            "hibc_product",
            "single_use",
            "tracking",
        ]


class LocationSerializer(serializers.ModelSerializer):
    holder = HolderField(allow_null=True, help_text="Whose shelf; null: organization custody.")

    class Meta:
        model = Location
        fields = ["id", "name", "kind", "holder"]
