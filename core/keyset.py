"""Keyset (cursor) pagination for list pages: never OFFSET, never COUNT.

A page is "the next `size` rows after this sort key" (or before it, going back). The cursor in
the URL is the sort key of the last row shown (`?after=`) or of the first (`?before=`), so any
page can be bookmarked, and rows added or removed between clicks never make a page skip or
repeat a row: the next page starts strictly after the row the person last saw.

Usage in a view::

    page = keyset_page(request, qs, [("expiration_date", "asc"), ("pk", "asc")])
    ... render rows=page.rows, page=page ...
    {% include "includes/_keyset_pager.html" with page=page request=request only %}

The ordering must end with the primary key, so the key is unique and the order total. NULLs
of a nullable field sort after every value (NULLS LAST) on every database. Field paths may
follow relations (``"event__starts_at"``); read them through `select_related` so taking the
cursor from the last row costs no query.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import decimal
import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, ValidationError
from django.db.models import F, Q, QuerySet

from core.lookups import narrowed
from core.web import PAGE_SIZE

BAD_CURSOR = (
    "That page link is broken or out of date (its position could not be read); "
    "showing the first page instead."
)
_MAX_CURSOR_LENGTH = 1000


class InvalidCursor(ValueError):
    """A cursor that cannot be read back into this list's sort key."""


@dataclass(frozen=True)
class Key:
    """One column of the sort key, in the direction the list shows it."""

    field: str
    descending: bool = False

    def reversed(self) -> Key:
        return Key(self.field, not self.descending)


@dataclass
class KeysetPage:
    rows: list
    next_cursor: str | None
    previous_cursor: str | None
    is_first_page: bool
    # Set when the request's cursor could not be read: the first page is shown instead.
    error: str = ""

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_previous(self) -> bool:
        return self.previous_cursor is not None


def _parse_ordering(ordering: Iterable) -> tuple[Key, ...]:
    keys = []
    for item in ordering:
        if isinstance(item, Key):
            keys.append(item)
            continue
        field, direction = item
        if direction not in ("asc", "desc"):
            raise ImproperlyConfigured(f"Sort direction must be 'asc' or 'desc', not {direction!r}")
        keys.append(Key(field, direction == "desc"))
    if not keys or keys[-1].field not in ("pk", "id"):
        raise ImproperlyConfigured("A keyset ordering must end with the primary key (pk).")
    return tuple(keys)


def _model_field(model, path: str):
    """The model field at the end of a `a__b__c` path, or None for an annotation."""
    parts = path.split("__")
    field = None
    for i, part in enumerate(parts):
        try:
            field = model._meta.pk if part == "pk" else model._meta.get_field(part)
        except FieldDoesNotExist:
            return None
        if i < len(parts) - 1:
            model = field.related_model
            if model is None:
                return None
    return field


