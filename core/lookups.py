"""`field__any_of=ids`: membership in a list of integer ids, bound as one array parameter on
PostgreSQL.

A distributor's scope names every rep of her group (278 people in a full-size organization).
Written as `field__in=scope` each id is its own parameter, and a transfers page that tests four
columns in three queries bound about 3,500 of them per request: Django built, psycopg sent and
PostgreSQL parsed each one. `field = ANY(%s::bigint[])` (the field's own integer type) binds
the list once and plans the same (PostgreSQL turns an IN list into `= ANY(ARRAY[...])`
itself). On other databases, SQLite here, it is an ordinary IN list.

Integer fields and foreign keys to them only: a cast to `varchar(n)[]` would cut longer
strings to n characters and match their prefixes, so anything else is refused (use `__in`).
"""

from __future__ import annotations

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Field, ForeignObject, IntegerField, Lookup, Q, QuerySet
from django.db.models.lookups import In
from django.db.models.sql.where import WhereNode


class AnyOf(Lookup):
    lookup_name = "any_of"
    prepare_rhs = False

    def get_prep_lookup(self):
        if hasattr(self.rhs, "resolve_expression"):
            raise TypeError("any_of takes a collection of ids, not a query: use __in")
        field = self.lhs.output_field
        if not isinstance(getattr(field, "target_field", field), IntegerField):
            raise TypeError(f"any_of compares integer ids, not {type(field).__name__}: use __in")
        values = sorted({v for v in self.rhs if v is not None})
        return [field.get_prep_value(v) for v in values]

    def as_sql(self, compiler, connection):
        return compiler.compile(In(self.lhs, self.rhs))

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        if len(self.rhs) == 1:
            # A plain equality, which PostgreSQL merges with an equal one (see `narrowed`).
            return f"{lhs} = %s", (*lhs_params, self.rhs[0])
        db_type = self.lhs.output_field.cast_db_type(connection)
        return f"{lhs} = ANY(%s::{db_type}[])", (*lhs_params, self.rhs)


# A foreign key looks its lookups up on ForeignObject and below only, so it is named too.
Field.register_lookup(AnyOf)
ForeignObject.register_lookup(AnyOf)


def narrowed(qs: QuerySet, condition: Q) -> QuerySet:
    """`qs.filter(condition)` for a condition `field=value`, with every `field__any_of=ids` of
    `qs`'s own table narrowed to that value (nothing, if it is not among the ids).

    The same rows: where field = value holds, "field in ids" and "field in ids ∩ {value}" are
    the same test. But PostgreSQL multiplies "custodian in (dana, riley)" by "custodian =
    riley" as if the two were independent, and expected 1 of riley's 1,095 usable units at full
    scale. Narrowed to one id the scope becomes a second "custodian = riley", which PostgreSQL
    counts once (it expects 48). Used for `core.keyset`'s partitions, one holder each."""
    filtered = qs.filter(condition)
    child = condition.children[0] if len(condition.children) == 1 else None
    if condition.negated or not isinstance(child, tuple):
        return filtered
    name, value = child
    # An id only (a model instance, a string or an expression would compare unequal to
    # every id and empty the read): anything else is read as given.
    if "__" in name or type(value) is not int:
        return filtered
    try:
        column = qs.model._meta.get_field(name).column
    except FieldDoesNotExist:  # "pk" and the like
        return filtered
    _narrow(filtered.query.where, filtered.query.base_table, column, value)
    return filtered


def _narrow(node: WhereNode, alias: str, column: str, value) -> None:
    for i, child in enumerate(node.children):
        if isinstance(child, WhereNode):  # cloned with the query: ours to change
            _narrow(child, alias, column, value)
        elif (
            isinstance(child, AnyOf)
            and getattr(child.lhs, "alias", None) == alias
            and child.lhs.target.column == column
        ):
            # Lookups are shared between clones: replace it, never change it in place.
            node.children[i] = AnyOf(child.lhs, [v for v in child.rhs if v == value])
