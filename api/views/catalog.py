"""Products and locations: the catalog page's products and the locations a caller may see."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from api.pagination import paged_response
from api.serializers.base import InputSerializer
from api.serializers.catalog import LocationSerializer, ProductSerializer
from api.serializers.responses import PAGE_PARAMS, READ_ERRORS, paged
from api.views.base import ApiView, scoped_object
from inventory import policies
from inventory.models import Location, Product
from inventory.selectors.units import people_only_named

# The primary key: indexed, and new products land at the end for a program mirroring them.
PRODUCT_KEYSET = (("pk", "asc"),)
LOCATION_KEYSET = (("pk", "asc"),)


def _products(actor):
    """The organization's catalog, as the products page lists it to every member."""
    return Product.objects.filter(organization_id=actor.organization_id)


class ProductList(ApiView):
    @extend_schema(
        operation_id="products_list",
        parameters=PAGE_PARAMS,
        responses={200: paged(ProductSerializer), **READ_ERRORS},
    )
    def get(self, request):
        """The organization's products, by id."""
        return paged_response(request, _products(self.actor), PRODUCT_KEYSET, ProductSerializer)


class ProductDetail(ApiView):
    @extend_schema(
        operation_id="products_retrieve", responses={200: ProductSerializer, **READ_ERRORS}
    )
    def get(self, request, pk):
        return Response(ProductSerializer(scoped_object(_products(self.actor), pk=pk)).data)


class LocationFilter(InputSerializer):
    kind = serializers.ChoiceField(choices=Location.Kind.choices, required=False)


class LocationList(ApiView):
    @extend_schema(
        operation_id="locations_list",
        parameters=[LocationFilter, *PAGE_PARAMS],
        responses={200: paged(LocationSerializer), **READ_ERRORS},
    )
    def get(self, request):
        """Admins and distributors: every location of the organization, as the locations page
        lists them. Anyone else: the locations a transfer form offers them (their own, their
        pool's when pooling is on, and the organization's)."""
        actor = self.actor
        filters = LocationFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        if policies.can_receive(actor=actor):
            locations = Location.objects.filter(organization_id=actor.organization_id)
        else:
            locations = Location.objects.offered_to(actor)
        if "kind" in filters.validated_data:
            locations = locations.filter(kind=filters.validated_data["kind"])
        locations = locations.select_related("holder").defer(*people_only_named("holder"))
        return paged_response(request, locations, LOCATION_KEYSET, LocationSerializer)
