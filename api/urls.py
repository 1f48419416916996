"""/api/v1/: one module of views per subject (api/views/)."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api.views import (
    catalog,
    directory,
    events,
    holds,
    ledger,
    notifications,
    recalls,
    receiving,
    transfers,
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
    # Transfers and events (reads and writes through their services).
    path("transfers/", transfers.TransferList.as_view(), name="transfer_list"),
    path("transfers/<int:pk>/", transfers.TransferDetail.as_view(), name="transfer_detail"),
    path("transfers/<int:pk>/accept/", transfers.TransferAccept.as_view(), name="transfer_accept"),
    path(
        "transfers/<int:pk>/decline/", transfers.TransferDecline.as_view(), name="transfer_decline"
    ),
    path("transfers/<int:pk>/cancel/", transfers.TransferCancel.as_view(), name="transfer_cancel"),
    path("events/", events.EventList.as_view(), name="event_list"),
    path("events/<int:pk>/", events.EventDetail.as_view(), name="event_detail"),
    path("events/<int:pk>/lines/", events.EventLines.as_view(), name="event_lines"),
    path("events/<int:pk>/mark-used/", events.EventMarkUsed.as_view(), name="event_mark_used"),
    path("events/<int:pk>/unmark/", events.EventUnmark.as_view(), name="event_unmark"),
    path("events/<int:pk>/submit/", events.EventSubmit.as_view(), name="event_submit"),
    path("events/<int:pk>/reopen/", events.EventReopen.as_view(), name="event_reopen"),
    path("events/<int:pk>/cancel/", events.EventCancel.as_view(), name="event_cancel"),
    path("events/<int:pk>/po/", events.EventPo.as_view(), name="event_po"),
    path("events/<int:pk>/paid/", events.EventPaid.as_view(), name="event_paid"),
    # The ledger feed (api/views/ledger.py); the full export is a page, /integrations/export/.
    path("ledger/", ledger.LedgerFeed.as_view(), name="ledger_feed"),
]
