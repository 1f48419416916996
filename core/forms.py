"""The one rule for typed text in every form and filter: no control characters.

PostgreSQL refuses a NUL byte in text outright (a query with one is a 500), and a line break in
a name reaches email bodies and CSV cells as a line of its own (a fake "Bcc:" header line). So
before any field turns its input into a value (which may query the database), `SafeInputMixin`
checks the raw text of every field:

- single-line fields (every widget but a <textarea>): no control character at all, CR, LF and
  tab included, nor the Unicode line and paragraph separators;
- multi-line fields (<textarea>: comments, notes, reasons): line breaks and tabs are fine, other
  control characters are not.

A field that fails gets a message next to it and is not cleaned further, so the form is invalid
and nothing is saved. A barcode box (`CodeField`) also takes the control characters a scanner
sends: GS1's group separator between a code's fields, and the CR, LF or tab that ends a scan
(its form judges those itself, e.g. "One code at a time"). Password boxes are left to Django, which refuses only the NUL a password
cannot hold. Every form and filter of the project uses the mixin (through `Form`, `ModelForm` or
a FilterSet whose Meta.form is `Form`); tests/test_control_characters.py checks that.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

from django import forms
from django.core.exceptions import ValidationError

NUL_MESSAGE = "Null characters are not allowed."  # Django's own words for CharField
SINGLE_LINE_MESSAGE = (
    "Use one line of plain text here: line breaks, tabs and other control characters "
    "(such as NUL) are not allowed."
)
MULTI_LINE_MESSAGE = (
    "Remove the control characters (such as NUL) from this text; line breaks and tabs are fine."
)
_MULTI_LINE_ALLOWED = frozenset("\t\n\r")
_LINE_SEPARATORS = frozenset("\u2028\u2029")


def control_character_problem(
    text: str, *, multiline: bool, accepted: frozenset[str] = frozenset()
) -> str | None:
    """The message for `text` if it holds a character its kind of field refuses, else None.
    `accepted`: control characters this field takes besides (never NUL)."""
    if "\x00" in text:
        return NUL_MESSAGE
    for ch in text:
        if ch in accepted or (multiline and ch in _MULTI_LINE_ALLOWED):
            continue
        if ch in _LINE_SEPARATORS or unicodedata.category(ch) == "Cc":
            return MULTI_LINE_MESSAGE if multiline else SINGLE_LINE_MESSAGE
    return None


def texts_in(value):
    """Every string in a value: a field's input (a string or a list of them) or a parsed JSON
    body (objects' values and lists, nested)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from texts_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from texts_in(item)


class SafeInputMixin:
    """Refuses control characters in every field's raw input before the field cleans it."""

    def _clean_fields(self):
        # The check comes first: a field's to_python may already query the database with what
        # was typed. Django's own loop then cleans the other fields; a refused one is hidden
        # from it for that loop, so it is not cleaned further.
        refused = set()
        for name, bf in self._bound_items():
            field = bf.field
            if isinstance(field.widget, forms.PasswordInput | forms.FileInput):
                continue
            multiline = isinstance(field.widget, forms.Textarea)
            accepted = getattr(field, "accepted_controls", frozenset())
            problems = {
                control_character_problem(text, multiline=multiline, accepted=accepted)
                for text in (*texts_in(bf.data), *texts_in(self._raw(bf.html_name)))
            } - {None}
            if problems:
                self.add_error(name, ValidationError(sorted(problems), code="control"))
                refused.add(name)
        if not refused:
            return super()._clean_fields()
        fields = self.fields
        self.fields = {name: field for name, field in fields.items() if name not in refused}
        try:
            return super()._clean_fields()
        finally:
            self.fields = fields

    def _raw(self, name):
        # What was sent, before the widget read it: a checkbox turns any text into True.
        if hasattr(self.data, "getlist"):
            return self.data.getlist(name)
        return self.data.get(name)


class CodeField(forms.CharField):
    """A box for a scanned or pasted barcode: takes GS1's group separator (GS, 0x1D) and the
    CR, LF and tab a scanner ends with, besides printable text; never NUL."""

    accepted_controls = frozenset("\x1d\r\n\t")


class Form(SafeInputMixin, forms.Form):
    pass


class ModelForm(SafeInputMixin, forms.ModelForm):
    pass
