"""The unit filters shared by the inventory list and the Mark Used Inventory screen.

FilterSets only narrow a queryset that `Unit.objects.visible_to(user)` already scoped. The
`custody` values are those of the README section "The custody filter", and depend on who is
looking.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.safestring import mark_safe

from accounts.models import User
from accounts.policies import (
    Actor,
    holder_ids_in_scope,
    own_holder_ids,
    pool_holder_ids,
    rep_holder_ids,
    usable_holder_ids,
)
from accounts.selectors import HolderPurpose
from core.forms import Form
from core.widgets import option_html

from .expiry import EXPIRY_CHOICES, expiry_q
from .forms import ORG, ORG_LABEL, CustodyField
from .models import Facility, Location, Product, UnitState

CUSTODY_LABELS = {
    "mine": "My Custody",
    "shared": "Shared by Distributor",
    "reps": "My Reps' Custody",
    "both": "Both",
}


# Shorter terms match only the start of a code: trigram indexes need three characters.
MIN_CONTAINS = 3
SHORT_SEARCH_NOTE = "Short searches match the start of a serial, lot or catalog number."


def custody_choices(actor: Actor) -> list[tuple[str, str]]:
    """The custody values this user may pick; none for admins (they narrow by custodian)."""
    if actor.is_rep:
        if actor.uses_pool:
            return [(v, CUSTODY_LABELS[v]) for v in ("mine", "shared", "both")]
        return [("mine", CUSTODY_LABELS["mine"])]
    if actor.is_distributor:
        return [(v, CUSTODY_LABELS[v]) for v in ("mine", "reps", "both")]
    return []


def usable_custody_choices(actor: Actor) -> list[tuple[str, str]]:
    """The custody values whose stock this person may use in their own events (Mark Used): of
    `custody_choices`, those whose holders `usable_holder_ids` covers. So a rep keeps every tab
    the pool gives her, and a distributor keeps only her own custody (her reps' trunks are
    never used silently on her events)."""
    usable = usable_holder_ids(actor=actor)
    return [
        (value, label)
        for value, label in custody_choices(actor)
        if (custody_holder_ids(actor, value) or frozenset()) <= usable
    ]


class HolderFilter(django_filters.Filter):
    """A holder typed into a search box (accounts.fields.HolderField), or organization custody."""

    field_class = CustodyField


def own_reps(actor: Actor) -> list[tuple[str, str]]:
    """A distributor's active assigned reps as (id, name) choices, by name: one small query,
    and no model instances (a big group has hundreds of reps, on every page's filter bar)."""
    if not actor.rep_ids:
        return []
    rows = (
        User.objects.filter(pk__any_of=actor.rep_ids, is_active=True)
        .order_by("display_name", "username")
        .values_list("pk", "display_name", "username")
    )
    return [(str(pk), display_name or username) for pk, display_name, username in rows]


def custody_holder_ids(actor: Actor, value: str) -> frozenset[int] | None:
    """Holder ids a custody value means for this user; None = no narrowing."""
    if not value:
        return None
    mine = own_holder_ids(actor=actor)
    if actor.is_rep:
        pool = pool_holder_ids(actor=actor)
        return {"mine": mine, "shared": pool, "both": mine | pool}[value]
    if actor.is_distributor:
        reps = rep_holder_ids(actor=actor)
        return {"mine": mine, "reps": reps, "both": mine | reps}[value]
    return None


class UnitFilter(django_filters.FilterSet):
    class Meta:
        form = Form  # the one rule for typed text (core.forms)

    q = django_filters.CharFilter(method="filter_search", label="Search", max_length=100)
    custody = django_filters.ChoiceFilter(
        method="filter_custody", label="Custody", empty_label="All I can see"
    )
    rep = django_filters.ChoiceFilter(method="filter_rep", label="Rep", empty_label="All my reps")
    # Admins narrow by any holder of the organization: a type-ahead, never a list of them all.
    custodian = HolderFilter(
        method="filter_custodian",
        label="Custodian",
        purpose=HolderPurpose.CUSTODIAN,
        allow_org=True,
    )
    state = django_filters.ChoiceFilter(choices=UnitState.choices, empty_label="Any state")
    product_line = django_filters.ChoiceFilter(
        field_name="product__product_line", label="Product line", empty_label="Any product line"
    )
    facility = django_filters.ModelChoiceFilter(
        queryset=Facility.objects.none(), empty_label="Any facility", label="Sold to facility"
    )
    location = django_filters.ModelChoiceFilter(
        queryset=Location.objects.none(), empty_label="Any location"
    )
    expiry = django_filters.ChoiceFilter(
        choices=EXPIRY_CHOICES, method="filter_expiry", label="Expiry", empty_label="Any expiry"
    )

    def __init__(
        self,
        data=None,
        *args,
        actor: Actor,
        product_lines=(),
        for_use: bool = False,
        own_label: str = "",
        **kwargs,
    ):
        """`for_use`: the Mark Used screen, which lists what `actor` (the event's representative)
        may use: only the custody values whose stock is usable, no state, rep or custodian
        narrowing. `own_label` renames "My Custody" for someone looking on another's behalf."""
        self.note = ""
        self.search_note = ""  # set by a search that matched only the start of codes
        # Set by a search whose own index finds its few units (an exact code, or "contains"):
        # the list then reads its whole scope in one query (see `list_partitions`).
        self.selective_search = False
        if (
            data is not None
            and actor.is_rep
            and not actor.uses_pool
            and data.get("custody") in ("shared", "both")
        ):
            # A bookmark from while pooling was on: show the rep's own stock and say why,
            # rather than an empty list.
            data = data.copy()
            data["custody"] = "mine"
            self.note = (
                "Access Distributor's Inventory is off for your group, so only your own custody "
                "is shown."
            )
        super().__init__(data, *args, **kwargs)
        self.actor = actor
        f = self.filters
        # What the queryset given is already narrowed to (Unit.visible_to, or what the
        # representative may use on Mark Used).
        self._scope_ids = (
            usable_holder_ids(actor=actor) if for_use else holder_ids_in_scope(actor=actor)
        )
        choices = usable_custody_choices(actor) if for_use else custody_choices(actor)
        if own_label:
            choices = [(v, own_label if v == "mine" else label) for v, label in choices]
        f["custody"].extra["choices"] = choices
        if actor.is_distributor and not for_use:
            # A distributor's own reps: a short list, bounded by the size of her group.
            f["rep"].extra["choices"] = own_reps(actor)
        f["product_line"].extra["choices"] = [(p, p) for p in product_lines]
        f["location"].queryset = Location.objects.offered_to(actor)
        if not for_use:
            f["facility"].queryset = Facility.objects.filter(organization_id=actor.organization_id)
        if for_use:
            # Mark Used lists stock to use: "sold to facility" narrows nothing there.
            for name in ("state", "rep", "custodian", "facility"):
                del self.filters[name]
        if not actor.is_distributor:
            self.filters.pop("rep", None)
        if not actor.is_admin:
            self.filters.pop("custodian", None)
        if not choices:
            del self.filters["custody"]

    @property
    def form(self):
        form = super().form
        for field in form.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)
        if "custodian" in form.fields:
            form.fields["custodian"].set_actor(self.actor)
            form.fields["custodian"].widget.attrs.setdefault(
                "placeholder", f"Name, username or {ORG_LABEL}"
            )
        if "custody" in form.fields and self.actor.is_rep and not self.actor.uses_pool:
            form.fields["custody"].error_messages["invalid_choice"] = (
                "Shared by Distributor appears only while your distributor has Access "
                "Distributor's Inventory on."
            )
        return form

    @property
    def narrowing_fields(self) -> list[dict]:
        """The form's fields other than search and custody, for the filter bar: each with its
        <select> options as one escaped string (`options_html`) when it is a list, None for
        any other input. A model list is read as (pk, name) pairs, one query and no model
        instances: the organization's locations and facilities run to thousands of options,
        and a template (or a widget) per option was most of these pages' time."""
        form = self.form
        items = []
        for name in form.fields:
            if name in ("q", "custody"):
                continue
            bound = form[name]
            field = bound.field
            options = None
            if isinstance(field.widget, forms.Select):
                current = "" if bound.value() is None else str(bound.value())
                if isinstance(field, forms.ModelChoiceField):
                    pairs = [("", field.empty_label or "")]
                    pairs += field.queryset.values_list("pk", "name")
                else:
                    pairs = field.choices
                options = mark_safe(
                    "".join(option_html(value, label, current) for value, label in pairs)
                )
            items.append({"field": bound, "options_html": options})
        return items

    def error_messages(self) -> list[str]:
        """Each invalid filter's errors, named after the filter ("Custody: ...")."""
        form = self.form
        return [
            f"{form.fields[name].label}: {error}" if name in form.fields else error
            for name, errors in self.errors.items()
            for error in errors
        ]

    def filter_queryset(self, queryset):
        # Consumed and adjusted-away units keep their history but leave the working list,
        # unless someone asks for them by state.
        qs = super().filter_queryset(queryset)
        if "state" in self.filters and not self.form.cleaned_data.get("state"):
            qs = qs.exclude(state=UnitState.INACTIVE)
        return qs

    def filter_search(self, qs, name, value):
        """Three steps, each served by an index, so no search walks the organization's units:

        1. An exact serial or lot, else an exact catalog number (any case): b-tree lookups.
           When any unit in the scope matches exactly, those are the result.
        2. A term of 1-2 characters: the start of a serial, lot or catalog number (b-tree
           pattern indexes, inventory migration 0010). Trigram indexes cannot serve so short a
           term, and "contains" would read every unit; the page says so (`search_note`).
        3. Otherwise "contains" in serial or lot (trigram indexes, migration 0005) or in a
           product's catalog number or description (products are few: matched first).
        """
        value = value.strip()
        if not value:
            return qs
        products = Product.objects.filter(organization_id=self.actor.organization_id)
        exact_products = list(
            products.alias(folded=Lower("catalog_number"))
            .filter(folded=value.lower())
            .values_list("pk", flat=True)
        )
        # Serial or lot first, then the catalog number, each alone: one condition per query
        # lets PostgreSQL read it from its own index (a catalog number's units in list order
        # come from the (product, expiration_date, id) index), where an OR of them would walk
        # the organization's units in expiry order.
        exact_steps = [Q(serial_number__iexact=value) | Q(lot_number__iexact=value)]
        if exact_products:
            exact_steps.append(Q(product_id__in=exact_products))
        for exact in exact_steps:
            if qs.filter(exact).exists():
                self.selective_search = True
                return qs.filter(exact)
        if len(value) < MIN_CONTAINS:
            self.search_note = SHORT_SEARCH_NOTE
            matched = products.filter(catalog_number__istartswith=value)
            codes = Q(serial_number__istartswith=value) | Q(lot_number__istartswith=value)
        else:
            self.selective_search = True
            matched = products.filter(
                Q(catalog_number__icontains=value) | Q(description__icontains=value)
            )
            codes = Q(lot_number__icontains=value) | Q(serial_number__icontains=value)
        product_ids = list(matched.values_list("pk", flat=True))
        return qs.filter(Q(product_id__in=product_ids) | codes if product_ids else codes)

    def filter_custody(self, qs, name, value):
        ids = custody_holder_ids(self.actor, value)
        if ids is None or ids == self._scope_ids:
            # The whole scope the queryset already has: a second "custodian IN" would add
            # nothing but make PostgreSQL misjudge how many rows match (and sort them all).
            return qs
        rest = self._scope_ids - ids if self._scope_ids is not None else None
        if rest is not None and ids <= self._scope_ids and len(rest) < len(ids):
            # A distributor's reps are her whole scope but herself. PostgreSQL takes two
            # "custodian IN (hundreds)" lists as independent, and expected 255 of 71,000 units
            # at full scale: it sorted them all (300-500 ms). Leaving out the few others
            # keeps the scope's estimate, so it walks the expiry index for one page (2-7 ms).
            return qs.exclude(custodian_id__any_of=rest)
        return qs.filter(custodian_id__any_of=ids)

    def filter_rep(self, qs, name, value):
        return qs.filter(custodian_id=int(value)) if value else qs

    def filter_custodian(self, qs, name, value):
        if value == ORG:
            return qs.filter(custodian__isnull=True)
        return qs.filter(custodian_id=value.pk) if value else qs

    def filter_expiry(self, qs, name, value):
        return qs.filter(expiry_q(value, today=timezone.localdate())) if value else qs


def custody_tabs(params, filterset: UnitFilter) -> list[dict]:
    """The filterset's custody choices as links that keep the other filters (bookmarkable)."""
    if "custody" not in filterset.filters:
        return []
    # The filter's own data: a custody value it corrected (pooling off) marks the right tab.
    current = filterset.data.get("custody", "") if filterset.data is not None else ""
    tabs = []
    # "All" (no custody narrowing) is a tab too, so the default view is one that is marked.
    for value, label in [("", "All"), *filterset.filters["custody"].extra["choices"]]:
        query = params.copy()
        query["custody"] = value
        if not value:
            del query["custody"]
        for stale in ("page", "after", "before"):  # a new filter starts at page 1
            query.pop(stale, None)
        tabs.append(
            {"value": value, "label": label, "query": query.urlencode(), "active": value == current}
        )
    return tabs


def product_lines(organization_id: int) -> list[str]:
    return list(
        Product.objects.filter(organization_id=organization_id)
        .exclude(product_line="")
        .values_list("product_line", flat=True)
        .distinct()
        .order_by("product_line")
    )
