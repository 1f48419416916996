from django.apps import AppConfig


class EventsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "events"

    def ready(self):
        # inventory may not import events; a unit's history names its events through this hook.
        from inventory.hooks import register_case_finder, register_event_resolver

        from .selectors import ledger_event_refs, recall_case_uses

        register_event_resolver(ledger_event_refs)
        # A recall lists the cases that used a recalled unit through this one.
        register_case_finder(recall_case_uses)
