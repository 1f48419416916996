"""Which tables belong to an organization, and whether any row points across organizations.

The rule (README, "Ten organizations on one cluster"): no row or foreign key crosses
organizations, so the data could be distributed by organization (Citus) without a redesign.
This reads the models, not a hand-kept list:

- a table is organization-scoped when it has an `organization` column, or a required foreign
  key to a scoped table (its owner: a transfer line's transfer, a comment's event); its
  organization is then its owner's;
- every foreign key between two scoped tables is checked row by row: the organization on both
  ends must agree (`crossings`);
- `citus_plan` says what distributing by organization_id would take: reference tables, the
  scoped tables that need an organization_id column of their own, and the foreign keys that
  would become composite (organization_id, x_id).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db import connection

OUR_APPS = ("accounts", "jobs", "inventory", "events", "api")


def _models():
    return [
        m
        for label in OUR_APPS
        for m in apps.get_app_config(label).get_models(include_auto_created=True)
    ]


def has_org_column(model) -> bool:
    return any(f.name == "organization" for f in model._meta.concrete_fields)


def scoped_models() -> dict[type, object]:
    """Scoped model -> its owner foreign key (None when it has its own organization column)."""
    models = _models()
    owner: dict[type, object] = {m: None for m in models if has_org_column(m)}
    grew = True
    while grew:
        grew = False
        for m in models:
            if m in owner:
                continue
            for f in m._meta.concrete_fields:
                if f.is_relation and not f.null and f.related_model in owner:
                    owner[m] = f
                    grew = True
                    break
    return owner


def _org_expr(model, alias: str, owner, joins: list[str]) -> str:
    """SQL for the row's organization, joining up its owners where it has no column."""
    fk = owner[model]
    if fk is None:
        return f"{alias}.organization_id"
    parent = fk.related_model
    nxt = f"{alias}o"
    joins.append(
        f"JOIN {parent._meta.db_table} {nxt} "
        f"ON {nxt}.{fk.target_field.column} = {alias}.{fk.column}"
    )
    return _org_expr(parent, nxt, owner, joins)


@dataclass(frozen=True)
class Link:
    table: str
    column: str
    target: str
    owner: bool  # the key that gives the row its organization

    @property
    def name(self) -> str:
        return f"{self.table}.{self.column} -> {self.target}"


def links() -> list[tuple[Link, str]]:
    """Every foreign key between scoped tables, with SQL counting rows that cross."""
    owner = scoped_models()
    out = []
    for m in owner:
        for f in m._meta.concrete_fields:
            if not f.is_relation or f.related_model not in owner:
                continue
            link = Link(m._meta.db_table, f.column, f.related_model._meta.db_table, owner[m] is f)
            if link.owner:
                out.append((link, ""))  # the row's organization is its owner's, by definition
                continue
            joins: list[str] = []
            mine = _org_expr(m, "c", owner, joins)
            theirs = _org_expr(f.related_model, "p", owner, joins)
            sql = (
                f"SELECT count(*) FROM {m._meta.db_table} c "
                f"JOIN {f.related_model._meta.db_table} p "
                f"ON p.{f.target_field.column} = c.{f.column} {' '.join(joins)} "
                f"WHERE {mine} <> {theirs}"
            )
            out.append((link, sql))
    return out


def crossings(cursor=None) -> dict[str, int]:
    """Foreign key -> rows whose two ends are in different organizations (all 0 is right)."""
    found = {}
    with connection.cursor() as cur:
        for link, sql in links():
            if not sql:
                continue
            (cursor or cur).execute(sql)
            found[link.name] = (cursor or cur).fetchone()[0]
    return found


def citus_plan() -> dict[str, list[str]]:
    owner = scoped_models()
    scoped_tables = {m._meta.db_table for m in owner}
    reference = sorted(
        {m._meta.db_table for m in _models()} - scoped_tables
        | {"accounts_organization", "accounts_user"}
    )
    needs_column = sorted(m._meta.db_table for m, fk in owner.items() if fk is not None)
    composite = sorted(
        link.name
        for link, _ in links()
        if link.target not in reference and link.table not in reference
    )
    return {
        "reference tables": reference,
        "scoped tables that need their own organization_id": needs_column,
        "foreign keys that become (organization_id, x_id)": composite,
    }
