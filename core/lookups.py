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

from django.db.models import Field, ForeignObject, IntegerField, Lookup
from django.db.models.lookups import In


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
        db_type = self.lhs.output_field.cast_db_type(connection)
        return f"{lhs} = ANY(%s::{db_type}[])", (*lhs_params, self.rhs)


# A foreign key looks its lookups up on ForeignObject and below only, so it is named too.
Field.register_lookup(AnyOf)
ForeignObject.register_lookup(AnyOf)
