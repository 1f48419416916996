from django.urls import path

from inventory.views.catalog import location_list, product_list, product_search
from inventory.views.holds import hold_list, hold_release
from inventory.views.mismatches import label_mismatch_list, label_mismatch_resolve
from inventory.views.moves import unit_move
from inventory.views.par import par_level_list, par_replenish
from inventory.views.recalls import (
    recall_detail,
    recall_list,
    recall_lookup,
    recall_lookup_export,
    recall_new,
    recall_return,
    recall_withdraw,
)
from inventory.views.receiving import (
    receive,
    receive_csv,
    receive_udi,
    receive_udi_attach,
    receive_udi_new_product,
)
from inventory.views.scan import scan_lookup
from inventory.views.transfers import (
    transfer_accept,
    transfer_cancel,
    transfer_decline,
    transfer_detail,
    transfer_list,
    transfer_new,
)
from inventory.views.units import unit_detail, unit_export, unit_list

app_name = "inventory"

urlpatterns = [
    path("", unit_list, name="unit_list"),
    path("export.csv", unit_export, name="unit_export"),
    path("units/<int:pk>/", unit_detail, name="unit_detail"),
    path("holds/", hold_list, name="hold_list"),
    path("holds/release/", hold_release, name="hold_release"),
    path("label-mismatches/", label_mismatch_list, name="label_mismatch_list"),
    path(
        "label-mismatches/<int:pk>/resolve/",
        label_mismatch_resolve,
        name="label_mismatch_resolve",
    ),
    path("transfers/", transfer_list, name="transfer_list"),
    path("transfers/new/", transfer_new, name="transfer_new"),
    path("transfers/<int:pk>/", transfer_detail, name="transfer_detail"),
    path("transfers/<int:pk>/accept/", transfer_accept, name="transfer_accept"),
    path("transfers/<int:pk>/decline/", transfer_decline, name="transfer_decline"),
    path("transfers/<int:pk>/cancel/", transfer_cancel, name="transfer_cancel"),
    path("receive/", receive, name="receive"),
    path("receive/scan/", receive_udi, name="receive_udi"),
    path("receive/scan/attach/", receive_udi_attach, name="receive_udi_attach"),
    path("receive/scan/new-product/", receive_udi_new_product, name="receive_udi_new_product"),
    path("receive/csv/", receive_csv, name="receive_csv"),
    path("products/", product_list, name="product_list"),
    path("products/search/", product_search, name="product_search"),
    path("locations/", location_list, name="location_list"),
    path("recalls/", recall_list, name="recall_list"),
    path("recalls/new/", recall_new, name="recall_new"),
    path("recalls/lookup/", recall_lookup, name="recall_lookup"),
    path("recalls/lookup.csv", recall_lookup_export, name="recall_lookup_export"),
    path("recalls/<int:pk>/", recall_detail, name="recall_detail"),
    path("recalls/<int:pk>/return/", recall_return, name="recall_return"),
    path("recalls/<int:pk>/withdraw/", recall_withdraw, name="recall_withdraw"),
    path("move/", unit_move, name="unit_move"),
    path("scan/lookup/", scan_lookup, name="scan_lookup"),
    path("par-levels/", par_level_list, name="par_level_list"),
    path("par-levels/<int:pk>/replenish/", par_replenish, name="par_replenish"),
]
