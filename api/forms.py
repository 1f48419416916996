"""Input shapes of the /integrations/ pages (the services decide what is allowed)."""

from __future__ import annotations

import datetime

from django import forms
from django.conf import settings
from django.utils import formats, timezone

from accounts.models import Role
from api.models import TokenScope
from api.services.export import FORMATS
from core.forms import Form

# Lifetimes offered, in days; those over settings.API_TOKEN_MAX_DAYS are left out.
LIFETIMES = (7, 30, 90, 180, 365)
DEFAULT_LIFETIME = 90


def _lifetime_choices(now: datetime.datetime) -> list[tuple[int, str]]:
    days = [d for d in LIFETIMES if d <= settings.API_TOKEN_MAX_DAYS] or [
        settings.API_TOKEN_MAX_DAYS
    ]
    choices = []
    for d in days:
        until = formats.date_format(timezone.localtime(now + datetime.timedelta(days=d)), "j M Y")
        choices.append((d, f"{d} days (until {until})"))
    return choices


class TokenForm(Form):
    name = forms.CharField(
        max_length=100,
        help_text="What will use it, such as “Inventory report script”.",
    )
    scope = forms.ChoiceField(
        choices=TokenScope.choices,
        initial=TokenScope.READ,
        widget=forms.RadioSelect,
        help_text="Read only is enough to list and look things up. A token never does more "
        "than its user may.",
    )
    lifetime = forms.TypedChoiceField(
        coerce=int,
        label="Expires after",
        help_text="Every token expires; make a new one before then.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._now = timezone.now()
        choices = _lifetime_choices(self._now)
        self.fields["lifetime"].choices = choices
        days = [d for d, _ in choices]
        self.fields["lifetime"].initial = DEFAULT_LIFETIME if DEFAULT_LIFETIME in days else days[0]

    def token_terms(self) -> dict:
        """The service's keyword arguments for the token itself."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "scope": data["scope"],
            "expires_at": self._now + datetime.timedelta(days=data["lifetime"]),
        }


class IntegrationForm(TokenForm):
    role = forms.ChoiceField(
        label="Acts as",
        choices=[
            (Role.ADMIN, "Admin: sees and acts on everything in the organization"),
            (Role.DISTRIBUTOR, "Distributor: its own stock and the reps assigned to it"),
        ],
        initial=Role.DISTRIBUTOR,
        widget=forms.RadioSelect,
        help_text="The integration's service user has this role. It never signs in and is "
        "never offered as a holder or an @mention.",
    )

    field_order = ["name", "role", "scope", "lifetime"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].help_text = "The system that will call the API, such as “ERP sync”."


class OrgExportForm(Form):
    format = forms.ChoiceField(
        choices=list(FORMATS.items()),
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
        initial="csv",
    )
