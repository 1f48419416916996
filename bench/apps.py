from django.apps import AppConfig


class BenchConfig(AppConfig):
    """Benchmark builders and timers (manage.py bench_*). Nothing imports this app."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "bench"
