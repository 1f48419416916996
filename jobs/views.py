"""Pages of background jobs: the list, one job's progress, and its result's download."""

from __future__ import annotations

from django.http import JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from core.web import org_member_required
from jobs import kinds
from jobs.models import Job
from jobs.selectors import job_result_chunks


def _visible_job(request, pk, **conditions):
    return get_object_or_404(
        Job.objects.visible_to(request.user).select_related("owner"), pk=pk, **conditions
    )


@org_member_required
def job_list(request):
    jobs = Job.objects.visible_to(request.user).select_related("owner")[:100]
    return render(request, "jobs/job_list.html", {"jobs": jobs})


@org_member_required
def job_detail(request, pk):
    """The progress page: works as a page to refresh; static JS polls job_progress."""
    return render(request, "jobs/job_detail.html", {"job": _visible_job(request, pk)})


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
    """A finished job's file (an export's CSV), streamed chunk by chunk from the database."""
    job = _visible_job(request, pk, kind__in=kinds.with_result(), status=Job.Status.DONE)
    kind = job.kind_info
    response = StreamingHttpResponse(job_result_chunks(job=job), content_type=kind.result_type)
    stamp = timezone.localtime(job.created_at).strftime("%Y%m%d-%H%M")
    name = f"{kind.result_name}-{stamp}-job{job.pk}{kind.result_suffix}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
