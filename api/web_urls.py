"""/integrations/: the pages where people manage API tokens, and admins webhooks and exports."""

from django.urls import path

from api.views import token_pages

app_name = "integrations"

urlpatterns: list = [
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
