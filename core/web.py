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


# What a page showed of the units it acts on: one hidden field `seen`, "id:sequence" pairs
# joined by commas (README, "Stale pages"). One field, not one per unit, so a full selection
# stays within DATA_UPLOAD_MAX_NUMBER_FIELDS.
SEEN_FIELD = "seen"


def encode_seen(pairs) -> str:
    """`seen`'s value for (unit id, ledger sequence) pairs."""
    return ",".join(f"{pk}:{seq}" for pk, seq in pairs)


def decode_seen(value: str) -> dict[int, int]:
    """The (unit id: sequence) pairs of a `seen` value; a part that is not one is ignored (the
    unit then counts as not shown). At most settings.MAX_SELECTION pairs are read."""
    seen = {}
    for part in (value or "").split(",")[: settings.MAX_SELECTION]:
        pk, _, seq = part.strip().partition(":")
        digits = pk.isascii() and pk.isdigit() and seq.isascii() and seq.isdigit()
        if digits and 0 < int(pk) < 2**63 and int(seq) < 2**31:
            seen[int(pk)] = int(seq)
    return seen


NOT_SEEN = (
    "Nothing was done: this form did not say how the units looked when the page was drawn. "
    "Check them again below and resubmit."
)


def seen_for(data, ids) -> dict[int, int] | None:
    """The sequences a page's form showed for the units `ids` it acts on, or None when it
    leaves one out (a page from before this rule, a hand-made request): the view then acts on
    nothing and says NOT_SEEN, as for a unit changed since (README, "Stale pages")."""
    seen = decode_seen(data.get(SEEN_FIELD, ""))
    if any(pk not in seen for pk in ids):
        return None
    return seen


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
