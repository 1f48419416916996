"""/api/v1/: one module of views per subject (api/views/)."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api.views import ledger, units

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its script from a URL of this site: no inline script for the CSP.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("units/", units.UnitList.as_view(), name="unit_list"),
    path("units/<int:pk>/", units.UnitDetail.as_view(), name="unit_detail"),
    path("units/<int:pk>/ledger/", units.UnitLedger.as_view(), name="unit_ledger"),
    # The ledger feed and the organization export (api/views/ledger.py, export).
    path("ledger/", ledger.LedgerFeed.as_view(), name="ledger_feed"),
]
