"""Releasing units on hold (back from declined transfers): an admin's review, through
inventory.services.holds as the hold queue page does."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from api.idempotency import idempotent
from api.serializers.holds import HoldReleasedSerializer, HoldReleaseSerializer
from api.serializers.responses import IDEMPOTENCY_KEY, WRITE_ERRORS
from api.views.base import ApiView
from inventory.models import Unit
from inventory.selectors.units import unit_rows, units_on_hold
from inventory.services.holds import units_release_hold


class HoldRelease(ApiView):
    @extend_schema(
        request=HoldReleaseSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: HoldReleasedSerializer, **WRITE_ERRORS},
    )
    @idempotent
    def post(self, request):
        """Make units on hold available again with their holder (admins). All or nothing: a
        unit not on hold, or not found, refuses the whole release and names it."""
        body = HoldReleaseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if data["all"]:
            ids = list(
                units_on_hold(actor=self.actor)
                .order_by("pk")
                .values_list("pk", flat=True)[: settings.MAX_SELECTION]
            )
            # As the hold queue's page: units the caller read are released too, or told as
            # changed since, never skipped.
            ids = sorted({*ids, *(data.get("expected_sequences") or {})})[: settings.MAX_SELECTION]
        else:
            ids = data["unit_ids"]
        released = units_release_hold(
            actor=request.user,
            unit_ids=ids,
            note=data["note"],
            seen=data.get("expected_sequences"),
        )
        units = unit_rows(Unit.objects.filter(pk__in=[u.pk for u in released])).order_by("pk")
        return Response(
            HoldReleasedSerializer({"units": units}, context={"actor": self.actor}).data
        )
