"""`manage.py db_worker`: django-tasks-db's worker, holding a lease on the task it runs.

The jobs app comes before django_tasks_db in INSTALLED_APPS, so this command replaces the
library's of the same name, with the same options: deployments, `make run` and the tests start
it as before. Each worker runs a `jobs.leases.LeaseKeeper` thread that renews the lease of its
task and puts back the tasks of workers that died (jobs/leases.py).
"""

import os

from django.core.management.base import CommandError
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands import db_worker as library

from jobs.leases import LeaseKeeper


class LeasedWorker(library.Worker):
    def run(self) -> None:
        # In the process that runs tasks: the autoreloader's child when --reload is on.
        self.keeper = LeaseKeeper(worker_id=self.worker_id)
        self.keeper.start()
        try:
            super().run()
        finally:
            self.keeper.stop()

    def run_task(self, db_task_result) -> None:
        # From here a SIGTERM lets the task finish (the library marks it only once it calls it),
        # so a graceful stop never leaves a claimed task behind with its lease.
        self.running_task = True
        self.keeper.hold(db_task_result)
        try:
            super().run_task(db_task_result)
        finally:
            self.keeper.release()


class Command(library.Command):
    # The library's handle(), with LeasedWorker for its Worker (it names the class inline).
    def handle(
        self,
        *,
        verbosity: int,
        queue_name: str,
        interval: float,
        batch: bool,
        backend_name: str,
        startup_delay: bool,
        reload: bool,
        max_tasks: int | None,
        worker_id: str,
        exclude_queues: str,
        **options,
    ) -> None:
        self.configure_logging(verbosity)
        if reload and batch:
            library.logger.warning("--reload and --batch cannot be used together: no reload.")
            reload = False
        queue_names = queue_name.split(",")
        excluded_queue_names = exclude_queues.split(",") if exclude_queues else []
        if excluded_queue_names and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = LeasedWorker(
            queue_names=queue_names,
            interval=interval,
            batch=batch,
            backend_name=backend_name,
            startup_delay=startup_delay,
            max_tasks=max_tasks,
            worker_id=worker_id,
            excluded_queue_names=excluded_queue_names,
        )
        if reload:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()  # only the child that runs tasks
            run_with_reloader(worker.run)
        else:
            worker.configure_signals()
            worker.run()
