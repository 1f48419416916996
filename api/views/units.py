"""Units: the list with the same filters as /inventory/, one unit, and its ledger."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts.policies import holder_ids_in_scope
from api.pagination import DEFAULT_LIMIT, MAX_LIMIT, paged_response
from api.serializers.units import LedgerEntrySerializer, UnitSerializer
from api.views.base import ApiView, refuse_invalid_filter, scoped_object
from inventory.expiry import EXPIRY_CHOICES
from inventory.models import Unit, UnitState
from inventory.selectors.units import (
    UNIT_KEYSET,
    filtered_units,
    holder_partitions,
    unit_rows,
)

PAGE_PARAMS = [
    OpenApiParameter("after", str, description="The `next` cursor of the page before."),
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
        description=f"Rows per page, 1 to {MAX_LIMIT} ({DEFAULT_LIMIT}).",
    ),
]
# The filters of /inventory/ (inventory.filters.UnitFilter), each as the page takes it.
UNIT_FILTERS = [
    OpenApiParameter(
        "custody",
        str,
        enum=["mine", "shared", "reps", "both"],
        description="As on /inventory/, by role: a rep mine, shared (while pooling is on) or "
        "both; a distributor mine, reps or both; an admin narrows by `custodian` instead.",
    ),
    OpenApiParameter("rep", int, description="A distributor's: one of her reps (user id)."),
    OpenApiParameter(
        "custodian",
        str,
        description="An admin's: whose custody, as a username, a user id, or `org` for "
        "organization custody.",
    ),
    OpenApiParameter("state", str, enum=[value for value, _ in UnitState.choices]),
    OpenApiParameter("product_line", str),
    OpenApiParameter("location", int, description="A location id."),
    OpenApiParameter("facility", int, description="Sold to this facility (an id)."),
    OpenApiParameter("expiry", str, enum=[value for value, _ in EXPIRY_CHOICES]),
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
