from django.apps import AppConfig


class InventoryConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "inventory"

    def ready(self):
        # accounts may not import inventory; it asks through this hook instead.
        from accounts.hooks import register_stock_check

        from .selectors import holds_stock

        register_stock_check(holds_stock)
