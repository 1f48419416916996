from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _unicode_lower_on_sqlite(sender, connection, **kwargs):
    # SQLite's built-in LOWER() folds ASCII only; PostgreSQL folds every letter. Usernames and
    # @mentions compare lower-cased, so the demo database must fold like production does.
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "LOWER",
            1,
            lambda value: value.lower() if isinstance(value, str) else value,
            deterministic=True,
        )


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"

    def ready(self):
        connection_created.connect(_unicode_lower_on_sqlite)
        # `__any_of`, the one-array membership test the scope filters use (core/lookups.py).
        import core.lookups  # noqa: F401

        # Connects the retry of failed jobs to every process that runs them (core/tasks.py).
        import core.tasks  # noqa: F401

        from . import checks  # noqa: F401  (registers them)
