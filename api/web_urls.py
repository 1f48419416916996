"""/integrations/: the pages where people manage API tokens, and admins webhooks and exports."""

from django.urls import path  # noqa: F401 - the subjects' pages are added below

app_name = "integrations"

urlpatterns: list = []
