"""Inventory pages: thin. Parse input, call one selector or service, render or redirect."""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.models import User
from accounts.policies import holder_ids_in_scope
from accounts.selectors import actor_for
from config import csvsafe
from config.keyset import keyset_page
from config.web import (
    add_form_errors,
    flash_errors,
    org_member_required,
    page_number,
    page_of,
    selected_ids,
)

from . import policies, selectors, services
from .filters import custody_tabs
from .forms import (
    ORG,
    CsvImportForm,
    DeclineForm,
    LocationForm,
    ProductForm,
    ReceiveForm,
    ScanForm,
    TransferForm,
    UdiReceiveForm,
)
from .models import Job, Location, Product, Transfer, Unit, UnitState

EXPORT_LIMIT = 100_000


def export_capped_note(limit: int | None = None) -> str:
    limit = EXPORT_LIMIT if limit is None else limit
    return (
        f"Export capped: only the first {limit:,} rows are in this file. "
        "Narrow the filters to export the rest."
    )


def _filtered_units(request):
    actor = actor_for(request.user)
    filterset, qs, valid = selectors.filtered_units(
        params=request.GET, actor=actor, queryset=Unit.objects.visible_to(request.user)
    )
    if valid and "custody" in request.GET and "custody" not in filterset.filters:
        messages.info(request, "Admins see every custodian: narrow the list by custodian instead.")
    return filterset, qs, valid


def _with_labels(rows, actor):
    for unit in rows:
        unit.custody = selectors.custody_label(unit=unit, actor=actor)
        unit.can_transfer = policies.can_transfer_unit(actor=actor, unit=unit)
    return rows


@org_member_required
def unit_list(request):
    actor = actor_for(request.user)
    filterset, qs, valid = _filtered_units(request)
    if not valid:
        for error in filterset.error_messages():
            messages.error(request, error)
    page = keyset_page(
        request,
        selectors.unit_rows(qs),
        selectors.UNIT_KEYSET,
        partitions=selectors.holder_partitions(holder_ids_in_scope(actor=actor)),
    )
    return render(
        request,
        "inventory/unit_list.html",
        {
            "filter": filterset,
            "units": _with_labels(page.rows, actor),
            "page": page,
            "custody_tabs": custody_tabs(request.GET, filterset),
            # A list longer than one page may be longer than an export holds: say so there.
            "export_limit": f"{EXPORT_LIMIT:,}" if page.has_next or not page.is_first_page else "",
            "can_release": policies.can_review_holds(actor=actor),
            "today": timezone.localdate(),
        },
    )


