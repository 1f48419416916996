from django.apps import AppConfig


class EventsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "events"

    def ready(self):
        # inventory may not import events; a unit's history names its events through this hook.
        from inventory.hooks import register_event_resolver

        from .selectors import ledger_event_refs

        register_event_resolver(ledger_event_refs)
