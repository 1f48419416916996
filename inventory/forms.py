"""Input shape only; the rules live in services and policies."""

import re

from django import forms
from django.conf import settings
from django.urls import reverse

from accounts.fields import HolderField, HolderInput
from accounts.selectors import HolderPurpose, actor_for
from core.forms import CodeField, Form, ModelForm

from .models import Location, Product
from .selectors.catalog import GTIN, product_by_catalog_number, product_matches
from .udi import is_valid_gtin

ORG = "org"
ORG_LABEL = "Organization custody"
# What a person may type (any case) to mean organization custody; "org" is also what the old
# <select> posted, so bookmarks and scripts keep working.
_ORG_WORDS = {ORG, "organization", "organisation", ORG_LABEL.lower()}


class CustodyField(HolderField):
    """A holder picker (type-ahead, no list of every holder) that may also take organization
    custody: the suggestion "Organization custody" (or "org"). Cleans to a `User` or `ORG`."""

    def __init__(self, *, allow_org: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.set_allow_org(allow_org)

    def set_allow_org(self, allow: bool) -> None:
        self.allow_org = allow
        self.widget.fixed_options = [ORG_LABEL] if allow else []
        if allow:
            self.error_messages["required"] = f"Type a name or username, or “{ORG_LABEL}”."

    def to_python(self, value):
        if " ".join(str(value or "").split()).lower() in _ORG_WORDS:
            if not self.allow_org:
                raise forms.ValidationError(
                    "Organization custody cannot be picked here.", code="org_not_allowed"
                )
            return ORG
        return super().to_python(value)


def _holder_box(field: HolderField, placeholder: str) -> None:
    field.widget.attrs.update({"class": "form-control", "placeholder": placeholder})


def custodian_field(*, user, custodians, label: str, help_text: str = "") -> forms.Field:
    """The receiving forms' custodian: `custodians` None means any holder or organization
    custody (an admin: a type-ahead); otherwise the few holders allowed (a distributor:
    herself), as a short list."""
    if custodians is None:
        field = CustodyField(
            purpose=HolderPurpose.CUSTODIAN, allow_org=True, label=label, help_text=help_text
        )
        field.set_user(user)
        _holder_box(field, f"Name, username or {ORG_LABEL}")
        return field
    return forms.ModelChoiceField(
        queryset=custodians, empty_label=None, label=label, help_text=help_text
    )


def receive_locations(user, custodians):
    """Locations a receiving form offers: those the person may pick, narrowed to the
    custodians' own when the custodians are a short list (a distributor: herself)."""
    qs = Location.objects.offered_to(actor_for(user))
    return qs if custodians is None else qs.filter(holder__in=custodians)


class TransferForm(Form):
    recipient = CustodyField(
        purpose=HolderPurpose.RECIPIENT,
        allow_org=True,
        label="Send to",
        help_text=f"Type a name or username, or “{ORG_LABEL}”.",
        excluded="%(name)s already holds the units you picked: nothing to send. Pick "
        "someone else, or go back to the list.",
        excluded_self="You already hold the units you picked: nothing to send. Pick someone "
        "else, or go back to the list.",
    )
    to_location = forms.ModelChoiceField(
        queryset=Location.objects.none(),
        required=False,
        label="To location",
        empty_label="Not recorded",
        help_text="Where the units will sit, e.g. the recipient's trunk.",
    )
    note = forms.CharField(max_length=500, required=False, widget=forms.TextInput)

    def __init__(self, *args, user, organization_id, exclude_id=None, **kwargs):
        """`exclude_id`: the one holder of every unit sent, who is never offered as recipient."""
        super().__init__(*args, **kwargs)
        self.fields["recipient"].set_user(user, exclude_id=exclude_id)
        _holder_box(self.fields["recipient"], "Name or username")
        # The sender's side: locations of holders the sender may act for; the service accepts
        # only one the recipient holds.
        self.fields["to_location"].queryset = Location.objects.offered_to(actor_for(user))


class ScanForm(Form):
    scan = CodeField(
        label="Scan or paste",
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off", "spellcheck": "false"}),
        help_text="One GS1 UDI barcode or serial number per line.",
        strip=False,  # a trailing space can be an HIBC label's check character
    )

    def clean_scan(self):
        scan = self.cleaned_data["scan"]
        if not scan.strip():
            raise forms.ValidationError("Scan or paste a code.")
        return scan


class ScanCodeForm(Form):
    """One code the camera read (or a person typed), for the scanner's lookups. Not stripped of
    spaces: a space can be an HIBC label's check character."""

    code = CodeField(max_length=2000, strip=False)

    def clean_code(self):
        code = self.cleaned_data["code"].strip("\r\n\t")
        if not code.strip():
            raise forms.ValidationError("Scan or type a code.")
        if "\n" in code or "\r" in code:
            raise forms.ValidationError("One code at a time.")
        return code


class DeclineForm(Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": "Why are you declining?"}),
        error_messages={"required": "Say why you decline: the sender and an admin read it."},
    )


class ReceiveForm(Form):
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

    def __init__(self, *args, organization_id, user, custodians, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["custodian"] = custodian_field(
            user=user, custodians=custodians, label="Into the custody of"
        )
        # The same cap as the receiving service and the CSV import (settings, read per form).
        cap = settings.RECEIVE_MAX_QUANTITY
        self.fields["quantity"] = forms.IntegerField(
            min_value=1,
            max_value=cap,
            initial=1,
            help_text=f"Lot-tracked products: how many units (at most {cap:,} at a time).",
        )
        self.fields["product"].queryset = Product.objects.filter(organization_id=organization_id)
        self.fields["location"].queryset = receive_locations(user, custodians)

    def serials(self):
        return [s.strip() for s in self.cleaned_data["serial_numbers"].splitlines() if s.strip()]


class UdiReceiveForm(Form):
    # Prefixed "udi" by the receiving page: the box is id_udi-udi, name udi-udi.
    udi = CodeField(
        label="UDI barcode",
        max_length=255,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}),
        help_text="Scan the GS1 or HIBC barcode, or paste it, e.g. "
        "(01)09506000134352(17)281231(10)L1(21)S1",
        strip=False,  # a trailing space can be an HIBC label's check character
    )
    location = forms.ModelChoiceField(queryset=Location.objects.none(), required=False)

    def clean_udi(self):
        udi = self.cleaned_data["udi"].strip("\r\n\t")
        if not udi.strip():
            raise forms.ValidationError("Scan or paste a barcode.")
        return udi

    def __init__(self, *args, organization_id, user, custodians, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = receive_locations(user, custodians)
        self.fields["custodian"] = custodian_field(
            user=user, custodians=custodians, label="Into the custody of"
        )


class CsvImportForm(Form):
    file = forms.FileField(label="CSV file")

    def __init__(self, *args, user, custodians, **kwargs):
        super().__init__(*args, **kwargs)
        # Optional: needed only for rows that name no custodian, which the import refuses
        # line by line when none is chosen here.
        self.fields["custodian"] = custodian_field(
            user=user,
            custodians=custodians,
            label="Default custody",
            help_text="Rows without a custodian column value go here. Leave it blank when "
            "every row names its custodian.",
        )
        self.fields["custodian"].required = False
        if self.is_bound:
            # No browser keeps a chosen file across a post: say so where the file goes.
            self.fields["file"].help_text = (
                "Choose the file again: the browser does not keep it when this page comes "
                "back. Your other choices are kept."
            )


class ProductForm(ModelForm):
    class Meta:
        model = Product
        fields = [
            "catalog_number",
            "description",
            "manufacturer",
            "product_line",
            "gtin",
            "hibc_lic",
            "hibc_product",
            "single_use",
            "tracking",
        ]
        help_texts = {
            "hibc_lic": "For HIBC labels: the 4 characters after the +, a capital letter first.",
            "hibc_product": "The labeler's product number that follows, up to 18 capitals or "
            "digits (not the unit-of-measure digit or the check character).",
        }

    def clean_hibc_lic(self):
        lic = (self.cleaned_data.get("hibc_lic") or "").strip().upper()
        if lic and not re.fullmatch(r"[A-Z][A-Z0-9]{3}", lic):
            raise forms.ValidationError(
                "An HIBC labeler code is a capital letter then 3 capitals or digits, e.g. A999."
            )
        return lic

    def clean_hibc_product(self):
        number = (self.cleaned_data.get("hibc_product") or "").strip().upper()
        if number and not re.fullmatch(r"[A-Z0-9]{1,18}", number):
            raise forms.ValidationError("An HIBC product number holds up to 18 capitals or digits.")
        return number

    def clean(self):
        data = super().clean()
        lic, number = data.get("hibc_lic"), data.get("hibc_product")
        if lic is not None and number is not None and bool(lic) != bool(number):
            missing = "hibc_product" if lic else "hibc_lic"
            self.add_error(missing, "Give the HIBC labeler code and product number together.")
        return data

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


SHOWN_PRODUCTS = 5


class AttachProductForm(Form):
    """An admin's pick of the catalog product a scanned label's GTIN (`identity` GTIN) or HIBC
    identity goes to, by catalog number. Thousands of products: no <select> lists them. The box
    is a type-ahead as the holder pickers' (accounts/fields.py): static/js/holder_field.js
    fills its suggestions from `inventory:product_search`, offering only products without that
    identity yet; without script it is a plain box the server resolves on submit, naming a few
    products that match when the text names none. Cleans to a `Product`."""

    product = forms.CharField(max_length=64, label="Product (catalog number)")

    def __init__(self, *args, organization_id: int, identity: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization_id = organization_id
        self.identity = identity
        what = "a GTIN" if identity == GTIN else "an HIBC identity"
        url = reverse("inventory:product_search") + f"?identity={identity}"
        field = self.fields["product"]
        field.widget = HolderInput(
            attrs={"data-holder-url": url, "class": "form-control", "maxlength": 64}
        )
        field.help_text = (
            f"The product without {what} yet that this label belongs to: type its catalog "
            "number, or part of it or of its description, and choose."
        )

    def clean_product(self):
        text = " ".join(self.cleaned_data["product"].split())
        product = product_by_catalog_number(
            organization_id=self.organization_id, catalog_number=text
        )
        if product is not None:
            return product
        matches = product_matches(
            organization_id=self.organization_id,
            identity=self.identity,
            query=text,
            limit=SHOWN_PRODUCTS + 1,
        )
        message = f"No product has the catalog number “{text}”."
        if matches:
            names = ", ".join(p.catalog_number for p in matches[:SHOWN_PRODUCTS])
            more = ", …" if len(matches) > SHOWN_PRODUCTS else ""
            message += f" Products that match: {names}{more}."
        raise forms.ValidationError(message)


class LocationForm(ModelForm):
    """A location's name, kind and holder. `custodians` as for `custodian_field`: None lets an
    admin type any distributor or rep, or organization custody (the default when left blank);
    a distributor gets her own name only."""

    class Meta:
        model = Location
        fields = ["name", "kind"]

    def __init__(self, *args, user, custodians, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["holder"] = custodian_field(
            user=user,
            custodians=custodians,
            label="Holder",
            help_text="Whose shelf this is: units here are in the holder's custody.",
        )
        if custodians is None:
            self.fields["holder"].required = False
            self.fields["holder"].help_text += f" Blank: {ORG_LABEL.lower()}."

    def clean_holder(self):
        holder = self.cleaned_data.get("holder")
        return None if holder in (None, "", ORG) else holder


class ScannedProductForm(ProductForm):
    """A new product for a scanned label whose product is not in the catalog: the label gives
    its GTIN or HIBC identity, the admin the rest."""

    class Meta(ProductForm.Meta):
        fields = [
            "catalog_number",
            "description",
            "manufacturer",
            "product_line",
            "tracking",
            "single_use",
        ]
