"""/integrations/: the pages where people manage API tokens, and admins webhooks and exports."""

from django.urls import path

from api.views import export_pages, token_pages, webhook_pages

app_name = "integrations"

urlpatterns: list = [
    # The organization's full export (api/views/export_pages.py).
    path("export/", export_pages.org_export, name="export"),
    path("webhooks/", webhook_pages.webhook_list_view, name="webhook_list"),
    path("webhooks/new/", webhook_pages.webhook_create_view, name="webhook_create"),
    path("webhooks/<int:pk>/", webhook_pages.webhook_detail_view, name="webhook_detail"),
    path("webhooks/<int:pk>/rotate/", webhook_pages.webhook_rotate_view, name="webhook_rotate"),
    path(
        "webhooks/<int:pk>/active/",
        webhook_pages.webhook_set_active_view,
        name="webhook_set_active",
    ),
    path(
        "webhooks/<int:pk>/deliveries/<int:delivery_pk>/",
        webhook_pages.webhook_delivery_detail_view,
        name="webhook_delivery_detail",
    ),
    path(
        "webhooks/<int:pk>/deliveries/<int:delivery_pk>/resend/",
        webhook_pages.webhook_resend_view,
        name="webhook_resend",
    ),
    path("tokens/", token_pages.token_list, name="token_list"),
    path("tokens/new/", token_pages.token_create, name="token_create"),
    path("tokens/created/", token_pages.token_created, name="token_created"),
    path("tokens/<int:pk>/revoke/", token_pages.token_revoke, name="token_revoke"),
    path("tokens/integrations/", token_pages.integration_list, name="integration_list"),
    path("tokens/integrations/new/", token_pages.integration_create, name="integration_create"),
    path(
        "tokens/integrations/<int:pk>/new/",
        token_pages.integration_token_create,
        name="integration_token_create",
    ),
]
