"""The webhook pages' input shapes; the rules are the services'."""

from __future__ import annotations

from django import forms

from core.forms import Form
from core.outbox import EVENT_TYPES


class SubscriptionForm(Form):
    # A plain text field: the service says why a URL is refused (not https, a private address).
    url = forms.CharField(
        label="Endpoint URL",
        max_length=500,
        widget=forms.URLInput(attrs={"placeholder": "https://erp.example.com/trunkpool/hooks"}),
        help_text="HTTPS only. Deliveries never go to private or internal addresses.",
    )
    description = forms.CharField(
        label="Description", max_length=100, required=False, help_text="Optional: what it feeds."
    )
    event_types = forms.MultipleChoiceField(
        label="Send these events",
        choices=[(value, f"{label} ({value})") for value, label in EVENT_TYPES.items()],
        widget=forms.CheckboxSelectMultiple,
    )
