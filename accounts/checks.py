"""System checks for settings whose wrong value would break a promise silently."""

from django.core import checks


@checks.register()
def sent_email_kept_long_enough(app_configs, **kwargs):
    from .mail import sent_email_keep_problem

    problem = sent_email_keep_problem()
    return [checks.Error(problem, id="accounts.E001")] if problem else []
