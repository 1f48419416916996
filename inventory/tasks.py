"""Jobs of inventory, run by `manage.py db_worker`: background imports and exports."""

from config.tasks import attempts_allowed, task

from . import services


def _run(context, run, job_id: int) -> None:
    try:
        run(job_id=job_id)
    except Exception:
        # The last try: the job is marked failed (and its owner told) before the error is
        # recorded on the queue row; earlier tries are retried by config.tasks.
        if context.attempt >= attempts_allowed(context.task_result.task.module_path):
            services.job_give_up(job_id=job_id)
        raise


@task(max_attempts=3, takes_context=True)
def import_units(context, *, organization_id: int, job_id: int) -> None:
    """Run the background import `job_id` (inventory.services.job_run_import)."""
    _run(context, services.job_run_import, job_id)


@task(max_attempts=3, takes_context=True)
def export_units(context, *, organization_id: int, job_id: int) -> None:
    """Run the background export `job_id` (inventory.services.job_run_export)."""
    _run(context, services.job_run_export, job_id)
