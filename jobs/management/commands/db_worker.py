"""`manage.py db_worker`: django-tasks-db's worker, holding a lease on the task it runs.

The jobs app comes before django_tasks_db in INSTALLED_APPS, so this command replaces the
library's of the same name, with the same options: deployments, `make run` and the tests start
it as before. Each worker runs a `jobs.leases.LeaseKeeper` thread that renews the lease of its
task and puts back the tasks of workers that died (jobs/leases.py).
"""

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
    def handle(self, *args, **options) -> None:
        # The library's handle() builds its worker from the module's `Worker` name; this
        # process runs nothing but the worker, so that name points at LeasedWorker for it.
        library.Worker = LeasedWorker
        super().handle(*args, **options)
