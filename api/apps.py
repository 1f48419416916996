from django.apps import AppConfig


class ApiConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "api"
    verbose_name = "API and webhooks"

    def ready(self):
        # drf-spectacular finds its extensions (the bearer token's security scheme) by import.
        import api.schema  # noqa: F401
        from jobs import pruning

        from .services.throttle import throttle_buckets_prune

        # Ended throttle windows go with the daily prune (`manage.py prune_job_results`).
        pruning.register("API throttle counter(s)", lambda: throttle_buckets_prune())
