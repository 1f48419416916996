"""A form field for picking a holder (a distributor or rep) without listing every user.

It renders one text box. Without JavaScript it is a plain search: the person types a name or
username and submits; the server resolves the text to exactly one person the user may pick, or
puts the form back with a message naming a few matches. With static/js/holder_field.js the box
offers suggestions from the `accounts:holder_search` endpoint as the person types (the chosen
suggestion reads "Name (username)", which resolves exactly).

Drop it into a form like this::

    class TransferForm(forms.Form):
        recipient = HolderField(purpose=HolderPurpose.RECIPIENT, label="Send to")

        def __init__(self, *args, user, **kwargs):
            super().__init__(*args, **kwargs)
            self.fields["recipient"].set_user(user, exclude_id=user.pk)

Constructor arguments (all keyword-only):
    purpose      one of `HolderPurpose.ALL`: decides who may be picked (`holder_scope`).
    user         the person filling the form; may instead be given later with `set_user`.
    exclude_id   a user id never offered nor accepted (for example the sender).
    not_found    the message when the text matches nobody the user may pick.
    excluded     the message when the text names exactly the person left out (%(name)s),
                 rather than "nobody matches": they exist, they just cannot be picked here.
    excluded_self  the same, when the person left out is the one typing.
    plus any `forms.Field` argument (label, required, help_text, initial, ...).

A filter that holds only the person's `Actor` calls `set_actor(actor)` instead of `set_user`.
`widget.fixed_options` lists suggestions always offered (a subclass may accept such words).

`cleaned_data[name]` is the chosen `User`. Validation runs at most three small queries (the
exact match, the check for the person left out, the partial matches).
"""

from __future__ import annotations

import re

from django import forms
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from .models import User
from .policies import Actor
from .selectors import HolderPurpose, actor_for, holder_matches, holder_scope

_LABELLED = re.compile(r"\(([^()\s]+)\)\s*$")  # "Riley Rep (riley)" -> riley
SHOWN_MATCHES = 5


def holder_label(user: User) -> str:
    """The text a chosen holder shows in the box; it resolves back to exactly that person."""
    return f"{user.name} ({user.username})"


class HolderInput(forms.TextInput):
    """A search box with a <datalist> the script fills; plain text input without script."""

    def __init__(self, attrs=None):
        base = {"autocomplete": "off", "spellcheck": "false", "data-holder-input": ""}
        super().__init__({**base, **(attrs or {})})
        # Suggestions that are always offered (e.g. "Organization custody"); the script keeps
        # them, and the browser offers them even without script.
        self.fixed_options: list[str] = []

    def format_value(self, value):
        if isinstance(value, User):
            return holder_label(value)
        return super().format_value(value)

    def render(self, name, value, attrs=None, renderer=None):
        attrs = dict(attrs or {})
        list_id = f"{attrs.get('id') or self.attrs.get('id') or 'id_' + name}_options"
        attrs["list"] = list_id
        box = super().render(name, value, attrs, renderer)
        fixed = format_html_join(
            "", '<option value="{}" data-fixed></option>', ((o,) for o in self.fixed_options)
        )
        return box + format_html('<datalist id="{}">{}</datalist>', list_id, fixed)


