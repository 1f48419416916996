"""The directory: facilities, physicians and procedures, as the directory page shows them."""

from __future__ import annotations

from rest_framework import serializers

from events.models import Physician, Procedure
from inventory.models import Facility


class FacilitySerializer(serializers.ModelSerializer):
    class Meta:
        model = Facility
        fields = ["id", "name", "kind", "city"]


class PhysicianSerializer(serializers.ModelSerializer):
    class Meta:
        model = Physician
        fields = ["id", "name", "specialty"]


class ProcedureSerializer(serializers.ModelSerializer):
    class Meta:
        model = Procedure
        fields = ["id", "name"]
