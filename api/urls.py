"""/api/v1/: one module of views per subject (api/views/)."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api.views import (
    catalog,
    directory,
    holds,
    notifications,
    recalls,
    receiving,
    units,
    users,
)

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
    # Catalog, directory, people, notifications, recalls, holds and receiving (api-reads).
    path("products/", catalog.ProductList.as_view(), name="product_list"),
    path("products/<int:pk>/", catalog.ProductDetail.as_view(), name="product_detail"),
    path("locations/", catalog.LocationList.as_view(), name="location_list"),
    path("facilities/", directory.FacilityList.as_view(), name="facility_list"),
    path("physicians/", directory.PhysicianList.as_view(), name="physician_list"),
    path("procedures/", directory.ProcedureList.as_view(), name="procedure_list"),
    path("users/", users.UserList.as_view(), name="user_list"),
    path("users/<int:pk>/", users.UserDetail.as_view(), name="user_detail"),
    path("notifications/", notifications.NotificationList.as_view(), name="notification_list"),
    path("notifications/read/", notifications.NotificationRead.as_view(), name="notification_read"),
    path("recalls/", recalls.RecallList.as_view(), name="recall_list"),
    path("recalls/lookup/", recalls.RecallLookup.as_view(), name="recall_lookup"),
    path("recalls/<int:pk>/", recalls.RecallDetail.as_view(), name="recall_detail"),
    path("recalls/<int:pk>/units/", recalls.RecallUnits.as_view(), name="recall_units"),
    path("recalls/<int:pk>/return/", recalls.RecallReturnView.as_view(), name="recall_return"),
    path("holds/release/", holds.HoldRelease.as_view(), name="hold_release"),
    path("receiving/lines/", receiving.ReceiveLines.as_view(), name="receive_lines"),
    path("receiving/udi/", receiving.ReceiveUdi.as_view(), name="receive_udi"),
]
