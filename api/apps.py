from django.apps import AppConfig


class ApiConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "api"
    verbose_name = "API and webhooks"

    def ready(self):
        # The apps that act sit below this one: they emit through core.outbox, and this sink
        # writes each event with its deliveries in the action's own transaction.
        from api.webhooks.outbox import record_event
        from core.outbox import register_sink

        register_sink(record_event)
