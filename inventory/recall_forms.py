"""Input shape of the recall, move and par-level pages; the rules live in services."""

from django import forms
from django.utils import timezone

from core.forms import CodeField, Form

from .models import Location, Recall


class RecallForm(Form):
    reference = forms.CharField(max_length=80, label="Recall reference")
    recall_class = forms.ChoiceField(choices=Recall.RecallClass.choices, label="Class")
    product = forms.CharField(
        max_length=64, label="Product", help_text="Catalog number or GTIN, as the notice gives it."
    )
    lot_numbers = forms.CharField(
        required=False,
        label="Lots",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Separated by commas, spaces or line breaks.",
    )
    serial_numbers = forms.CharField(
        required=False, label="Serial numbers", widget=forms.Textarea(attrs={"rows": 2})
    )
    recall_date = forms.DateField(
        label="Date", initial=timezone.localdate, widget=forms.DateInput(attrs={"type": "date"})
    )
    reason = forms.CharField(max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))


class RecallReturnForm(Form):
    reference = forms.CharField(max_length=80, label="Return reference (RMA)")
    returned_on = forms.DateField(
        label="Returned on",
        initial=timezone.localdate,
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class RecallWithdrawForm(Form):
    reason = forms.CharField(
        max_length=500,
        label="Why withdraw it",
        error_messages={"required": "Say why the recall is withdrawn."},
    )


class LookupForm(Form):
    code = CodeField(
        max_length=255,
        required=False,
        strip=False,  # a trailing space can be an HIBC label's check character
        label="Lot, serial or UDI",
        help_text="Scan or paste a GS1 UDI, or type a lot or serial number.",
    )
    product = forms.CharField(
        max_length=64, required=False, label="Catalog number or GTIN (with lots)"
    )
    lots = forms.CharField(max_length=5000, required=False, label="Lots")


class MoveForm(Form):
    to_location = forms.ModelChoiceField(
        queryset=Location.objects.none(), label="Move to", empty_label="Choose a location"
    )

    def __init__(self, *args, locations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_location"].queryset = locations


class ParLevelForm(Form):
    location = forms.ModelChoiceField(queryset=Location.objects.none(), empty_label=None)
    product = forms.CharField(max_length=64, label="Catalog number")
    par = forms.IntegerField(min_value=1, max_value=100_000)
    reorder_to = forms.IntegerField(min_value=1, max_value=100_000, label="Reorder to")

    def __init__(self, *args, locations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = locations