class HolderField(forms.Field):
    widget = HolderInput
    default_error_messages = {
        "required": "Type a name or username.",
        "not_found": "Nobody you may pick here matches “%(text)s”.",
        "ambiguous": "“%(text)s” matches several people: %(names)s. Type more of the name, "
        "or pick one of them.",
        "excluded": "%(name)s cannot be picked here.",
        "excluded_self": "You cannot be picked here.",
    }

    def __init__(
        self,
        *,
        purpose: str,
        user: User | None = None,
        exclude_id: int | None = None,
        not_found: str | None = None,
        excluded: str | None = None,
        excluded_self: str | None = None,
        **kwargs,
    ):
        if purpose not in HolderPurpose.ALL:
            raise ValueError(f"Unknown holder purpose {purpose!r}")
        super().__init__(**kwargs)
        self.purpose = purpose
        if not_found:
            self.error_messages["not_found"] = not_found
        if excluded:
            self.error_messages["excluded"] = excluded
        if excluded_self:
            self.error_messages["excluded_self"] = excluded_self
        self.user = None
        self.actor = None
        self.exclude_id = None
        if user is not None:
            self.set_user(user, exclude_id=exclude_id)

    def set_user(self, user: User, *, exclude_id: int | None = None) -> None:
        """Whose picker this is; sets the endpoint the script asks for suggestions."""
        self.user = user
        self._set_scope(exclude_id)

    def set_actor(self, actor: Actor, *, exclude_id: int | None = None) -> None:
        """As `set_user`, for code that holds the person's `Actor` snapshot rather than the
        user (the unit filters)."""
        self.actor = actor
        self._set_scope(exclude_id)

    def _set_scope(self, exclude_id: int | None) -> None:
        self.exclude_id = exclude_id
        query = f"?purpose={self.purpose}"
        if exclude_id is not None:
            query += f"&exclude={exclude_id}"
        self.widget.attrs["data-holder-url"] = reverse("accounts:holder_search") + query

    def to_python(self, value):
        # Control characters never appear in a name, and PostgreSQL refuses a NUL outright (a
        # 500): drop them, as the type-ahead endpoint does.
        printable = "".join(ch for ch in str(value or "") if ch.isprintable() or ch.isspace())
        text = " ".join(printable.split())[:200]
        if not text:
            return None
        if self.user is None and self.actor is None:
            raise RuntimeError("HolderField needs set_user(user) before validating.")
        actor = self.actor or actor_for(self.user)
        scope = holder_scope(actor=actor, purpose=self.purpose, exclude_id=self.exclude_id)
        labelled = _LABELLED.search(text)
        exact = Q(username__iexact=labelled.group(1)) if labelled else Q(username__iexact=text)
        if not labelled:
            exact |= Q(display_name__iexact=text)
            if text.isdigit() and len(text) < 19:
                exact |= Q(pk=int(text))  # a plain form post of an id, as a <select> sent
        found = list(scope.filter(exact).order_by("pk")[:2])
        if len(found) == 1:
            return found[0]
        if not found:
            self._refuse_if_excluded(actor, exact)
        if not found and (labelled or text.isdigit()):
            # A chosen label or an id names one person exactly; never guess another in its place.
            raise forms.ValidationError(
                self.error_messages["not_found"], code="not_found", params={"text": text}
            )
        matches = holder_matches(
            actor=actor,
            purpose=self.purpose,
            query=text,
            exclude_id=self.exclude_id,
            limit=SHOWN_MATCHES + 1,
        )
        if len(matches) == 1 and not found:
            return matches[0]
        if not matches:
            raise forms.ValidationError(
                self.error_messages["not_found"], code="not_found", params={"text": text}
            )
        names = ", ".join(holder_label(u) for u in matches[:SHOWN_MATCHES])
        if len(matches) > SHOWN_MATCHES:
            names += ", …"
        raise forms.ValidationError(
            self.error_messages["ambiguous"],
            code="ambiguous",
            params={"text": text, "names": names},
        )

    def _refuse_if_excluded(self, actor: Actor, exact: Q) -> None:
        """The text names exactly the person left out (the units' own holder, say, after
        someone else handed the units to them since the page loaded): say that, not "nobody
        matches". One small query, only when nothing else matched exactly."""
        if self.exclude_id is None:
            return
        scope = holder_scope(actor=actor, purpose=self.purpose)
        person = scope.filter(exact, pk=self.exclude_id).first()
        if person is not None and person.pk == actor.id:
            raise forms.ValidationError(self.error_messages["excluded_self"], code="excluded")
        if person is not None:
            raise forms.ValidationError(
                self.error_messages["excluded"], code="excluded", params={"name": person.name}
            )
