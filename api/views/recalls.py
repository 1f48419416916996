"""Recalls: the list (and recording one), one recall with its progress, its units, returning
units to the manufacturer, and the recall lookup by lot, serial, GTIN or UDI text.

As on the recall pages, recalls are for admins (the organization's) and distributors (those
touching their scope); a rep is refused. Recording and returning are the services' to allow
(admins), in their words.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from api.idempotency import idempotent
from api.pagination import keyset_rows, paged_response
from api.serializers.base import InputSerializer
from api.serializers.recalls import (
    LookupQuerySerializer,
    LookupSerializer,
    LookupUnitSerializer,
    RecallCreateSerializer,
    RecallDetailSerializer,
    RecallReturnRequestSerializer,
    RecallSerializer,
    RecallShipmentSerializer,
    RecallUnitSerializer,
)
from api.serializers.responses import (
    IDEMPOTENCY_KEY,
    PAGE_PARAMS,
    READ_ERRORS,
    WRITE_ERRORS,
    paged,
)
from api.views.base import ApiView, scoped_object
from inventory import policies
from inventory.models import Product, Recall, Unit
from inventory.selectors.recalls import (
    cases_by_unit,
    lookup_counts,
    lookup_query,
    lookup_units,
    recall_progress,
    recall_unit_rows,
)
from inventory.services import recalls as recall_services

# Newest first by id (indexed); the page's recall-date order has no index and needs none here.
RECALL_KEYSET = (("pk", "desc"),)
# The recall page's and the lookup page's order.
UNIT_KEYSET = (("pk", "asc"),)


def _visible_recalls(view):
    """The recalls the caller may see, after the pages' check that they may look at recalls
    at all (admins and distributors)."""
    if not policies.can_look_up_recalls(actor=view.actor):
        raise PermissionDenied("Recalls are for admins and distributors.")
    return Recall.objects.visible_to(view.request.user).select_related("product", "created_by")


def _detail(request, recall: Recall) -> dict:
    progress = recall_progress(recall=recall, user=request.user)
    return RecallDetailSerializer(recall, context={"progress": progress}).data


class RecallFilter(InputSerializer):
    status = serializers.ChoiceField(choices=Recall.Status.choices, required=False)


class RecallList(ApiView):
    @extend_schema(
        operation_id="recalls_list",
        parameters=[RecallFilter, *PAGE_PARAMS],
        responses={200: paged(RecallSerializer), **READ_ERRORS},
    )
    def get(self, request):
        """Recalls the caller may see, newest first: an admin's organization's; a
        distributor's, those that touch a unit of hers or her reps'."""
        recalls = _visible_recalls(self)
        filters = RecallFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        if "status" in filters.validated_data:
            recalls = recalls.filter(status=filters.validated_data["status"])
        return paged_response(request, recalls, RECALL_KEYSET, RecallSerializer)

    @extend_schema(
        request=RecallCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: RecallDetailSerializer, **WRITE_ERRORS},
    )
    @idempotent
    def post(self, request):
        """Record a manufacturer's recall (admins): every affected unit that is available, on
        hold or facility stock is quarantined, and the people it touches are told."""
        body = RecallCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        # A product outside the caller's catalog is no product: the service says so.
        product = Product.objects.filter(
            organization_id=self.actor.organization_id, pk=data["product"]
        ).first()
        recall = recall_services.recall_record(
            actor=request.user,
            reference=data["reference"],
            reason=data["reason"],
            recall_class=data["recall_class"],
            product=product,
            lot_numbers=data.get("lot_numbers", []),
            serial_numbers=data.get("serial_numbers", []),
            recall_date=data["recall_date"],
        )
        recall = Recall.objects.select_related("product", "created_by").get(pk=recall.pk)
        return Response(_detail(request, recall), status=status.HTTP_201_CREATED)


class RecallDetail(ApiView):
    @extend_schema(
        operation_id="recalls_retrieve", responses={200: RecallDetailSerializer, **READ_ERRORS}
    )
    def get(self, request, pk):
        """One recall and what the recall page tracks: counts over the units the caller may
        see, the cases that used them (the first 200 by date), the surgeons to tell, and the
        returns."""
        recall = scoped_object(_visible_recalls(self), pk=pk)
        return Response(_detail(request, recall))


class RecallUnits(ApiView):
    @extend_schema(
        operation_id="recalls_units_list",
        parameters=PAGE_PARAMS,
        responses={200: paged(RecallUnitSerializer), **READ_ERRORS},
    )
    def get(self, request, pk):
        """The units the recall found that the caller may see, by id."""
        recall = scoped_object(_visible_recalls(self), pk=pk)
        rows = recall_unit_rows(recall=recall, user=request.user)
        return paged_response(
            request, rows, UNIT_KEYSET, RecallUnitSerializer, context={"actor": self.actor}
        )


class RecallReturnView(ApiView):
    @extend_schema(
        request=RecallReturnRequestSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: RecallShipmentSerializer, **WRITE_ERRORS},
    )
    @idempotent
    def post(self, request, pk):
        """Return quarantined units of the recall to the manufacturer (admins): each becomes
        inactive. Without `unit_ids`, every unit the recall holds quarantined."""
        recall = scoped_object(_visible_recalls(self), pk=pk)
        body = RecallReturnRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        shipment = recall_services.recall_return(
            actor=request.user,
            recall=recall,
            reference=data["reference"],
            returned_on=data["returned_on"],
            unit_ids=data.get("unit_ids"),
            seen=data.get("expected_sequences"),
        )
        return Response(RecallShipmentSerializer(shipment).data, status=status.HTTP_201_CREATED)


def _as_query_fields(exc: ValidationError) -> ValidationError:
    """The lookup selector names the page's form fields; the API's `q` is the page's `code`."""
    if not hasattr(exc, "error_dict"):
        return exc
    return ValidationError(
        {("q" if name == "code" else name): errors for name, errors in exc.error_dict.items()}
    )


class RecallLookup(ApiView):
    @extend_schema(
        operation_id="recalls_lookup",
        parameters=[LookupQuerySerializer, *PAGE_PARAMS],
        responses={200: LookupSerializer, **READ_ERRORS},
    )
    def get(self, request):
        """Where is every unit of a lot, a serial, or a scanned unit's lot, and which cases
        used each: `q` is a lot, a serial or a GS1 or HIBC UDI; or `product` (a catalog number
        or GTIN) with its `lots`. Units the caller may see, by id; counts over every match."""
        if not policies.can_look_up_recalls(actor=self.actor):
            raise PermissionDenied("Recalls are for admins and distributors.")
        params = LookupQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        try:
            lookup = lookup_query(
                organization_id=self.actor.organization_id,
                code=data.get("q", ""),
                product=data.get("product", ""),
                lots=data.get("lots", ""),
            )
        except ValidationError as exc:
            raise _as_query_fields(exc) from None
        units = lookup_units(user=request.user, lookup=lookup)
        rows, next_url = keyset_rows(request, units, UNIT_KEYSET)
        cases = cases_by_unit(
            user=request.user, units=Unit.objects.filter(pk__in=[u.pk for u in rows])
        )
        counts = lookup_counts(units=units)
        answer = {
            "description": lookup.description,
            "scanned_serial": lookup.scanned_serial,
            "counts": {
                "total": counts["total"],
                "by_state": [{"name": n, "count": c} for n, c in counts["by_state"]],
                "by_holder": [{"name": n, "count": c} for n, c in counts["by_holder"]],
            },
            "results": LookupUnitSerializer(
                rows, many=True, context={"actor": self.actor, "cases": cases}
            ).data,
            "next": next_url,
        }
        return Response(answer)
