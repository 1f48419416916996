from django.urls import path

from . import views

app_name = "events"

urlpatterns = [
    path("events/", views.event_list, name="event_list"),
    path("events/new/", views.event_create, name="event_create"),
    path("events/<int:pk>/", views.event_detail, name="event_detail"),
    path("events/<int:pk>/edit/", views.event_edit, name="event_edit"),
    path("events/<int:pk>/use/", views.mark_used, name="mark_used"),
    path("events/<int:pk>/unmark/", views.unmark, name="unmark"),
    path("events/<int:pk>/submit/", views.transition, {"action": "submit"}, name="event_submit"),
    path("events/<int:pk>/submit/confirm/", views.submit_confirm, name="event_submit_confirm"),
    path("events/<int:pk>/cancel/", views.transition, {"action": "cancel"}, name="event_cancel"),
    path(
        "events/<int:pk>/complete/", views.transition, {"action": "complete"}, name="event_complete"
    ),
    path("events/<int:pk>/paid/", views.transition, {"action": "paid"}, name="event_paid"),
    path("events/<int:pk>/reopen/", views.transition, {"action": "reopen"}, name="event_reopen"),
    path("events/<int:pk>/usage.csv", views.usage_csv, name="usage_csv"),
    path("events/<int:pk>/comments/", views.comment_add, name="comment_add"),
    path(
        "events/<int:pk>/comments/<int:comment_pk>/edit/", views.comment_edit, name="comment_edit"
    ),
    path("events/<int:pk>/mentions/", views.mention_autocomplete, name="mention_autocomplete"),
    path("directory/", views.directory, name="directory"),
    path("directory/<str:kind>/<int:pk>/edit/", views.directory_edit, name="directory_edit"),
]
