"""Small helpers every app's views share: page parsing, error display, id lists, sign-in.

Presentation only; no business rule lives here.
"""

from __future__ import annotations

from functools import wraps

from csp.constants import SELF
from csp.decorators import csp_update
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import render

PAGE_SIZE = 50


def org_member_required(view):
    """Signed in and part of an organization (superusers without one see nothing here)."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.user.organization_id is None:
            raise PermissionDenied("Your account belongs to no organization.")
        return view(request, *args, **kwargs)

    return wrapper


def page_number(request) -> int:
    """The ?page= value; anything that is not a sensible page number means page 1."""
    try:
        return max(1, min(int(request.GET.get("page", "1")), 100_000))
    except ValueError:
        return 1


def page_of(qs, page: int, size: int = PAGE_SIZE):
    """One page of rows and whether another follows, without counting the whole table:
    fetching one row past the page answers that."""
    start = (page - 1) * size
    rows = list(qs[start : start + size + 1])
    return rows[:size], len(rows) > size


class SelectionTooLarge(Exception):
    """More items selected than one request may act on (settings.MAX_SELECTION)."""

    def __init__(self, count: int):
        super().__init__(f"{count} selected; at most {settings.MAX_SELECTION}.")
        self.count = count


def selected_ids(values) -> list[int]:
    """Integer ids from a form's repeated field; other values are ignored.

    More than settings.MAX_SELECTION values raise SelectionTooLarge (answered with a page that
    names the limit, by SelectionLimitMiddleware); nothing is silently dropped.
    """
    values = list(values)
    if len(values) > settings.MAX_SELECTION:
        raise SelectionTooLarge(len(values))
    ids = []
    for value in values:
        try:
            number = int(value)
        except (TypeError, ValueError):
            continue
        if 0 < number < 2**63:  # a primary key; anything else matches nothing
            ids.append(number)
    return ids


def selection_too_large(request, count: int | None = None):
    """The page for a selection over the limit; it names the limit. Nothing was changed."""
    return render(
        request,
        "selection_too_large.html",
        {"limit": settings.MAX_SELECTION, "count": count},
        status=400,
    )


class SelectionLimitMiddleware:
    """Turns SelectionTooLarge raised by any view into the page that names the limit."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, SelectionTooLarge):
            return selection_too_large(request, exception.count)
        return None


def add_form_errors(form, exc: ValidationError) -> None:
    """Show a service's ValidationError next to the fields it names (else on the form)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def flash_errors(request, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


# The camera scanner decodes with WebAssembly (zxing-wasm), which the Content-Security-Policy
# allows only through 'wasm-unsafe-eval'; only the pages that run the scanner get it.
scanner_csp = csp_update({"script-src": [SELF, "'wasm-unsafe-eval'"]})
