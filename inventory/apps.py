from django.apps import AppConfig
from django.conf import settings
from django.core.management import call_command
from django.db.models.signals import post_migrate


class InventoryConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "inventory"

    def ready(self):
        # `migrate` as the owner (DATABASE_OWNER_URL) ends by putting the app role's rights
        # right: the ledger keeps only SELECT and INSERT whatever a migration created.
        post_migrate.connect(_grant_app_role, sender=self)
        # accounts may not import inventory; it asks through this hook instead.
        from django.template.defaultfilters import pluralize

        from accounts.hooks import register_stock_check
        from inventory import tasks
        from inventory.selectors.units import holds_stock
        from inventory.services.exports import EXPORT_JOB
        from inventory.services.imports import IMPORT_JOB
        from jobs.kinds import JobKind, register

        register_stock_check(holds_stock)
        # The jobs app runs and shows background jobs without knowing what they do.
        register(
            JobKind(
                name=IMPORT_JOB,
                label="Unit import",
                task=tasks.import_units,
                progress_label="rows checked",
                failure_intro="Nothing was imported. Fix these rows and upload the file again:",
                done_message=lambda n: f"Imported {n:,} unit{pluralize(n)}.",
            )
        )
        register(
            JobKind(
                name=EXPORT_JOB,
                label="Unit export",
                task=tasks.export_units,
                progress_label="rows written",
                failure_intro="The export failed:",
                result_name="trunkpool-units",
                result_label=lambda n: f"Download the CSV ({n:,} rows)",
            )
        )


def _grant_app_role(sender, using, interactive=False, verbosity=1, **kwargs):
    if settings.RUNS_AS_OWNER:
        call_command(
            "db_app_role",
            database=using,
            interactive=False,
            keep_password=True,
            verbosity=verbosity,
        )
