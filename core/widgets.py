"""Form widgets that render without a template per option.

Django's Select renders each <option> through a template: a few hundred options (the
organization's facilities, a distributor's reps) cost tens of milliseconds a page. This one
writes the same markup in Python, escaped.
"""

from __future__ import annotations

from django import forms
from django.forms.utils import flatatt
from django.utils.html import escape
from django.utils.safestring import mark_safe


def option_html(value, label, current: str) -> str:
    """One escaped <option>, selected when its value is `current`."""
    value = str(value)
    selected = " selected" if value == current else ""
    return f'<option value="{escape(value)}"{selected}>{escape(str(label))}</option>'


class FastSelect(forms.Select):
    """A single <select> of flat choices (no option groups), written without templates."""

    def render(self, name, value, attrs=None, renderer=None):
        final = self.build_attrs(self.attrs, attrs)
        final["name"] = name
        values = self.format_value(value)
        current = values[0] if values else ""
        options = "".join(option_html(v, label, current) for v, label in self.choices)
        return mark_safe(f"<select{flatatt(final)}>{options}</select>")


def offer_pairs(field: forms.ModelChoiceField, pairs) -> None:
    """Offer a model <select> from (pk, label) pairs read with `values_list` (one query, no
    model instances, no server-side cursor); the field still validates against its queryset.
    The pairs must be the queryset's rows, labelled as its objects' `str()` reads."""
    empty = [("", field.empty_label)] if field.empty_label is not None else []
    field.widget.choices = empty + list(pairs)


def fast_selects(form) -> None:
    """Give every plain single <select> of the form the template-free widget."""
    for field in form.fields.values():
        widget = field.widget
        if type(widget) is forms.Select:
            fast = FastSelect(attrs=widget.attrs)
            fast.choices = widget.choices
            fast.is_required = widget.is_required
            field.widget = fast
