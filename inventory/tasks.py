"""Tasks of inventory, run by `manage.py db_worker`: background imports and exports.

Each is the task of a job kind (registered in inventory.apps); jobs.services.job_run marks the
job failed after its last try.
"""

from core.tasks import task
from inventory.services import exports, imports
from jobs.services import job_run


@task(max_attempts=3, takes_context=True)
def import_units(context, *, organization_id: int, job_id: int) -> None:
    """Run the background import `job_id` (inventory.services.imports.job_run_import)."""
    job_run(context=context, run=imports.job_run_import, job_id=job_id)


@task(max_attempts=3, takes_context=True)
def export_units(context, *, organization_id: int, job_id: int) -> None:
    """Run the background export `job_id` (inventory.services.exports.job_run_export)."""
    job_run(context=context, run=exports.job_run_export, job_id=job_id)
