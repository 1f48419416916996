"""Pages of transfers: start one, the lists, one transfer, and accept, decline or cancel it."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.models import User
from accounts.selectors import actor_for
from core.keyset import keyset_page
from core.web import (
    NOT_SEEN,
    SEEN_FIELD,
    decode_seen,
    flash_errors,
    org_member_required,
    scanner_csp,
    seen_for,
    selected_ids,
)
from inventory import policies
from inventory.forms import (
    DeclineForm,
    ScanForm,
    TransferForm,
)
from inventory.models import LabelMismatch, Transfer, Unit, UnitState
from inventory.selectors.changes import changes_since
from inventory.selectors.scans import units_from_scan
from inventory.selectors.transfers import (
    TRANSFER_KEYSET,
    transfers_sent_pending,
    transfers_waiting_on,
    waits_on_me,
    with_row_details,
)
from inventory.selectors.units import custody_label, unit_rows
from inventory.services import transfers as transfer_services
from inventory.services.scans import record_label_mismatches
from inventory.views.common import holder_from_field, with_labels


def _transfer_prefill(params, *, organization_id: int) -> dict:
    """?recipient=<user id>&to_location=<id> (the dashboard's proposed replenishment) fills the
    form in; the person still checks and sends it, and the service decides."""
    initial = {}
    if params.get("recipient", "").isdigit():
        initial["recipient"] = User.objects.filter(
            organization_id=organization_id, pk=params["recipient"]
        ).first()
    if params.get("to_location", "").isdigit():
        initial["to_location"] = params["to_location"]
    return initial


@org_member_required
@scanner_csp
def transfer_new(request):
    """Pick a recipient for the selected (or scanned) units, then send them in one go."""
    actor = actor_for(request.user)
    source = request.POST if request.method == "POST" else request.GET
    ids = selected_ids(source.getlist("unit"))
    scoped = Unit.objects.visible_to(request.user)
    scan_form = ScanForm(request.POST if "add_scanned" in request.POST else None)
    # Sending units to the one who already holds them is no transfer: leave that holder out
    # (everyone else of the organization stays on offer).
    senders = set(scoped.filter(pk__in=ids).values_list("custodian_id", flat=True))
    form = TransferForm(
        request.POST if "send" in request.POST else None,
        user=request.user,
        organization_id=actor.organization_id,
        exclude_id=next(iter(senders)) if len(senders) == 1 else None,
        initial=_transfer_prefill(request.GET, organization_id=actor.organization_id),
    )
    if scan_form.is_bound and scan_form.is_valid():
        scanned = units_from_scan(
            qs=scoped.filter(state=UnitState.AVAILABLE),
            text=scan_form.cleaned_data["scan"],
            prefer_holder_id=request.user.pk,
        )
        record_label_mismatches(
            actor=request.user, mismatches=scanned.mismatches, where=LabelMismatch.Where.TRANSFER
        )
        for problem in scanned.problems:
            messages.error(request, problem)
        for note in scanned.notes:
            messages.info(request, note)
        ids += [u.pk for u in scanned.found if u.pk not in ids]
    elif form.is_bound and form.is_valid() and (seen := seen_for(request.POST, ids)) is None:
        messages.error(request, NOT_SEEN)
    elif form.is_bound and form.is_valid():
        recipient = holder_from_field(form.cleaned_data["recipient"])
        try:
            transfers = transfer_services.transfer_create(
                actor=request.user,
                unit_ids=ids,
                recipient=recipient,
                note=form.cleaned_data["note"],
                to_location=form.cleaned_data["to_location"],
                seen=seen,
            )
        except ValidationError as exc:
            flash_errors(request, exc)
        else:
            count = len(set(ids))
            done = all(t.status == Transfer.Status.COMPLETED for t in transfers)
            target = recipient.name if recipient else "organization custody"
            if done:
                messages.success(request, f"Transferred {count} unit(s) to {target}.")
            else:
                messages.success(
                    request, f"Sent {count} unit(s) to {target}; waiting for them to accept."
                )
            if len(transfers) == 1:
                return redirect("inventory:transfer_detail", pk=transfers[0].pk)
            return redirect("inventory:transfer_list")
    units = list(unit_rows(scoped.filter(pk__in=ids)).order_by("pk"))
    if form.is_bound and form.errors:
        # The form's choices follow the units as they are now (their holder is no recipient),
        # so a page drawn before a change can fail here, before the service's locked check:
        # say what changed too, or "Sam already holds them" would be all the page says.
        seen = decode_seen(request.POST.get(SEEN_FIELD, ""))
        for change in changes_since(units=units, seen=seen, viewer=request.user):
            messages.error(request, change)
    return render(
        request,
        "inventory/transfer_form.html",
        {
            "form": form,
            "scan_form": ScanForm() if scan_form.is_bound else scan_form,
            "units": with_labels(units, actor),
            "missing": len(set(ids)) - len(units),
        },
    )


# The pending lists are short in practice (people answer them); past this many the page says
# it shows only the newest.
PENDING_SHOWN = 50


def _capped(qs) -> tuple[list, bool]:
    """The newest PENDING_SHOWN rows, and whether more were left out."""
    rows = list(qs[: PENDING_SHOWN + 1])
    return rows[:PENDING_SHOWN], len(rows) > PENDING_SHOWN


@org_member_required
def transfer_list(request):
    actor = actor_for(request.user)
    waiting, waiting_capped = _capped(transfers_waiting_on(user=request.user, actor=actor))
    sent, sent_capped = _capped(transfers_sent_pending(actor=actor))
    recent = keyset_page(
        request,
        Transfer.objects.visible_to(request.user).exclude(status=Transfer.Status.PENDING),
        TRANSFER_KEYSET,
    )
    with_row_details([*waiting, *sent, *recent.rows])
    return render(
        request,
        "inventory/transfer_list.html",
        {
            "waiting_mine": [t for t in waiting if waits_on_me(transfer=t, actor=actor)],
            "waiting_reps": [t for t in waiting if not waits_on_me(transfer=t, actor=actor)],
            "waiting_capped": waiting_capped,
            "sent": [t for t in sent if t not in waiting],
            "sent_capped": sent_capped,
            "shown": PENDING_SHOWN,
            "recent": recent.rows,
            "page": recent,
        },
    )


@org_member_required
def transfer_detail(request, pk):
    actor = actor_for(request.user)
    transfer = get_object_or_404(
        Transfer.objects.visible_to(request.user).select_related(
            "sender", "recipient", "started_by", "on_behalf_of", "resolved_by"
        ),
        pk=pk,
    )
    units = list(unit_rows(transfer.units.all()).order_by("pk"))
    for unit in units:
        unit.custody = custody_label(unit=unit, actor=actor)
    return render(
        request,
        "inventory/transfer_detail.html",
        {
            "transfer": transfer,
            "units": units,
            "can_answer": policies.can_answer_transfer(actor=actor, transfer=transfer),
            "can_cancel": policies.can_cancel_transfer(actor=actor, transfer=transfer),
            "decline_form": DeclineForm(),
        },
    )


def _transfer_action(request, pk, action):
    transfer = get_object_or_404(Transfer.objects.visible_to(request.user), pk=pk)
    try:
        action(transfer)
    except ValidationError as exc:
        flash_errors(request, exc)
    return redirect("inventory:transfer_detail", pk=transfer.pk)


@org_member_required
@require_POST
def transfer_accept(request, pk):
    def accept(transfer):
        transfer_services.transfer_accept(actor=request.user, transfer=transfer)
        messages.success(request, f"Accepted transfer #{transfer.pk}.")

    return _transfer_action(request, pk, accept)


@org_member_required
@require_POST
def transfer_decline(request, pk):
    def decline(transfer):
        form = DeclineForm(request.POST)
        if not form.is_valid():
            raise ValidationError(form.errors["reason"])
        transfer_services.transfer_decline(
            actor=request.user, transfer=transfer, reason=form.cleaned_data["reason"]
        )
        messages.success(request, f"Declined transfer #{transfer.pk}; the units are on hold.")

    return _transfer_action(request, pk, decline)


@org_member_required
@require_POST
def transfer_cancel(request, pk):
    def cancel(transfer):
        transfer_services.transfer_cancel(actor=request.user, transfer=transfer)
        messages.success(request, f"Cancelled transfer #{transfer.pk}.")

    return _transfer_action(request, pk, cancel)
