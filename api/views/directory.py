"""The directory: facilities, physicians and procedures of the caller's organization, which
every member sees on the directory page."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema

from api.pagination import paged_response
from api.serializers.directory import (
    FacilitySerializer,
    PhysicianSerializer,
    ProcedureSerializer,
)
from api.serializers.responses import PAGE_PARAMS, READ_ERRORS, paged
from api.views.base import ApiView
from events.models import Physician, Procedure
from inventory.models import Facility

# By name, as the page lists them: each model's unique (organization, name) index serves it.
BY_NAME = (("name", "asc"), ("pk", "asc"))


class _DirectoryList(ApiView):
    model: type
    serializer_class: type

    def get(self, request):
        entries = self.model.objects.filter(organization_id=self.actor.organization_id)
        return paged_response(request, entries, BY_NAME, self.serializer_class)


class FacilityList(_DirectoryList):
    model, serializer_class = Facility, FacilitySerializer

    @extend_schema(
        parameters=PAGE_PARAMS, responses={200: paged(FacilitySerializer), **READ_ERRORS}
    )
    def get(self, request):
        return super().get(request)


class PhysicianList(_DirectoryList):
    model, serializer_class = Physician, PhysicianSerializer

    @extend_schema(
        parameters=PAGE_PARAMS, responses={200: paged(PhysicianSerializer), **READ_ERRORS}
    )
    def get(self, request):
        return super().get(request)


class ProcedureList(_DirectoryList):
    model, serializer_class = Procedure, ProcedureSerializer

    @extend_schema(
        parameters=PAGE_PARAMS, responses={200: paged(ProcedureSerializer), **READ_ERRORS}
    )
    def get(self, request):
        return super().get(request)
