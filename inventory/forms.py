"""Input shape only; the rules live in services and policies."""

from django import forms
from django.conf import settings

from .models import Location, Product
from .udi import is_valid_gtin

ORG = "org"


def holder_choice_list(holders, *, include_org: bool) -> list[tuple[str, str]]:
    choices = [("", "Choose a holder")]
    if include_org:
        choices.append((ORG, "Organization custody"))
    choices += [(str(u.pk), f"{u.name} ({u.get_role_display().lower()})") for u in holders]
    return choices


class TransferForm(forms.Form):
    recipient = forms.ChoiceField(label="Send to")
    to_location = forms.ModelChoiceField(
        queryset=Location.objects.none(),
        required=False,
        label="To location",
        empty_label="Not recorded",
        help_text="Where the units will sit, e.g. the recipient's trunk.",
    )
    note = forms.CharField(max_length=500, required=False, widget=forms.TextInput)

    def __init__(self, *args, holders, organization_id, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["recipient"].choices = holder_choice_list(holders, include_org=True)
        self.fields["to_location"].queryset = Location.objects.filter(
            organization_id=organization_id
        )


class ScanForm(forms.Form):
    scan = forms.CharField(
        label="Scan or paste",
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off", "spellcheck": "false"}),
        help_text="One GS1 UDI barcode or serial number per line.",
    )


class DeclineForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": "Why are you declining?"}),
        error_messages={"required": "Say why you decline: the sender and an admin read it."},
    )


class ReceiveForm(forms.Form):
    product = forms.ModelChoiceField(queryset=Product.objects.none())
    lot_number = forms.CharField(max_length=64, required=False)
    expiration_date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Expiry"
    )
    serial_numbers = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Serial-tracked products: one serial number per line.",
    )
    quantity = forms.IntegerField(
        min_value=1, initial=1, help_text="Lot-tracked products: how many units."
    )
    location = forms.ModelChoiceField(queryset=Location.objects.none(), required=False)
    custodian = forms.ChoiceField(label="Into the custody of")

    def __init__(self, *args, organization_id, holders, include_org, **kwargs):
        super().__init__(*args, **kwargs)
        # The same cap as the receiving service and the CSV import (settings, read per form).
        cap = settings.RECEIVE_MAX_QUANTITY
        self.fields["quantity"] = forms.IntegerField(
            min_value=1,
            max_value=cap,
            initial=1,
            help_text=f"Lot-tracked products: how many units (at most {cap:,} at a time).",
        )
        self.fields["product"].queryset = Product.objects.filter(organization_id=organization_id)
        self.fields["location"].queryset = Location.objects.filter(organization_id=organization_id)
        self.fields["custodian"].choices = holder_choice_list(holders, include_org=include_org)[1:]

    def serials(self):
        return [s.strip() for s in self.cleaned_data["serial_numbers"].splitlines() if s.strip()]


class UdiReceiveForm(forms.Form):
    udi = forms.CharField(
        label="GS1 UDI",
        max_length=255,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}),
        help_text="Scan the barcode, or paste it, e.g. (01)09506000134352(17)281231(10)L1(21)S1",
    )
    location = forms.ModelChoiceField(queryset=Location.objects.none(), required=False)
    custodian = forms.ChoiceField(label="Into the custody of")

    def __init__(self, *args, organization_id, holders, include_org, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = Location.objects.filter(organization_id=organization_id)
        self.fields["custodian"].choices = holder_choice_list(holders, include_org=include_org)[1:]


class CsvImportForm(forms.Form):
    file = forms.FileField(label="CSV file")
    custodian = forms.ChoiceField(
        label="Default custody", help_text="Rows without a custodian column value go here."
    )

    def __init__(self, *args, holders, include_org, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["custodian"].choices = holder_choice_list(holders, include_org=include_org)[1:]


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = [
            "catalog_number",
            "description",
            "manufacturer",
            "product_line",
            "gtin",
            "single_use",
            "tracking",
        ]

    def clean_gtin(self):
        gtin = (self.cleaned_data.get("gtin") or "").strip()
        if not gtin:
            return None
        if not gtin.isdigit() or len(gtin) not in (8, 12, 13, 14):
            raise forms.ValidationError("A GTIN has 8, 12, 13 or 14 digits.")
        gtin = gtin.zfill(14)
        if not is_valid_gtin(gtin):
            raise forms.ValidationError("That GTIN's check digit is wrong.")
        return gtin


class LocationForm(forms.ModelForm):
    class Meta:
        model = Location
        fields = ["name", "kind"]
