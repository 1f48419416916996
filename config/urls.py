from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from accounts.forms import PeopleAuthenticationForm
from accounts.views import PasswordResetView
from events.views.dashboard import home
from inventory.views.scan import scan_page

from . import views

handler400 = "config.views.bad_request"
handler404 = "config.views.page_not_found"

urlpatterns = [
    path("", home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("scan/", scan_page, name="scan"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(authentication_form=PeopleAuthenticationForm),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password_change/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path(
        "accounts/password_reset/",
        PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "accounts/password_reset/done/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("users/", include("accounts.urls")),
    # Jobs lived under /inventory/jobs/ before they had an app; links in sent notifications and
    # emails still point there.
    *[
        path(
            f"inventory/jobs/{route}",
            RedirectView.as_view(pattern_name=f"jobs:job_{page}", permanent=True),
            name=f"jobs_moved_{page}",
        )
        for route, page in [
            ("", "list"),
            ("<int:pk>/", "detail"),
            ("<int:pk>/progress/", "progress"),
            ("<int:pk>/download/", "download"),
        ]
    ],
    path("inventory/", include("inventory.urls")),
    path("jobs/", include("jobs.urls")),
    path("api/v1/", include("api.urls")),
    path("integrations/", include("api.web_urls")),
    path("", include("events.urls")),
]
