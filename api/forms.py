"""Input shapes of the /integrations/ pages."""

from django import forms

from api.services.export import FORMATS


class OrgExportForm(forms.Form):
    format = forms.ChoiceField(
        choices=list(FORMATS.items()),
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
        initial="csv",
    )
