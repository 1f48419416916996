"""The pages' one rule for typed text (core.forms.control_character_problem), for JSON bodies
and query parameters that API serializers read.

Every serializer the API reads a request with is an `InputSerializer`. Before any field turns
what was sent into a value, it checks every string in each field's raw input, as
core.forms.SafeInputMixin does for a form:

- a plain `CharField` (and every other field: an id or a date sent as a string) is single-line,
  so CR, LF, tabs and every other control character are refused;
- `TextField` is what a page takes in a <textarea> (an event's notes, a recall's reason): line
  breaks and tabs are fine, other control characters are not;
- `CodeField` is a scanned barcode: it also takes GS1's group separator and a scanner's line
  ending, as the pages' barcode boxes do.

A field that fails is a 400 naming it (api/errors.py), before anything is looked up or saved.
tests/api/test_api_control_characters.py checks that every serializer used for input is one.
"""

from __future__ import annotations

from collections.abc import Mapping

from rest_framework import serializers
from rest_framework.fields import empty

from core import forms as core_forms
from core.forms import control_character_problem


class TextField(serializers.CharField):
    """Multi-line text: what a page takes in a <textarea>."""

    multiline = True


class CodeField(serializers.CharField):
    """A scanned or pasted barcode: the pages' CodeField's characters."""

    accepted_controls = core_forms.CodeField.accepted_controls


def _keys(value):
    """Every key of the objects in a JSON value."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield str(key)
            yield from _keys(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _keys(item)


def _kind(field) -> serializers.Field:
    """The field whose kind judges each item: a list's or a dict's child."""
    while isinstance(field, serializers.ListField | serializers.DictField):
        field = field.child
    return field


def field_problems(field, raw) -> list[str]:
    """The messages for what `field` was sent, if it holds a character its kind refuses."""
    kind = _kind(field)
    multiline = getattr(kind, "multiline", False)
    accepted = getattr(kind, "accepted_controls", frozenset())
    # An object's keys are names (a unit id), never text: single-line whatever its values are.
    problems = {control_character_problem(key, multiline=False) for key in _keys(raw)}
    problems.update(
        control_character_problem(text, multiline=multiline, accepted=accepted)
        for text in core_forms.texts_in(raw)
    )
    problems.discard(None)
    return sorted(problems)


# The base of every serializer that reads a request body or query string. (A comment, not a
# docstring: drf-spectacular would print a docstring as each request body's description.)
class InputSerializer(serializers.Serializer):
    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            errors = {}
            for field in self._writable_fields:
                if isinstance(field, serializers.BaseSerializer):
                    continue  # a nested InputSerializer checks its own fields
                raw = self._raw(field, data)
                if raw is empty:
                    continue
                problems = field_problems(field, raw)
                if problems:
                    errors[field.field_name] = problems
            if errors:
                # Like a form: judged on the raw text, before any field turns it into a value.
                raise serializers.ValidationError(errors, code="control")
        return super().to_internal_value(data)

    @staticmethod
    def _raw(field, data):
        # A query string may repeat a parameter; the field reads one of them, so check all.
        if hasattr(data, "getlist") and field.field_name in data:
            return data.getlist(field.field_name)
        return field.get_value(data)