class Keyset:
    """A list's sort key and page size: turns a queryset and a cursor into one page."""

    def __init__(self, ordering: Iterable, *, size: int = PAGE_SIZE):
        self.keys = _parse_ordering(ordering)
        self.size = size

    # Cursors -----------------------------------------------------------------------------

    def _value_of(self, row, path: str):
        if isinstance(row, dict):
            return row[path]
        value = row
        for part in path.split("__"):
            if value is None:
                return None
            value = getattr(value, part)
        return value

    def cursor_for(self, row) -> str:
        values = []
        for key in self.keys:
            value = self._value_of(row, key.field)
            if isinstance(value, datetime.date | datetime.time | decimal.Decimal):
                value = value.isoformat() if not isinstance(value, decimal.Decimal) else str(value)
            values.append(value)
        raw = json.dumps(values, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def decode(self, model, cursor: str) -> list:
        """The sort-key values a cursor carries, typed like the model's fields.

        Raises InvalidCursor for anything that is not a cursor of this list.
        """
        if not cursor or len(cursor) > _MAX_CURSOR_LENGTH:
            raise InvalidCursor(BAD_CURSOR)
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            values = json.loads(raw)
        except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
            raise InvalidCursor(BAD_CURSOR) from exc
        if not isinstance(values, list) or len(values) != len(self.keys):
            raise InvalidCursor(BAD_CURSOR)
        typed = []
        for key, value in zip(self.keys, values, strict=True):
            if not (value is None or isinstance(value, str | int | float)) or isinstance(
                value, bool
            ):
                raise InvalidCursor(BAD_CURSOR)
            # No sort key holds NUL (PostgreSQL text cannot): sending one would be a 500.
            if isinstance(value, str) and "\x00" in value:
                raise InvalidCursor(BAD_CURSOR)
            field = _model_field(model, key.field)
            if field is not None:
                if value is None and not field.null:
                    raise InvalidCursor(BAD_CURSOR)
                if value is not None:
                    try:
                        value = field.to_python(value)
                    except (ValidationError, TypeError, ValueError, OverflowError) as exc:
                        raise InvalidCursor(BAD_CURSOR) from exc
                    if isinstance(value, int) and not -(2**63) <= value < 2**63:
                        raise InvalidCursor(BAD_CURSOR)
            typed.append(value)
        return typed

    # Queries -----------------------------------------------------------------------------

    def _nullable(self, model, path: str) -> bool:
        field = _model_field(model, path)
        return field is None or field.null

    def _order_by(self, model, keys: Sequence[Key], reverse: bool):
        exprs = []
        for key in keys:
            descending = key.descending != reverse
            # NULLS LAST when walking forward, so NULLS FIRST when walking back.
            nulls = {}
            if self._nullable(model, key.field):
                nulls = {"nulls_first": True} if reverse else {"nulls_last": True}
            expr = F(key.field)
            exprs.append(expr.desc(**nulls) if descending else expr.asc(**nulls))
        return exprs

    @staticmethod
    def _beyond(field: str, value, descending: bool, nulls_last: bool) -> Q:
        """Rows strictly past `value` in this column's walking order."""
        if value is None:
            # NULLs at the end: nothing lies past them; at the start: every value does.
            return Q(pk__in=[]) if nulls_last else Q(**{f"{field}__isnull": False})
        q = Q(**{f"{field}__{'lt' if descending else 'gt'}": value})
        return q | Q(**{f"{field}__isnull": True}) if nulls_last else q

    @staticmethod
    def _equal(field: str, value) -> Q:
        return Q(**{f"{field}__isnull": True}) if value is None else Q(**{field: value})

    def _chain(self, model, keys, values, reverse: bool) -> Q:
        """Rows strictly after the cursor on these columns (the usual keyset OR-chain)."""
        chain = Q(pk__in=[])
        prefix = Q()
        for key, value in zip(keys, values, strict=True):
            descending = key.descending != reverse
            nulls_last = self._nullable(model, key.field) and not reverse
            chain |= prefix & self._beyond(key.field, value, descending, nulls_last)
            prefix &= self._equal(key.field, value)
        return chain

    def _segments(self, model, values: list, reverse: bool) -> list[Q]:
        """The rows past the cursor, as one or two conditions to read in turn.

        Each condition starts with a plain range (or IS NULL) on the first column, so an index
        on it is range-scanned from the cursor on. "value > x OR value IS NULL" would not be:
        PostgreSQL then reads every row before the cursor, as OFFSET does. So a nullable first
        column splits into the dated rows and the NULL rows, read in walking order.
        """
        first, v0 = self.keys[0], values[0]
        field = first.field
        descending = first.descending != reverse
        ties = self._chain(model, self.keys[1:], values[1:], reverse)
        if v0 is None:
            within_nulls = Q(**{f"{field}__isnull": True}) & ties
            # Walking back (NULLs first), every dated row lies past the NULL rows.
            return [within_nulls, Q(**{f"{field}__isnull": False})] if reverse else [within_nulls]
        dated = Q(**{f"{field}__{'lte' if descending else 'gte'}": v0}) & (
            Q(**{f"{field}__{'lt' if descending else 'gt'}": v0}) | (Q(**{field: v0}) & ties)
        )
        if self._nullable(model, field) and not reverse:
            return [dated, Q(**{f"{field}__isnull": True})]
        return [dated]

    def _sort_key(self, reverse: bool):
        """The list's order in Python, for merging partitions read apart (NULLs last walking
        forward, first walking back, as `_order_by` asks the database)."""

        def compare(a, b) -> int:
            for key in self.keys:
                x, y = self._value_of(a, key.field), self._value_of(b, key.field)
                if x == y:
                    continue
                if x is None or y is None:
                    # NULLs sort last walking forward, first walking back.
                    return (1 if x is None else -1) * (-1 if reverse else 1)
                descending = key.descending != reverse
                return (1 if x > y else -1) * (-1 if descending else 1)
            return 0

        return functools.cmp_to_key(compare)

    def _read(self, qs, values, reverse: bool, partitions: Sequence[Q] = ()) -> list:
        """Up to size + 1 rows past the cursor; one query per segment, whatever the data.

        With `partitions` (conditions that together cover `qs`, such as one per holder), each
        is read on its own and the pages merged: "custodian IN (a, b) ORDER BY expiry" cannot
        walk the (custodian, expiry) index in order and sorts every row of both holders, while
        "custodian = a ORDER BY expiry LIMIT n" reads n index entries."""
        if partitions:
            rows = []
            for part in partitions:
                rows.extend(self._read(narrowed(qs, part), values, reverse))
            rows.sort(key=self._sort_key(reverse))
            return rows[: self.size + 1]
        model = qs.model
        order = self._order_by(model, self.keys, reverse=reverse)
        segments = self._segments(model, values, reverse) if values is not None else [Q()]
        rows: list = []
        for segment in segments:
            # A later segment lies wholly past an earlier one: once the page (plus the row that
            # says more follow) is full, it is not read at all.
            wanted = self.size + 1 - len(rows)
            if wanted <= 0:
                break
            rows.extend(qs.filter(segment).order_by(*order)[:wanted])
        return rows

    def page(
        self,
        qs: QuerySet,
        *,
        after: str | None = None,
        before: str | None = None,
        partitions: Sequence[Q] = (),
    ):
        """One page of `qs`: the first page, the page after `after`, or before `before`.

        Runs one query with LIMIT size + 1 (the extra row says whether more follow); two when
        the first sort column is nullable and the page may cross into (or out of) its NULLs.
        Raises InvalidCursor when the cursor given cannot be read.
        """
        model = qs.model
        if before:
            rows = self._read(qs, self.decode(model, before), True, partitions)
            at_start = len(rows) <= self.size
            rows = rows[: self.size][::-1]
            return KeysetPage(
                rows=rows,
                # The person came from the page that starts at `before`: it is still there.
                next_cursor=self.cursor_for(rows[-1]) if rows else None,
                previous_cursor=None if at_start else self.cursor_for(rows[0]),
                is_first_page=at_start,
            )
        rows = self._read(qs, self.decode(model, after) if after else None, False, partitions)
        more = len(rows) > self.size
        rows = rows[: self.size]
        # An empty page (a hand-made cursor past the end) offers only the way back to page 1.
        previous = self.cursor_for(rows[0]) if after and rows else None
        return KeysetPage(
            rows=rows,
            next_cursor=self.cursor_for(rows[-1]) if more else None,
            previous_cursor=previous,
            is_first_page=not after,
        )


def keyset_page(request, qs: QuerySet, ordering: Iterable, *, size: int = PAGE_SIZE, partitions=()):
    """The page of `qs` that the request's `?after=` / `?before=` cursor asks for.

    `partitions`: conditions that together cover `qs` (see `Keyset._read`), read apart and
    merged; a few at most, since each costs its own query. A cursor that cannot be read shows
    the first page and says so (never a 500).
    """
    keyset = Keyset(ordering, size=size)
    after = request.GET.get("after") or None
    before = request.GET.get("before") or None
    try:
        return keyset.page(qs, after=after, before=None if after else before, partitions=partitions)
    except InvalidCursor as exc:
        messages.error(request, str(exc))
        page = keyset.page(qs, partitions=partitions)
        page.error = str(exc)
        return page
