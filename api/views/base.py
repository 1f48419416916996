"""What every API view shares: the same scoped querysets as the pages, and one error shape."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from rest_framework import serializers
from rest_framework.views import APIView

from accounts.selectors import actor_for


class ApiView(APIView):
    """Authentication, the scope check, throttling and errors come from settings.REST_FRAMEWORK."""

    @property
    def actor(self):
        return actor_for(self.request.user)


def scoped_object(queryset, **lookup):
    """The object, looked up inside an already scoped queryset (`visible_to`): one outside the
    caller's scope is a 404, exactly like one that does not exist."""
    return get_object_or_404(queryset, **lookup)


def refuse_invalid_filter(filterset) -> None:
    """A filter that does not validate is a 400 naming the fields (the pages show nothing and
    say why; a program should be told)."""
    errors = {field: [str(e) for e in errs] for field, errs in filterset.errors.items()}
    raise serializers.ValidationError(errors or {"non_field_errors": ["The filter is not valid."]})


def refuse_invalid_form(form) -> None:
    """A page's form (the page's own input rules, its holder pickers and scoped choices) that
    does not validate: a 400 naming its fields in the form's words."""
    if form.is_valid():
        return
    fields = {
        ("non_field_errors" if name == "__all__" else name): list(errors)
        for name, errors in form.errors.items()
    }
    raise serializers.ValidationError(fields)
