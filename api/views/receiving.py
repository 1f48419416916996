"""Receiving units, by lines (the receiving page's form, many lines at once) or by one scanned
UDI, through inventory.services.receiving.

Ids name things inside the caller's organization: a product, location or person of another
organization (or none) is refused with the same words as one that does not exist.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from accounts.models import User
from api.errors import error_body
from api.idempotency import idempotent
from api.serializers.receiving import (
    ReceivedSerializer,
    ReceiveLinesSerializer,
    ReceiveUdiSerializer,
)
from api.serializers.responses import IDEMPOTENCY_KEY, WRITE_ERRORS
from api.serializers.units import UnitSerializer
from api.views.base import ApiView
from inventory import policies
from inventory.models import Location, Product, Unit
from inventory.selectors.units import unit_rows
from inventory.services.receiving import (
    ReceiveLine,
    UnknownProduct,
    unit_receive_udi,
    units_receive,
)

NO_PERSON = "Nobody of your organization has this id."
NO_LOCATION = "No location of your organization has this id."


def _custodian(request, custodian_id: int | None) -> User | None:
    if custodian_id is None:
        return None
    person = User.objects.visible_to(request.user).filter(pk=custodian_id).first()
    if person is None:
        raise serializers.ValidationError({"custodian": [NO_PERSON]})
    return person


def _require_receiver(actor) -> None:
    """As the receiving page's guard: only those who may receive get as far as naming ids."""
    if not policies.can_receive(actor=actor):
        raise PermissionDenied("Only admins and distributors receive stock.")


def _by_id(queryset, ids) -> dict:
    wanted = {i for i in ids if i is not None}
    return queryset.in_bulk(wanted) if wanted else {}


def _custody_words(exc: ValidationError) -> ValidationError:
    """The transfer rule the receiving service borrows names its person `recipient`; here that
    person is the `custodian`."""
    if not hasattr(exc, "error_dict") or "recipient" not in exc.error_dict:
        return exc
    return ValidationError(
        {("custodian" if k == "recipient" else k): v for k, v in exc.error_dict.items()}
    )


def _received(actor, units) -> Response:
    rows = unit_rows(Unit.objects.filter(pk__in=[u.pk for u in units])).order_by("pk")
    return Response(
        ReceivedSerializer({"units": rows}, context={"actor": actor}).data,
        status=status.HTTP_201_CREATED,
    )


class ReceiveLines(ApiView):
    @extend_schema(
        request=ReceiveLinesSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: ReceivedSerializer, **WRITE_ERRORS},
    )
    @idempotent
    def post(self, request):
        """Receive units (admins into anyone's custody or the organization's; distributors
        into their own): serials one unit each, or a lot quantity. All or nothing: every
        problem is named, by line."""
        _require_receiver(self.actor)
        body = ReceiveLinesSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        org = self.actor.organization_id
        custodian = _custodian(request, data["custodian"])
        products = _by_id(
            Product.objects.filter(organization_id=org), (x["product"] for x in data["lines"])
        )
        locations = _by_id(
            Location.objects.filter(organization_id=org), (x["location"] for x in data["lines"])
        )
        lines, problems = [], []
        for n, line in enumerate(data["lines"], start=1):
            product = products.get(line["product"])
            location = locations.get(line["location"])
            if product is None:
                problems.append(f"Line {n}: no product of your catalog has id {line['product']}.")
            if line["location"] is not None and location is None:
                problems.append(
                    f"Line {n}: no location of your organization has id {line['location']}."
                )
            lines.append(
                ReceiveLine(
                    product=product,
                    lot_number=line["lot_number"].strip(),
                    serial_numbers=line["serial_numbers"],
                    quantity=line["quantity"],
                    expiration_date=line["expiration_date"],
                    location=location,
                    line=n,
                )
            )
        if problems:
            raise serializers.ValidationError({"lines": problems})
        try:
            units = units_receive(
                actor=request.user, lines=lines, custodian=custodian, note=data["note"]
            )
        except ValidationError as exc:
            raise _custody_words(exc) from None
        return _received(self.actor, units)


class ReceiveUdi(ApiView):
    @extend_schema(
        request=ReceiveUdiSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: UnitSerializer, **WRITE_ERRORS},
    )
    @idempotent
    def post(self, request):
        """Receive one unit from a scanned label: the GTIN (GS1) or the labeler code and product
        number (HIBC) find the product; lot, serial and expiry come from the label, which the
        unit keeps. A label no product of the catalog carries is a 400 with code
        `unknown_product`: an admin gives the product its identity on the receiving page."""
        _require_receiver(self.actor)
        body = ReceiveUdiSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        custodian = _custodian(request, data["custodian"])
        location = None
        if data["location"] is not None:
            location = Location.objects.filter(
                organization_id=self.actor.organization_id, pk=data["location"]
            ).first()
            if location is None:
                raise serializers.ValidationError({"location": [NO_LOCATION]})
        try:
            unit = unit_receive_udi(
                actor=request.user, raw=data["udi"], custodian=custodian, location=location
            )
        except UnknownProduct as exc:
            message = " ".join(exc.messages)
            return Response(
                error_body("unknown_product", message, {"udi": exc.messages}),
                status=status.HTTP_400_BAD_REQUEST,
            )
        except ValidationError as exc:
            raise _custody_words(exc) from None
        row = unit_rows(Unit.objects.filter(pk=unit.pk)).get()
        return Response(
            UnitSerializer(row, context={"actor": self.actor}).data, status=status.HTTP_201_CREATED
        )
