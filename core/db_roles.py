"""The application's own PostgreSQL role: data rights only (README, "Production").

The schema's owner runs migrations; the app servers and job workers connect as a second role
that can read and write rows but cannot change the schema, and can only read and append to the
append-only tables (the custody ledger), so it cannot switch the ledger's trigger off.
"""

from collections.abc import Sequence

from django.db import transaction
from psycopg import sql

TABLE_RIGHTS = sql.SQL("SELECT, INSERT, UPDATE, DELETE")
APPEND_ONLY_RIGHTS = ("SELECT", "INSERT")


class RoleError(Exception):
    """The role cannot be made an app role safely; the message says what to do."""


def grant_app_role(
    connection,
    *,
    role: str,
    password: str | None,
    append_only: Sequence[str],
    keep_password: bool = False,
) -> list[str]:
    """Give `role` the app's data rights in the current schema, creating it if missing.

    Runs on `connection`, which must be the schema owner's (the owner of the tables), in one
    transaction. Afterwards `role` can log in (with `password`, when one is given, unless
    `keep_password` and the role existed), SELECT,
    INSERT, UPDATE and DELETE on every table, use every sequence, and only SELECT and INSERT on
    the `append_only` tables; it owns nothing and has no CREATE on the schema, so it cannot
    ALTER, DROP or TRUNCATE a table or disable a trigger. Tables and sequences the owner
    creates later (new migrations) get the same data rights through ALTER DEFAULT PRIVILEGES.
    A re-run puts every right back to exactly this, so it also undoes a hand-made GRANT.

    Returns lines saying what it did. Raises RoleError, changing nothing, when the database is
    not PostgreSQL, when `role` is the connection's own role, a superuser, a member of the
    owner role or the owner of anything here, when a new role has no password, or when the
    role could still create objects in the schema afterwards (through PUBLIC).
    """
    if connection.vendor != "postgresql":
        raise RoleError("Database roles need PostgreSQL.")
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        raw = cursor.cursor

        def run(statement: sql.Composable, params=None):
            raw.execute(statement, params)

        raw.execute("SELECT current_user, current_schema(), current_database()")
        owner, schema, database = raw.fetchone()
        if role == owner:
            raise RoleError(
                f"This connection is {role!r} itself. Run this as the owner of the tables "
                "(DATABASE_OWNER_URL), not as the app role."
            )
        raw.execute(
            "SELECT rolsuper OR rolbypassrls, pg_has_role(oid, %s, 'MEMBER') FROM pg_roles"
            " WHERE rolname = %s",
            [owner, role],
        )
        found = raw.fetchone()
        app, done = sql.Identifier(role), []
        if found is None:
            if not password:
                raise RoleError(
                    f"Role {role!r} does not exist; give it a password to create it "
                    "(DATABASE_APP_PASSWORD, or the password in DATABASE_URL)."
                )
            run(
                sql.SQL(
                    "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS"
                    " PASSWORD {}"
                ).format(app, sql.Literal(password))
            )
            done.append(f"Created role {role}.")
        else:
            powerful, member = found
            if powerful:
                raise RoleError(f"Role {role!r} is a superuser or bypasses row security.")
            if member:
                raise RoleError(
                    f"Role {role!r} is a member of {owner!r} and would have its rights: "
                    f"REVOKE {owner} FROM {role}."
                )
            raw.execute(
                "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner"
                " WHERE r.rolname = %s",
                [role],
            )
            if raw.fetchone()[0]:
                raise RoleError(
                    f"Role {role!r} owns tables here (it ran migrations before). As a superuser: "
                    f"REASSIGN OWNED BY {role} TO {owner}; then run this again."
                )
            if password and not keep_password:
                run(sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(app, sql.Literal(password)))
                done.append(f"Set the password of role {role}.")

        name, schema_id, owner_id = (
            sql.Identifier(database),
            sql.Identifier(schema),
            sql.Identifier(owner),
        )
        for statement in (
            # From nothing, so a re-run also takes back whatever was granted by hand since.
            "REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {app}",
            "REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {app}",
            "REVOKE CREATE ON SCHEMA {schema} FROM {app}",
            "GRANT CONNECT ON DATABASE {name} TO {app}",
            "GRANT USAGE ON SCHEMA {schema} TO {app}",
            "GRANT {rights} ON ALL TABLES IN SCHEMA {schema} TO {app}",
            "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {app}",
            # Tables and sequences of later migrations (created by the owner) get them too.
            "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema}"
            " GRANT {rights} ON TABLES TO {app}",
            "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema}"
            " GRANT USAGE, SELECT ON SEQUENCES TO {app}",
        ):
            run(
                sql.SQL(statement).format(
                    schema=schema_id, app=app, name=name, owner=owner_id, rights=TABLE_RIGHTS
                )
            )
        for table in append_only:
            run(sql.SQL("REVOKE UPDATE, DELETE ON {} FROM {}").format(sql.Identifier(table), app))
        done.append(
            f"Role {role}: SELECT, INSERT, UPDATE, DELETE on the tables of {schema} "
            f"(and on those {owner} creates later); only SELECT, INSERT on {', '.join(append_only)}."
        )

        raw.execute("SELECT has_schema_privilege(%s, %s, 'CREATE')", [role, schema])
        if raw.fetchone()[0]:
            raise RoleError(
                f"Role {role!r} could still create objects in schema {schema} (through PUBLIC): "
                f"REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC; then run this again."
            )
        raw.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'S')"
            " AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = %s) ORDER BY 1",
            [schema, owner],
        )
        others = [row[0] for row in raw.fetchall()]
        if others:
            done.append(
                f"Warning: {len(others)} tables or sequences are not owned by {owner}; later "
                f"migrations must run as {owner} for the default rights to apply: "
                + ", ".join(others[:10])
            )
    return done
