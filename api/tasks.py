"""Tasks of the api app, run by `manage.py db_worker`: the full organization export.

Each is the task of a job kind (registered in api.apps); jobs.services.job_run marks the job
failed after its last try.
"""

from api.services import export
from core.tasks import task
from jobs.services import job_run


@task(max_attempts=3, takes_context=True)
def export_organization(context, *, organization_id: int, job_id: int) -> None:
    """Run the full export `job_id` (api.services.export.job_run_org_export)."""
    job_run(context=context, run=export.job_run_org_export, job_id=job_id)
