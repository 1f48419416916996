from django.urls import path

from events.views.comments import comment_add, comment_edit, mention_autocomplete
from events.views.directory import directory, directory_edit
from events.views.events import (
    event_create,
    event_detail,
    event_edit,
    event_list,
    submit_confirm,
    transition,
    usage_csv,
)
from events.views.mark_used import mark_used, unmark
from events.views.offline import offline_session, offline_snapshot, offline_sync
from events.views.pwa import manifest, offline_shell, service_worker
from events.views.scan import mark_used_scan_check, mark_used_scan_mark

app_name = "events"

urlpatterns = [
    path("events/", event_list, name="event_list"),
    path("events/new/", event_create, name="event_create"),
    path("events/<int:pk>/", event_detail, name="event_detail"),
    path("events/<int:pk>/edit/", event_edit, name="event_edit"),
    path("events/<int:pk>/use/", mark_used, name="mark_used"),
    path("events/<int:pk>/unmark/", unmark, name="unmark"),
    path("events/<int:pk>/use/scan/", mark_used_scan_check, name="mark_used_scan_check"),
    path("events/<int:pk>/use/scan/mark/", mark_used_scan_mark, name="mark_used_scan_mark"),
    path("events/<int:pk>/offline/", offline_snapshot, name="offline_snapshot"),
    path("offline/session/", offline_session, name="offline_session"),
    # The service worker controls the paths under its own URL: it must sit at the root.
    path("sw.js", service_worker, name="service_worker"),
    path("manifest.webmanifest", manifest, name="manifest"),
    path("offline/", offline_shell, name="offline_shell"),
    path("offline/sync/", offline_sync, name="offline_sync"),
    path("events/<int:pk>/submit/", transition, {"action": "submit"}, name="event_submit"),
    path("events/<int:pk>/submit/confirm/", submit_confirm, name="event_submit_confirm"),
    path("events/<int:pk>/cancel/", transition, {"action": "cancel"}, name="event_cancel"),
    path("events/<int:pk>/complete/", transition, {"action": "complete"}, name="event_complete"),
    path("events/<int:pk>/paid/", transition, {"action": "paid"}, name="event_paid"),
    path("events/<int:pk>/reopen/", transition, {"action": "reopen"}, name="event_reopen"),
    path("events/<int:pk>/usage.csv", usage_csv, name="usage_csv"),
    path("events/<int:pk>/comments/", comment_add, name="comment_add"),
    path("events/<int:pk>/comments/<int:comment_pk>/edit/", comment_edit, name="comment_edit"),
    path("events/<int:pk>/mentions/", mention_autocomplete, name="mention_autocomplete"),
    path("directory/", directory, name="directory"),
    path("directory/<str:kind>/<int:pk>/edit/", directory_edit, name="directory_edit"),
]
