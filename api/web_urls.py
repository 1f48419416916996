"""/integrations/: the pages where people manage API tokens, and admins webhooks and exports."""

from django.urls import path

from api.views import export_pages

app_name = "integrations"

urlpatterns: list = [
    # The organization's full export (api/views/export_pages.py).
    path("export/", export_pages.org_export, name="export"),
]
