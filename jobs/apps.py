from django.apps import AppConfig


class JobsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "jobs"

    def ready(self):
        from accounts.mail import sent_emails_prune
        from accounts.ratelimit import rate_counters_prune
        from jobs import pruning

        # accounts sits below jobs and cannot register its own rows for the daily prune.
        pruning.register("rate-limit counter(s)", rate_counters_prune)
        pruning.register("sent-email log row(s)", sent_emails_prune)