@org_member_required
def unit_export(request):
    """CSV of exactly the filtered rows (streamed, so a large export does not sit in memory)."""
    actor = actor_for(request.user)
    filterset, qs, valid = _filtered_units(request)
    if not valid:
        messages.error(request, "Fix the filter before exporting.")
        return redirect(reverse("inventory:unit_list") + "?" + request.GET.urlencode())
    if selectors.more_rows_than(qs, settings.EXPORT_BACKGROUND_ROWS):
        return _export_in_background(request)
    # One row past the limit says whether the export was cut short.
    rows = selectors.unit_rows(qs).order_by(*selectors.UNIT_ORDER)[: EXPORT_LIMIT + 1]
    writer = csvsafe.streaming_writer()

    def lines():
        yield writer.writerow(
            [
                "catalog_number",
                "description",
                "product_line",
                "lot_number",
                "serial_number",
                "expiration_date",
                "state",
                "custody",
                "location",
            ]
        )
        for count, unit in enumerate(rows.iterator(chunk_size=2000), start=1):
            if count > EXPORT_LIMIT:
                # Until large exports run in the background, say so rather than stop silently.
                yield writer.writerow([export_capped_note()])
                return
            yield writer.writerow(
                [
                    unit.product.catalog_number,
                    unit.product.description,
                    unit.product.product_line,
                    unit.lot_number,
                    unit.serial_number,
                    unit.expiration_date.isoformat() if unit.expiration_date else "",
                    unit.state,
                    selectors.custody_label(unit=unit, actor=actor).text,
                    unit.location.name if unit.location else "",
                ]
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="trunkpool-units-{stamp}.csv"'
    return response


def _export_in_background(request):
    """Over settings.EXPORT_BACKGROUND_ROWS rows an export is a job: GET asks, POST starts it."""
    if request.method != "POST":
        return render(
            request,
            "inventory/export_confirm.html",
            {"query": request.GET.urlencode(), "limit": settings.EXPORT_BACKGROUND_ROWS},
        )
    job = services.units_export_begin(actor=request.user, params=dict(request.GET.lists()))
    messages.info(request, "Your export runs in the background; it is listed under Jobs.")
    return redirect("inventory:job_detail", pk=job.pk)


@org_member_required
def unit_detail(request, pk):
    actor = actor_for(request.user)
    unit = get_object_or_404(selectors.unit_rows(Unit.objects.visible_to(request.user)), pk=pk)
    unit.custody = selectors.custody_label(unit=unit, actor=actor)
    return render(
        request,
        "inventory/unit_detail.html",
        {
            "unit": unit,
            "history": selectors.unit_history(unit=unit, viewer=request.user),
            "can_transfer": policies.can_transfer_unit(actor=actor, unit=unit),
            "can_move": policies.can_move_unit(actor=actor, unit=unit),
            "can_release": policies.can_release_hold(actor=actor, unit=unit),
            "today": timezone.localdate(),
        },
    )


# --- Transfers -------------------------------------------------------------------------------


def _holder(value) -> User | None:
    """A custody picker's cleaned value: a person, or None for organization custody."""
    return None if value == ORG else value


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
        found, problems = selectors.units_from_scan(
            qs=scoped.filter(state=UnitState.AVAILABLE), text=scan_form.cleaned_data["scan"]
        )
        for problem in problems:
            messages.error(request, problem)
        ids += [u.pk for u in found if u.pk not in ids]
    elif form.is_bound and form.is_valid():
        recipient = _holder(form.cleaned_data["recipient"])
        try:
            transfers = services.transfer_create(
                actor=request.user,
                unit_ids=ids,
                recipient=recipient,
                note=form.cleaned_data["note"],
                to_location=form.cleaned_data["to_location"],
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
    units = list(selectors.unit_rows(scoped.filter(pk__in=ids)).order_by("pk"))
    return render(
        request,
        "inventory/transfer_form.html",
        {
            "form": form,
            "scan_form": ScanForm() if scan_form.is_bound else scan_form,
            "units": _with_labels(units, actor),
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
    waiting, waiting_capped = _capped(
        selectors.transfer_rows(selectors.transfers_waiting_on(user=request.user, actor=actor))
    )
    sent, sent_capped = _capped(
        selectors.transfer_rows(selectors.transfers_sent_pending(actor=actor))
    )
    recent = keyset_page(
        request,
        selectors.transfer_rows(
            Transfer.objects.visible_to(request.user).exclude(status=Transfer.Status.PENDING)
        ),
        selectors.TRANSFER_KEYSET,
    )
    selectors.count_units([*waiting, *sent, *recent.rows])
    return render(
        request,
        "inventory/transfer_list.html",
        {
            "waiting_mine": [t for t in waiting if selectors.waits_on_me(transfer=t, actor=actor)],
            "waiting_reps": [
                t for t in waiting if not selectors.waits_on_me(transfer=t, actor=actor)
            ],
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
    units = list(selectors.unit_rows(transfer.units.all()).order_by("pk"))
    for unit in units:
        unit.custody = selectors.custody_label(unit=unit, actor=actor)
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
        services.transfer_accept(actor=request.user, transfer=transfer)
        messages.success(request, f"Accepted transfer #{transfer.pk}.")

    return _transfer_action(request, pk, accept)


@org_member_required
@require_POST
def transfer_decline(request, pk):
    def decline(transfer):
        form = DeclineForm(request.POST)
        if not form.is_valid():
            raise ValidationError(form.errors["reason"])
        services.transfer_decline(
            actor=request.user, transfer=transfer, reason=form.cleaned_data["reason"]
        )
        messages.success(request, f"Declined transfer #{transfer.pk}; the units are on hold.")

    return _transfer_action(request, pk, decline)


@org_member_required
@require_POST
def transfer_cancel(request, pk):
    def cancel(transfer):
        services.transfer_cancel(actor=request.user, transfer=transfer)
        messages.success(request, f"Cancelled transfer #{transfer.pk}.")

    return _transfer_action(request, pk, cancel)


@org_member_required
@require_POST
def hold_release(request):
    actor = actor_for(request.user)
    if not policies.can_review_holds(actor=actor):
        raise PermissionDenied("Only an admin releases units on hold.")
    if request.POST.get("all"):
        # Everything on hold, as many as one request may act on (the rest stay listed).
        ids = list(
            selectors.units_on_hold(actor=actor)
            .order_by("pk")
            .values_list("pk", flat=True)[: settings.MAX_SELECTION]
        )
    else:
        ids = selected_ids(request.POST.getlist("unit"))
    try:
        units = services.units_release_hold(actor=request.user, unit_ids=ids)
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, f"Released {len(units)} unit(s) from hold.")
    back = request.POST.get("next", "")
    if back.startswith("/inventory/") and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}
    ):
        return redirect(back)
    return redirect(reverse("inventory:unit_list") + "?state=hold")


# --- Receiving, catalog, locations -------------------------------------------------------------


def receiver_required(view):
    @org_member_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not policies.can_receive(actor=actor_for(request.user)):
            raise PermissionDenied("Only admins and distributors receive stock.")
        return view(request, *args, **kwargs)

    return wrapper


class _ReceiveForms:
    """The receiving page's three forms (form, UDI scan, CSV), bound only where posted."""

    def __init__(self, request, bound: str | None = None):
        actor = actor_for(request.user)
        common = {"user": request.user, "custodians": selectors.receive_custodians(actor=actor)}
        data = request.POST if request.method == "POST" else None
        self.form = ReceiveForm(
            data if bound == "form" else None, organization_id=actor.organization_id, **common
        )
        # Prefixes keep the three forms' element ids apart (a label must point at its field).
        self.udi_form = UdiReceiveForm(
            data if bound == "udi" else None,
            prefix="udi",
            organization_id=actor.organization_id,
            **common,
        )
        self.csv_form = CsvImportForm(
            data if bound == "csv" else None,
            request.FILES if bound == "csv" else None,
            prefix="csv",
            **common,
        )

    def render(self, request, *, active_tab=None, csv_problems=(), status=200):
        context = {
            "form": self.form,
            "udi_form": self.udi_form,
            "csv_form": self.csv_form,
            "csv_problems": csv_problems,
            "active_tab": active_tab,
        }
        return render(request, "inventory/receive_form.html", context, status=status)


@receiver_required
def receive(request):
    forms = _ReceiveForms(request, bound="form")
    form = forms.form
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        line = services.ReceiveLine(
            product=data["product"],
            lot_number=data["lot_number"].strip(),
            serial_numbers=form.serials(),
            quantity=data["quantity"],
            expiration_date=data["expiration_date"],
            location=data["location"],
        )
        try:
            units = services.units_receive(
                actor=request.user,
                lines=[line],
                custodian=_holder(data["custodian"]),
            )
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, f"Received {len(units)} unit(s) of {data['product']}.")
            _warn_quarantined(request, units)
            return redirect("inventory:receive")
    return forms.render(request)


def _warn_quarantined(request, units) -> None:
    """Say so when receiving quarantined units because an active recall names their lot."""
    n = sum(1 for u in units if u.state == UnitState.QUARANTINED)
    if n:
        messages.warning(
            request,
            f"{n} received unit(s) belong to a lot or serial under an active recall: they are "
            "quarantined (see Recalls).",
        )


@receiver_required
@require_POST
def receive_udi(request):
    forms = _ReceiveForms(request, bound="udi")
    if forms.udi_form.is_valid():
        data = forms.udi_form.cleaned_data
        try:
            unit = services.unit_receive_udi(
                actor=request.user,
                raw=data["udi"],
                custodian=_holder(data["custodian"]),
                location=data["location"],
            )
        except ValidationError as exc:
            add_form_errors(forms.udi_form, exc)
        else:
            messages.success(request, f"Received {unit.product.catalog_number} {unit.label}.")
            _warn_quarantined(request, [unit])
            return redirect("inventory:receive")
    return forms.render(request, active_tab="scan")


@receiver_required
@require_POST
def receive_csv(request):
    forms = _ReceiveForms(request, bound="csv")
    problems = []
    if forms.csv_form.is_valid():
        data = forms.csv_form.cleaned_data
        try:
            outcome = services.units_import_begin(
                actor=request.user,
                data=data["file"].read(settings.IMPORT_BACKGROUND_MAX_BYTES + 1),
                default_custodian=_holder(data["custodian"]),
                filename=data["file"].name or "",
            )
        except ValidationError as exc:
            problems = exc.messages
        else:
            if isinstance(outcome, Job):
                messages.info(request, "That file is large: it is imported in the background.")
                return redirect("inventory:job_detail", pk=outcome.pk)
            messages.success(request, f"Imported {len(outcome)} unit(s).")
            _warn_quarantined(request, outcome)
            return redirect("inventory:receive")
    return forms.render(request, active_tab="csv", csv_problems=problems, status=400)


@org_member_required
def product_list(request):
    actor = actor_for(request.user)
    products = Product.objects.filter(organization_id=actor.organization_id).order_by(
        "catalog_number"
    )
    form = None
    if policies.can_manage_catalog(actor=actor):
        form = ProductForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                data = form.cleaned_data
                product = services.product_create(
                    actor=request.user,
                    catalog_number=data["catalog_number"],
                    description=data["description"],
                    manufacturer=data["manufacturer"],
                    product_line=data["product_line"],
                    gtin=data["gtin"],
                    single_use=data["single_use"],
                    tracking=data["tracking"],
                )
            except ValidationError as exc:
                add_form_errors(form, exc)
            else:
                messages.success(request, f"Added {product} to the catalog.")
                return redirect("inventory:product_list")
    elif request.method == "POST":
        raise PermissionDenied("Only admins manage the catalog.")
    page = page_number(request)
    rows, has_next = page_of(products, page)
    return render(
        request,
        "inventory/product_list.html",
        {
            "products": rows,
            "form": form,
            "page": page,
            "has_next": has_next,
            "has_previous": page > 1,
        },
    )


@receiver_required
def location_list(request):
    actor = actor_for(request.user)
    form = LocationForm(
        request.POST or None,
        user=request.user,
        custodians=selectors.receive_custodians(actor=actor),
    )
    if request.method == "POST" and form.is_valid():
        try:
            location = services.location_create(
                actor=request.user,
                name=form.cleaned_data["name"],
                kind=form.cleaned_data["kind"],
                holder=form.cleaned_data["holder"],
            )
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, f"Added location {location}.")
            return redirect("inventory:location_list")
    locations = Location.objects.filter(organization_id=actor.organization_id).select_related(
        "holder"
    )[:500]
    return render(request, "inventory/location_list.html", {"form": form, "locations": locations})


# --- The hold queue (admins) -------------------------------------------------------------------


@org_member_required
def hold_list(request):
    """Units back from declined transfers, with why, by whom and when; release some or all."""
    actor = actor_for(request.user)
    if not policies.can_review_holds(actor=actor):
        raise PermissionDenied("Only admins review units on hold.")
    page = keyset_page(request, selectors.units_on_hold(actor=actor), [("pk", "asc")])
    return render(
        request,
        "inventory/hold_list.html",
        {"units": selectors.with_declines(page.rows), "page": page},
    )


# --- Background jobs: each user's own, every job of the organization for admins ---------------


def _visible_job(request, pk, **conditions):
    return get_object_or_404(
        Job.objects.visible_to(request.user).select_related("owner"), pk=pk, **conditions
    )


@org_member_required
def job_list(request):
    jobs = Job.objects.visible_to(request.user).select_related("owner")[:100]
    return render(request, "inventory/job_list.html", {"jobs": jobs})


@org_member_required
def job_detail(request, pk):
    """The progress page: works as a page to refresh; static JS polls job_progress."""
    return render(request, "inventory/job_detail.html", {"job": _visible_job(request, pk)})


@org_member_required
def job_progress(request, pk):
    job = _visible_job(request, pk)
    return JsonResponse(
        {
            "status": job.status,
            "status_label": job.get_status_display(),
            "stage": job.stage,
            "processed": job.processed,
            "total": job.total,
            "percent": job.percent,
            "finished": job.is_finished,
        }
    )


@org_member_required
def job_download(request, pk):
    """A finished export's CSV, streamed chunk by chunk from the database."""
    job = _visible_job(request, pk, kind=Job.Kind.EXPORT, status=Job.Status.DONE)
    response = StreamingHttpResponse(
        selectors.job_result_chunks(job=job), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.localtime(job.created_at).strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = (
        f'attachment; filename="trunkpool-units-{stamp}-job{job.pk}.csv"'
    )
    return response
