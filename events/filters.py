"""The event list's filters: input shape only, narrowing `Event.objects.visible_to(user)`."""

from __future__ import annotations

import django_filters
from django import forms

from accounts.fields import HolderField
from accounts.selectors import HolderPurpose
from core.forms import Form
from core.widgets import fast_selects, offer_pairs

from .models import EventStatus, EventType, Facility


def _date_input():
    return forms.DateInput(attrs={"type": "date"})


class HolderFilter(django_filters.Filter):
    field_class = HolderField


class EventFilter(django_filters.FilterSet):
    class Meta:
        form = Form  # the one rule for typed text (core.forms)

    type = django_filters.ChoiceFilter(choices=EventType.choices, empty_label="Any type")
    status = django_filters.ChoiceFilter(choices=EventStatus.choices, empty_label="Any status")
    facility = django_filters.ModelChoiceFilter(
        queryset=Facility.objects.none(), empty_label="Any facility"
    )
    representative = django_filters.ModelChoiceFilter(queryset=None, empty_label="Anyone")
    date_from = django_filters.DateFilter(
        field_name="scheduled_at", lookup_expr="date__gte", label="From", widget=_date_input()
    )
    date_to = django_filters.DateFilter(
        field_name="scheduled_at", lookup_expr="date__lte", label="To", widget=_date_input()
    )

    def __init__(self, data=None, *args, organization_id: int, user, representatives, **kwargs):
        """`representatives`: whom the person may pick (`selectors.representative_choices`), a
        short list; None for an admin, who types a name instead (a holder type-ahead over the
        same people, so the page never lists the organization's 2,000 holders)."""
        super().__init__(data, *args, **kwargs)
        self.filters["facility"].queryset = Facility.objects.filter(organization_id=organization_id)
        if representatives is None:
            self.filters["representative"] = HolderFilter(
                field_name="representative",
                purpose=HolderPurpose.REPRESENTATIVE,
                label="Representative",
                required=False,
            )
        else:
            self.filters["representative"].queryset = representatives
        self._user = user

    @property
    def form(self):
        form = super().form
        if getattr(form, "_trunkpool_ready", False):
            return form
        fast_selects(form)
        # The organization's facilities and a distributor's reps run to hundreds: offered as
        # (pk, name) pairs rather than a model instance per option.
        facility = form.fields["facility"]
        offer_pairs(facility, facility.queryset.values_list("pk", "name"))
        picker = form.fields["representative"]
        if isinstance(picker, HolderField) and picker.user is None:
            picker.set_user(self._user)
            picker.widget.attrs.setdefault("placeholder", "Anyone")
        elif not isinstance(picker, HolderField):
            rows = picker.queryset.values_list("pk", "display_name", "username")
            offer_pairs(picker, ((pk, shown or name) for pk, shown, name in rows))
        for field in form.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)
        form._trunkpool_ready = True  # set up once, after every step above succeeded
        return form
