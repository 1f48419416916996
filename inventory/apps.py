from django.apps import AppConfig


class InventoryConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "inventory"

    def ready(self):
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
