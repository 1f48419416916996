"""Units: the list with the same filters as /inventory/, one unit, and its ledger."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts.policies import holder_ids_in_scope
from api.pagination import paged_response
from api.serializers.units import LedgerEntrySerializer, UnitSerializer
from api.views.base import ApiView, refuse_invalid_filter, scoped_object
from inventory.models import Unit
from inventory.selectors.units import (
    UNIT_KEYSET,
    filtered_units,
    holder_partitions,
    unit_rows,
)

PAGE_PARAMS = [
    OpenApiParameter("after", str, description="The `next` cursor of the page before."),
    OpenApiParameter("limit", int, description="Rows per page, 1 to 200 (50)."),
]
UNIT_FILTERS = [
    OpenApiParameter("custody", str, description="mine, distributor or all (as /inventory/)."),
    OpenApiParameter("state", str),
    OpenApiParameter("product", int),
    OpenApiParameter("location", int),
    OpenApiParameter("expiry", str),
    OpenApiParameter("q", str, description="Serial, lot, product or UDI text."),
]


class UnitList(ApiView):
    @extend_schema(parameters=[*UNIT_FILTERS, *PAGE_PARAMS], responses=UnitSerializer(many=True))
    def get(self, request):
        """Units the caller may see; with no filter, what "All" shows them on /inventory/."""
        actor = self.actor
        filterset, qs, valid = filtered_units(
            params=request.query_params, actor=actor, queryset=Unit.objects.visible_to(request.user)
        )
        if not valid:
            refuse_invalid_filter(filterset)
        if "custody" in request.query_params and "custody" not in filterset.filters:
            # The page ignores it with a message; a program would silently get every unit.
            raise serializers.ValidationError(
                {"custody": ["Admins see every custodian: filter by custodian instead."]}
            )
        return paged_response(
            request,
            unit_rows(qs),
            UNIT_KEYSET,
            UnitSerializer,
            partitions=holder_partitions(holder_ids_in_scope(actor=actor)),
            context={"actor": actor},
        )


class UnitDetail(ApiView):
    @extend_schema(responses=UnitSerializer)
    def get(self, request, pk):
        unit = scoped_object(unit_rows(Unit.objects.visible_to(request.user)), pk=pk)
        return Response(UnitSerializer(unit, context={"actor": self.actor}).data)


class UnitLedger(ApiView):
    @extend_schema(responses=LedgerEntrySerializer(many=True))
    def get(self, request, pk):
        """The unit's whole custody ledger, oldest first."""
        unit = scoped_object(Unit.objects.visible_to(request.user), pk=pk)
        entries = unit.ledger.order_by("sequence")
        return Response(LedgerEntrySerializer(entries, many=True).data)
