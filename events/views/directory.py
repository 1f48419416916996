"""The directory pages: facilities, physicians and procedures."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render

from accounts.selectors import actor_for
from core.web import (
    add_form_errors,
    org_member_required,
)
from events import policies
from events.forms import DIRECTORY_FORMS
from events.models import Physician, Procedure
from events.services.directory import DIRECTORY_MODELS, directory_save
from inventory.models import Facility


def _directory_details(form) -> dict:
    """A directory form's fields by name: name, and the kind, city or specialty it has."""
    data = form.cleaned_data
    return {
        "name": data["name"],
        "kind": data.get("kind"),
        "city": data.get("city"),
        "specialty": data.get("specialty"),
    }


@org_member_required
def directory(request):
    actor = actor_for(request.user)
    can_edit = policies.can_manage_directory(actor=actor)
    kind = request.POST.get("kind") if request.method == "POST" else None
    forms = {k: f(prefix=k) for k, f in DIRECTORY_FORMS.items()}
    if kind in DIRECTORY_FORMS:
        if not can_edit:
            raise PermissionDenied("Only admins and distributors edit the directory.")
        form = DIRECTORY_FORMS[kind](request.POST, prefix=kind)
        forms[kind] = form
        if form.is_valid():
            try:
                obj = directory_save(actor=request.user, entry=kind, **_directory_details(form))
            except ValidationError as exc:
                add_form_errors(form, exc)
            else:
                messages.success(request, f"Added {obj}.")
                return redirect("events:directory")
    elif request.method == "POST":
        messages.error(request, "Choose what to add: a facility, a physician or a procedure.")
    org = actor.organization_id
    return render(
        request,
        "events/directory.html",
        {
            "facilities": Facility.objects.filter(organization_id=org)[:500],
            "physicians": Physician.objects.filter(organization_id=org)[:500],
            "procedures": Procedure.objects.filter(organization_id=org)[:500],
            "forms": forms if can_edit else None,
        },
    )


@org_member_required
def directory_edit(request, kind, pk):
    actor = actor_for(request.user)
    if kind not in DIRECTORY_MODELS:
        raise Http404("Unknown directory entry.")
    obj = get_object_or_404(DIRECTORY_MODELS[kind], pk=pk, organization_id=actor.organization_id)
    if not policies.can_manage_directory(actor=actor):
        raise PermissionDenied("Only admins and distributors edit the directory.")
    form = DIRECTORY_FORMS[kind](request.POST or None, instance=obj)
    if request.method == "POST" and form.is_valid():
        try:
            directory_save(actor=request.user, entry=kind, instance=obj, **_directory_details(form))
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, f"Saved {obj}.")
            return redirect("events:directory")
    return render(request, "events/directory_form.html", {"form": form, "obj": obj, "kind": kind})
