"""The admins' page to export everything the organization holds (api.services.export)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render

from accounts.policies import can_export_organization
from accounts.selectors import actor_for
from api.forms import OrgExportForm
from api.services.export import ORG_EXPORT_JOB, TABLES, org_export_begin
from core.web import org_member_required
from jobs.models import Job


@org_member_required
def org_export(request):
    """Choose CSV or JSON and start the export; it then runs as a job (shown under Jobs, with
    its download once done). Admins only."""
    if not can_export_organization(actor=actor_for(request.user)):
        raise PermissionDenied("Only admins export the organization's data.")
    form = OrgExportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        job = org_export_begin(actor=request.user, fmt=form.cleaned_data["format"])
        messages.info(request, "Your export runs in the background; it is listed under Jobs.")
        return redirect("jobs:job_detail", pk=job.pk)
    recent = Job.objects.visible_to(request.user).filter(kind=ORG_EXPORT_JOB)[:5]
    return render(
        request,
        "api/export_form.html",
        {"form": form, "recent": recent, "tables": [t.name for t in TABLES]},
    )
