"""Transfers: the list (the transfers page's sections as filters), one transfer, starting one,
and accepting, declining or cancelling it, each through inventory.services.transfers."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from api.idempotency import idempotent
from api.pagination import keyset_rows
from api.serializers.base import InputSerializer
from api.serializers.responses import (
    IDEMPOTENCY_KEY,
    PAGE_PARAMS,
    READ_ERRORS,
    WRITE_ERRORS,
    paged,
)
from api.serializers.transfers import (
    TransferCreatedSerializer,
    TransferCreateSerializer,
    TransferDeclineSerializer,
    TransferDetailSerializer,
    TransferSerializer,
)
from api.views.base import ApiView, refuse_invalid_form, scoped_object
from inventory import policies
from inventory.forms import ORG, DeclineForm, TransferForm
from inventory.models import Transfer, Unit
from inventory.selectors.transfers import (
    TRANSFER_KEYSET,
    count_units,
    transfers_sent_pending,
    transfers_waiting_on,
    waiting_on_me_q,
    with_row_details,
)
from inventory.selectors.units import unit_rows
from inventory.services import transfers as transfer_services
from inventory.views.common import holder_from_field

# The transfers page's sections, by name.
BOXES = {
    "waiting_on_me": "pending, sent to me (for an admin: to organization custody)",
    "waiting_on_others": "pending, sent to someone I answer for (my reps; for an admin: anyone)",
    "sent": "pending, started by me or sent from stock I act for, and not mine to answer",
    "recent": "no longer pending",
}


class TransferFilterSerializer(InputSerializer):
    box = serializers.ChoiceField(choices=list(BOXES), required=False)
    status = serializers.ChoiceField(choices=Transfer.Status.choices, required=False)


def _in_box(qs: QuerySet[Transfer], *, box: str | None, user, actor) -> QuerySet[Transfer]:
    """Narrow the visible transfers to one section of the transfers page, read by the same
    selectors as the page."""
    waiting = transfers_waiting_on(user=user, actor=actor)
    if box in ("waiting_on_me", "waiting_on_others"):
        mine = waiting_on_me_q(actor=actor)
        waiting = waiting.filter(mine) if box == "waiting_on_me" else waiting.exclude(mine)
        return qs.filter(pk__in=waiting.values("pk"))
    if box == "sent":
        # As on the page, one the caller may answer is listed as waiting, not as sent.
        sent = transfers_sent_pending(actor=actor).exclude(pk__in=waiting.values("pk"))
        return qs.filter(pk__in=sent.values("pk"))
    if box == "recent":
        return qs.exclude(status=Transfer.Status.PENDING)
    return qs


def transfer_answer(transfer: Transfer, actor, status_code: int = status.HTTP_200_OK) -> Response:
    """One transfer as its page shows it: its units (custody as the caller reads it) and the
    steps the caller may take now."""
    transfer = Transfer.objects.select_related(
        "sender", "recipient", "started_by", "on_behalf_of", "resolved_by", "to_location"
    ).get(pk=transfer.pk)
    transfer.units_shown = list(unit_rows(transfer.units.all()).order_by("pk"))
    count_units([transfer])
    answers = policies.can_answer_transfer(actor=actor, transfer=transfer)
    transfer.can = {
        "accept": answers,
        "decline": answers,
        "cancel": policies.can_cancel_transfer(actor=actor, transfer=transfer),
    }
    data = TransferDetailSerializer(transfer, context={"actor": actor}).data
    return Response(data, status=status_code)


class TransferList(ApiView):
    @extend_schema(
        operation_id="transfers_list",
        parameters=[
            OpenApiParameter(
                "box",
                str,
                enum=list(BOXES),
                description="One section of the transfers page: "
                + "; ".join(f"`{k}`: {v}" for k, v in BOXES.items())
                + ". Without it, every transfer the caller may see.",
            ),
            OpenApiParameter("status", str, enum=Transfer.Status.values),
            *PAGE_PARAMS,
        ],
        responses={200: paged(TransferSerializer), **READ_ERRORS},
    )
    def get(self, request):
        """Transfers the caller may see, newest first."""
        params = TransferFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        qs = _in_box(
            Transfer.objects.visible_to(request.user),
            box=params.validated_data.get("box"),
            user=request.user,
            actor=self.actor,
        )
        if "status" in params.validated_data:
            qs = qs.filter(status=params.validated_data["status"])
        rows, next_url = keyset_rows(request, qs, TRANSFER_KEYSET)
        with_row_details(rows)
        return Response({"results": TransferSerializer(rows, many=True).data, "next": next_url})

    @extend_schema(
        request=TransferCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: TransferCreatedSerializer, **WRITE_ERRORS},
    )
    @idempotent
    def post(self, request):
        """Send units to someone, or to organization custody, as the "Transfer" page does.

        Units of several holders make one transfer each. A starter who answers for the
        recipient (a distributor sending to her rep, an admin) completes it at once; one moving
        a rep's stock (a distributor, an admin) is recorded as acting on the rep's behalf.
        Refused as on the page, naming each unit that cannot move."""
        body = TransferCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        ids = data["unit_ids"]
        # As the page: the one holder of every unit sent is never a recipient.
        senders = set(
            Unit.objects.visible_to(request.user)
            .filter(pk__in=ids)
            .values_list("custodian_id", flat=True)
        )
        form = TransferForm(
            {
                "recipient": ORG if data["recipient"] is None else str(data["recipient"]),
                "to_location": "" if data["to_location"] is None else str(data["to_location"]),
                "note": data["note"],
            },
            user=request.user,
            organization_id=request.user.organization_id,
            exclude_id=next(iter(senders)) if len(senders) == 1 else None,
        )
        refuse_invalid_form(form)
        transfers = transfer_services.transfer_create(
            actor=request.user,
            unit_ids=ids,
            recipient=holder_from_field(form.cleaned_data["recipient"]),
            note=form.cleaned_data["note"],
            to_location=form.cleaned_data["to_location"],
            seen=data.get("expected_sequences"),
        )
        rows = with_row_details(list(Transfer.objects.filter(pk__in=[t.pk for t in transfers])))
        return Response(
            TransferCreatedSerializer({"transfers": rows}).data, status=status.HTTP_201_CREATED
        )


def _visible_transfer(request, pk) -> Transfer:
    return scoped_object(Transfer.objects.visible_to(request.user), pk=pk)


class TransferDetail(ApiView):
    @extend_schema(responses={200: TransferDetailSerializer, **READ_ERRORS})
    def get(self, request, pk):
        return transfer_answer(_visible_transfer(request, pk), self.actor)


ANSWERED = {200: TransferDetailSerializer, **WRITE_ERRORS}


class TransferAccept(ApiView):
    @extend_schema(request=None, parameters=[IDEMPOTENCY_KEY], responses=ANSWERED)
    @idempotent
    def post(self, request, pk):
        """Take custody: the recipient, the recipient's distributor, or an admin."""
        transfer = transfer_services.transfer_accept(
            actor=request.user, transfer=_visible_transfer(request, pk)
        )
        return transfer_answer(transfer, self.actor)


class TransferDecline(ApiView):
    @extend_schema(
        request=TransferDeclineSerializer, parameters=[IDEMPOTENCY_KEY], responses=ANSWERED
    )
    @idempotent
    def post(self, request, pk):
        """Refuse the units, saying why: they go back to the sender on hold."""
        transfer = _visible_transfer(request, pk)
        body = TransferDeclineSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        form = DeclineForm(body.validated_data)
        refuse_invalid_form(form)
        transfer = transfer_services.transfer_decline(
            actor=request.user, transfer=transfer, reason=form.cleaned_data["reason"]
        )
        return transfer_answer(transfer, self.actor)


class TransferCancel(ApiView):
    @extend_schema(request=None, parameters=[IDEMPOTENCY_KEY], responses=ANSWERED)
    @idempotent
    def post(self, request, pk):
        """Take a pending transfer back: whoever started it, or an admin."""
        transfer = transfer_services.transfer_cancel(
            actor=request.user, transfer=_visible_transfer(request, pk)
        )
        return transfer_answer(transfer, self.actor)
