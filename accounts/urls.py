from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("", views.user_list_view, name="user_list"),
    path("new/", views.user_create_view, name="user_create"),
    path("holders/", views.holder_search_view, name="holder_search"),
    path("<int:pk>/", views.user_detail_view, name="user_detail"),
    path("<int:pk>/edit/", views.user_edit_view, name="user_edit"),
    path("<int:pk>/active/", views.user_set_active_view, name="user_set_active"),
    path("<int:pk>/invite/", views.user_invite_view, name="user_invite"),
    path("<int:pk>/unlock/", views.user_unlock_view, name="user_unlock"),
    path("<int:pk>/assigned/", views.group_assign_view, name="group_assign"),
    path(
        "<int:pk>/assigned/<int:rep_pk>/remove/",
        views.group_unassign_view,
        name="group_unassign",
    ),
    path("<int:pk>/pooling/", views.group_pooling_view, name="group_pooling"),
    path("notifications/", views.notification_list, name="notification_list"),
    path("notifications/read/", views.notification_read, name="notification_read"),
    path("notifications/settings/", views.notification_settings, name="notification_settings"),
    path("notifications/<int:pk>/", views.notification_open, name="notification_open"),
]
