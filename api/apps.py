from django.apps import AppConfig


class ApiConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "api"
    verbose_name = "API and webhooks"

    def ready(self):
        # drf-spectacular finds its extensions (the bearer token's security scheme) by import.
        import api.schema  # noqa: F401
        from api.webhooks.outbox import record_event
        from core.outbox import register_sink

        # The apps that act sit below this one: they emit through core.outbox, and this sink
        # writes each event with its deliveries in the action's own transaction.
        register_sink(record_event)
