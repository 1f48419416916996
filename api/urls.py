"""/api/v1/: one module of views per subject (api/views/)."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api.views import units

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its script from a URL of this site, and our template takes its
    # style from a static file: nothing inline for the CSP to refuse.
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api:schema", template_name="api/swagger_ui.html"
        ),
        name="docs",
    ),
    path("units/", units.UnitList.as_view(), name="unit_list"),
    path("units/<int:pk>/", units.UnitDetail.as_view(), name="unit_detail"),
    path("units/<int:pk>/ledger/", units.UnitLedger.as_view(), name="unit_ledger"),
]
