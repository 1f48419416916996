from django.urls import path

from . import recall_views, views

app_name = "inventory"

urlpatterns = [
    path("", views.unit_list, name="unit_list"),
    path("export.csv", views.unit_export, name="unit_export"),
    path("units/<int:pk>/", views.unit_detail, name="unit_detail"),
    path("holds/", views.hold_list, name="hold_list"),
    path("holds/release/", views.hold_release, name="hold_release"),
    path("transfers/", views.transfer_list, name="transfer_list"),
    path("transfers/new/", views.transfer_new, name="transfer_new"),
    path("transfers/<int:pk>/", views.transfer_detail, name="transfer_detail"),
    path("transfers/<int:pk>/accept/", views.transfer_accept, name="transfer_accept"),
    path("transfers/<int:pk>/decline/", views.transfer_decline, name="transfer_decline"),
    path("transfers/<int:pk>/cancel/", views.transfer_cancel, name="transfer_cancel"),
    path("receive/", views.receive, name="receive"),
    path("receive/scan/", views.receive_udi, name="receive_udi"),
    path("receive/csv/", views.receive_csv, name="receive_csv"),
    path("products/", views.product_list, name="product_list"),
    path("locations/", views.location_list, name="location_list"),
    path("recalls/", recall_views.recall_list, name="recall_list"),
    path("recalls/new/", recall_views.recall_new, name="recall_new"),
    path("recalls/lookup/", recall_views.recall_lookup, name="recall_lookup"),
    path("recalls/lookup.csv", recall_views.recall_lookup_export, name="recall_lookup_export"),
    path("recalls/<int:pk>/", recall_views.recall_detail, name="recall_detail"),
    path("recalls/<int:pk>/return/", recall_views.recall_return, name="recall_return"),
    path("recalls/<int:pk>/withdraw/", recall_views.recall_withdraw, name="recall_withdraw"),
    path("move/", recall_views.unit_move, name="unit_move"),
    path("par-levels/", recall_views.par_level_list, name="par_level_list"),
    path("par-levels/<int:pk>/replenish/", recall_views.par_replenish, name="par_replenish"),
    path("jobs/", views.job_list, name="job_list"),
    path("jobs/<int:pk>/", views.job_detail, name="job_detail"),
    path("jobs/<int:pk>/progress/", views.job_progress, name="job_progress"),
    path("jobs/<int:pk>/download/", views.job_download, name="job_download"),
]
