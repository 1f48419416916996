"""Input shape only; the rules live in services and policies."""

import json

from django import forms
from django.utils import timezone

from accounts.fields import HolderField, holder_label
from accounts.selectors import HolderPurpose
from core.forms import CodeField, Form, ModelForm
from inventory.models import Facility

from .models import PHONE_HOWS, PHONE_KINDS, ClientOperation, EventType, Physician, Procedure


class RepresentativeField(HolderField):
    """An admin's representative picker: a type-ahead over whose events they may open. The
    event's current representative (who may since have left) stays acceptable unchanged."""

    def __init__(self, *, keep=None, **kwargs):
        super().__init__(purpose=HolderPurpose.REPRESENTATIVE, **kwargs)
        self.keep = keep

    def to_python(self, value):
        text = " ".join(str(value or "").split())
        if self.keep is not None and text in (holder_label(self.keep), str(self.keep.pk)):
            return self.keep
        return super().to_python(value)


class EventForm(Form):
    type = forms.ChoiceField(choices=EventType.choices, initial=EventType.CASE)
    name = forms.CharField(max_length=200, required=False, help_text="Left blank, one is made up.")
    representative = forms.ModelChoiceField(queryset=None, empty_label=None)
    facility = forms.ModelChoiceField(queryset=None, empty_label="Choose a facility")
    physician = forms.ModelChoiceField(queryset=None, required=False, empty_label="—")
    procedure = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="—", help_text="Required for a Case."
    )
    scheduled_at = forms.DateTimeField(
        label="Date and time",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )
    patient_ref = forms.RegexField(
        label="Patient reference",
        regex=r"^[A-Za-z0-9\-_/#.]*\Z",
        max_length=40,
        required=False,
        help_text="An anonymous reference such as a case number; never a patient's name.",
        error_messages={
            "invalid": "Use letters, digits and - _ / # . only: a reference, never a name."
        },
    )
    notes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=5000
    )

    def __init__(self, *args, organization_id, representatives, user=None, keep=None, **kwargs):
        """`representatives`: the short list a distributor or rep may pick from; None for an
        admin, who gets a type-ahead (`user` is whose picker it is, `keep` the event's current
        representative) instead of a list of every holder of the organization."""
        super().__init__(*args, **kwargs)
        if representatives is None:
            self.fields["representative"] = RepresentativeField(
                user=user, keep=keep, label="Representative"
            )
        else:
            self.fields["representative"].queryset = representatives
        for name, model in (
            ("facility", Facility),
            ("physician", Physician),
            ("procedure", Procedure),
        ):
            self.fields[name].queryset = model.objects.filter(organization_id=organization_id)
        if not self.is_bound and "scheduled_at" not in self.initial:
            self.initial["scheduled_at"] = timezone.localtime().replace(second=0, microsecond=0)


class PoForm(Form):
    po_number = forms.CharField(label="PO number", max_length=60)


class CommentForm(Form):
    body = forms.CharField(
        label="Comment",
        max_length=5000,
        widget=forms.Textarea(
            attrs={
                "rows": 3,
                "data-mention-input": "1",
                "placeholder": "Type @ to mention someone who can see this event",
            }
        ),
    )


class FacilityForm(ModelForm):
    class Meta:
        model = Facility
        fields = ["name", "kind", "city"]


class PhysicianForm(ModelForm):
    class Meta:
        model = Physician
        fields = ["name", "specialty"]


class ProcedureForm(ModelForm):
    class Meta:
        model = Procedure
        fields = ["name"]


DIRECTORY_FORMS = {"facility": FacilityForm, "physician": PhysicianForm, "procedure": ProcedureForm}


# Most operations one offline sync sends: a phone with more sends them in several requests.
MAX_SYNC_OPERATIONS = 100
_BIGGEST_ID = 2**63 - 1


class SyncBodyError(ValueError):
    """A sync request whose body is not {"operations": [...]}, at most MAX_SYNC_OPERATIONS."""


def sync_operations(body: bytes) -> list:
    """The operations of an offline sync's JSON body, each still to be checked on its own
    (ClientOperationForm). Raises SyncBodyError saying what is wrong with the body."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise SyncBodyError('The request is not JSON: send {"operations": [...]}.') from None
    if not isinstance(data, dict) or not isinstance(data.get("operations"), list):
        raise SyncBodyError('Send {"operations": [...]}, a list of operations.')
    operations = data["operations"]
    if len(operations) > MAX_SYNC_OPERATIONS:
        raise SyncBodyError(
            f"At most {MAX_SYNC_OPERATIONS} operations per sync; this one has "
            f"{len(operations)}. Nothing was applied: send them in smaller batches."
        )
    return operations


class ClientOperationForm(Form):
    """One operation an offline phone queued, as the JSON object it sent: its shape only."""

    id = forms.UUIDField()
    kind = forms.ChoiceField(choices=[(k, ClientOperation.Kind(k).label) for k in PHONE_KINDS])
    event = forms.IntegerField(min_value=1, max_value=_BIGGEST_ID)
    unit = forms.IntegerField(min_value=1, max_value=_BIGGEST_ID)
    # Unstripped: an HIBC label may end in a space (its check character).
    label = CodeField(required=False, max_length=500, strip=False)
    how = forms.ChoiceField(choices=[(h, ClientOperation.How(h).label) for h in PHONE_HOWS])
    at = forms.DateTimeField(required=False)
    # Who made it on the phone: an operation is never applied under another user's session.
    user = forms.IntegerField(required=False, min_value=1, max_value=_BIGGEST_ID)

    _TEXT_FIELDS = ("id", "kind", "label", "how", "at")

    def __init__(self, operation):
        self.operation = operation if isinstance(operation, dict) else None
        data = {k: v for k, v in (self.operation or {}).items() if k in self.base_fields}
        super().__init__(data=data)

    @property
    def sent_id(self):
        return self.operation.get("id") if self.operation is not None else None

    def clean(self):
        if self.operation is None:
            raise forms.ValidationError(
                "An operation is an object with id, kind, event, unit, how and at."
            )
        # A form field would take a list or a true for text (its str()): JSON says more.
        for name in self._TEXT_FIELDS:
            value = self.operation.get(name)
            if value is not None and not isinstance(value, str) and name not in self.errors:
                self.add_error(name, "Send this as text.")
        return self.cleaned_data

    def reason(self) -> str:
        """The form's errors in one line, each after the field it is about."""
        if self.operation is None:
            return " ".join(self.non_field_errors())
        return "; ".join(
            " ".join(errors) if name == "__all__" else f"{name}: {' '.join(errors)}"
            for name, errors in self.errors.items()
        )
