from django.apps import AppConfig


class ApiConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "api"
    verbose_name = "API and webhooks"

    def ready(self):
        from django.template.defaultfilters import pluralize

        # drf-spectacular finds its extensions (the bearer token's security scheme) by import.
        import api.schema  # noqa: F401
        from api import tasks
        from api.services.export import ORG_EXPORT_JOB
        from api.services.retention import api_operations_prune, webhook_events_prune
        from api.webhooks.outbox import record_event
        from core.outbox import register_sink
        from jobs import pruning
        from jobs.kinds import JobKind, register

        # The apps that act sit below this one: they emit through core.outbox, and this sink
        # writes each event with its deliveries in the action's own transaction.
        register_sink(record_event)

        # The jobs app runs and shows the full export, and serves its file, like any job.
        register(
            JobKind(
                name=ORG_EXPORT_JOB,
                label="Organization export",
                task=tasks.export_organization,
                progress_label="records written",
                failure_intro="The export failed:",
                result_name="trunkpool-organization",
                result_suffix=".zip",
                result_type="application/zip",
                result_label=lambda n: f"Download the zip ({n:,} record{pluralize(n)})",
            )
        )

        # The daily prune (`manage.py prune_job_results`) also forgets these.
        pruning.register("webhook event(s) and deliveries", webhook_events_prune)
        pruning.register("API Idempotency-Key answer(s)", api_operations_prune)
