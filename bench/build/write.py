"""Writes a planned load to PostgreSQL with COPY, and vacuums after."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from django.db import connection

from accounts.models import DistributorGroup, GroupChange, GroupMembership, User
from bench.build.common import (
    NULL,
    CopyTable,
    model,
    null_or,
    qn,
    ts,
)


class Writer:
    """Writes the planned rows with COPY, with the big tables' secondary indexes dropped meanwhile and rebuilt before commit."""

    # ---------------------------------------------------------------- indexes
    def big_tables(self) -> list[str]:
        return [
            model(name)._meta.db_table
            for name in ("Unit", "CustodyEntry", "Transfer", "TransferLine", "Event", "EventLine")
        ]

    def drop_bulk_indexes(self, cursor) -> list[str]:
        """Drop the big tables' foreign keys and secondary indexes; return how to recreate them.

        Primary keys and indexes behind constraints stay. Everything runs in the load's
        transaction, so a failed load leaves the schema as it was.
        """
        recreate_indexes, recreate_fks = [], []
        for table in self.big_tables():
            cursor.execute(
                """
                SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
                WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname
                """,
                [table],
            )
            for name, definition in cursor.fetchall():
                cursor.execute(f"ALTER TABLE {qn(table)} DROP CONSTRAINT {qn(name)}")
                recreate_fks.append(
                    f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(name)} {definition}"
                )
            cursor.execute(
                """
                SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i
                JOIN pg_class c ON c.oid = i.indexrelid
                WHERE i.indrelid = %s::regclass AND NOT i.indisprimary
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
                ORDER BY c.relname
                """,
                [table],
            )
            for name, definition in cursor.fetchall():
                cursor.execute(f"DROP INDEX {qn(name)}")
                recreate_indexes.append(definition)
        return recreate_indexes + recreate_fks

    def restore(self, cursor, statements: list[str]) -> None:
        for statement in statements:
            cursor.execute(statement.replace("%", "%%"))

    def reset_sequences(self, cursor) -> None:
        for name in self.next:
            table = model(name)._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {qn(table)}))",
                [table],
            )

    # ---------------------------------------------------------------- write
    def write(self, cursor) -> None:
        def table(m, cols):
            return CopyTable(m, cols)

        copy = self.report.counts
        table(
            User,
            [
                "id",
                "password",
                "last_login",
                "is_superuser",
                "username",
                "first_name",
                "last_name",
                "email",
                "is_staff",
                "is_active",
                "date_joined",
                "organization_id",
                "role",
                "display_name",
            ],
        ).copy(cursor, self.user_rows)
        table(
            DistributorGroup, ["id", "organization_id", "distributor_id", "pooling_enabled"]
        ).copy(
            cursor,
            (
                f"{gid}\t{self.org}\t{dist}\t{'t' if self.pooled[dist] else 'f'}"
                for gid, dist in self.new_groups
            ),
        )
        DistributorGroup.objects.filter(distributor_id=self.dana).update(pooling_enabled=True)
        added = ts(self.start)
        member_ids = self.take_ids("GroupMembership", len(self.memberships))
        table(GroupMembership, ["id", "group_id", "rep_id", "added_at"]).copy(
            cursor,
            (
                f"{mid}\t{gid}\t{rep}\t{added}"
                for mid, (gid, rep) in zip(member_ids, self.memberships, strict=True)
            ),
        )
        changes = [
            (self.group_of_dist[d], "pooling_on", None) for d in self.dists if self.pooled[d]
        ]
        changes += [(gid, "rep_added", rep) for gid, rep in self.memberships]
        change_ids = self.take_ids("GroupChange", len(changes))
        table(GroupChange, ["id", "group_id", "action", "rep_id", "actor_id", "at"]).copy(
            cursor,
            (
                f"{cid}\t{gid}\t{action}\t{null_or(rep)}\t{self.admins[0]}\t{added}"
                for cid, (gid, action, rep) in zip(change_ids, changes, strict=True)
            ),
        )
        table(model("Facility"), ["id", "organization_id", "name", "kind", "city"]).copy(
            cursor, self.facility_rows
        )
        table(model("Physician"), ["id", "organization_id", "name", "specialty"]).copy(
            cursor, self.physician_rows
        )
        table(model("Procedure"), ["id", "organization_id", "name"]).copy(
            cursor, self.procedure_rows
        )
        table(model("Location"), ["id", "organization_id", "name", "kind", "holder_id"]).copy(
            cursor, self.location_rows
        )
        table(
            model("Product"),
            [
                "id",
                "organization_id",
                "catalog_number",
                "description",
                "manufacturer",
                "product_line",
                "gtin",
                "single_use",
                "tracking",
            ],
        ).copy(cursor, self.product_rows)
        table(
            model("Transfer"),
            [
                "id",
                "organization_id",
                "sender_id",
                "recipient_id",
                "started_by_id",
                "on_behalf_of_id",
                "status",
                "to_location_id",
                "note",
                "decline_reason",
                "created_at",
                "resolved_at",
                "resolved_by_id",
            ],
        ).copy(cursor, self.transfer_rows)
        table(
            model("Event"),
            [
                "id",
                "organization_id",
                "type",
                "name",
                "representative_id",
                "facility_id",
                "physician_id",
                "procedure_id",
                "scheduled_at",
                "patient_ref",
                "notes",
                "status",
                "po_number",
                "created_by_id",
                "created_at",
                "submitted_at",
            ],
        ).copy(cursor, self.event_rows)
        copy["units"] = table(
            model("Unit"),
            [
                "id",
                "organization_id",
                "product_id",
                "serial_number",
                "lot_number",
                "expiration_date",
                "udi",
                "custodian_id",
                "location_id",
                "state",
                "facility_id",
                "ledger_seq",
                "created_at",
            ],
        ).copy(cursor, self.unit_lines())
        tline_ids = self.take_ids("TransferLine", len(self.tline_pairs))
        table(model("TransferLine"), ["id", "transfer_id", "unit_id"]).copy(
            cursor,
            (
                f"{lid}\t{tid}\t{self.unit_ids[i]}"
                for lid, (tid, i) in zip(tline_ids, self.tline_pairs, strict=True)
            ),
        )
        eline_ids = self.take_ids("EventLine", len(self.eline_rows_plan))
        table(
            model("EventLine"),
            [
                "id",
                "event_id",
                "unit_id",
                "billable",
                "from_facility_stock",
                "marked_by_id",
                "marked_at",
                "removed_at",
                "removed_by_id",
            ],
        ).copy(
            cursor,
            (
                f"{lid}\t{eid}\t{self.unit_ids[i]}\t{'t' if bill else 'f'}\t{'t' if stock else 'f'}"
                f"\t{marker}\t{ts(at)}\t{NULL}\t{NULL}"
                for lid, (eid, i, bill, stock, marker, at) in zip(
                    eline_ids, self.eline_rows_plan, strict=True
                )
            ),
        )
        Entry = model("CustodyEntry")
        entry_cols = [
            "organization_id",
            "unit_id",
            "sequence",
            "kind",
            "from_custodian_id",
            "to_custodian_id",
            "from_state",
            "to_state",
            "actor_id",
            "on_behalf_of_id",
            "transfer_id",
            "event_id",
            "at",
            "note",
            "from_location_id",
            "to_location_id",
            "recall_id",
        ]
        table(
            model("Recall"),
            [
                "id",
                "organization_id",
                "reference",
                "reason",
                "recall_class",
                "product_id",
                "lot_numbers",
                "serial_numbers",
                "recall_date",
                "status",
                "created_by_id",
                "created_at",
                "withdrawn_at",
                "withdrawn_by_id",
                "withdraw_reason",
            ],
        ).copy(cursor, self.recall_rows)
        table(
            model("RecallReturn"),
            ["id", "recall_id", "reference", "returned_on", "created_by_id", "created_at"],
        ).copy(cursor, self.recall_return_rows)
        ru_ids = self.take_ids("RecallUnit", len(self.recall_unit_rows))
        copy["recall units"] = table(
            model("RecallUnit"), ["id", "recall_id", "unit_id", "found_state", "returned_in_id"]
        ).copy(
            cursor,
            (
                f"{pk}\t{rid}\t{self.unit_ids[i]}\t{state}\t{null_or(self.returned_in.get((rid, i)))}"
                for pk, (rid, i, state) in zip(ru_ids, self.recall_unit_rows, strict=True)
            ),
        )
        table(
            model("ParLevel"),
            [
                "id",
                "organization_id",
                "location_id",
                "product_id",
                "par",
                "reorder_to",
                "alerted_at",
                "updated_at",
            ],
        ).copy(cursor, self.par_rows)
        copy["ledger entries"] = table(Entry, ["id", *entry_cols]).copy(cursor, self.entry_lines())
        table(
            model("Comment"), ["id", "event_id", "author_id", "body", "created_at", "edited_at"]
        ).copy(cursor, self.comment_rows)
        mention_ids = self.take_ids("Mention", len(self.mention_rows))
        table(model("Mention"), ["id", "comment_id", "user_id"]).copy(
            cursor,
            (
                f"{mid}\t{cid}\t{uid}"
                for mid, (cid, uid) in zip(mention_ids, self.mention_rows, strict=True)
            ),
        )
        note_ids = self.take_ids("Notification", len(self.notification_rows))
        copy["notifications"] = len(self.notification_rows)
        table(
            model("Notification"),
            [
                "id",
                "user_id",
                "kind",
                "actor_id",
                "summary",
                "url",
                "event_id",
                "comment_id",
                "transfer_id",
                "recall_id",
                "created_at",
                "read_at",
            ],
        ).copy(
            cursor,
            (f"{nid}\t{row}" for nid, row in zip(note_ids, self.notification_rows, strict=True)),
        )

    def unit_lines(self) -> Iterable[str]:
        org = str(self.org)
        meta = self.product_meta
        for i, uid in enumerate(self.unit_ids):
            pid = self.product[i]
            _, _, tracking, _, gtin = meta[pid]
            code = self.product_code[pid]
            lot = self.lot.get(i) or f"{code}L{(uid // 150) % 100_000:05d}"
            serial = f"{code}{uid:08d}" if tracking == "serial" else ""
            exp = self.expiry[i]
            exp_text = NULL if exp is None else self.day(exp)
            udi = ""
            if gtin and exp is not None:
                udi = f"(01){gtin}(17){exp_text[2:4]}{exp_text[5:7]}{exp_text[8:10]}(10){lot}"
                if serial:
                    udi += f"(21){serial}"
            yield (
                f"{uid}\t{org}\t{pid}\t{serial}\t{lot}\t{exp_text}\t{udi}\t{null_or(self.custodian[i])}"
                f"\t{null_or(self.location[i])}\t{self.state[i]}\t{null_or(self.facility.get(i))}"
                f"\t{self.seq[i]}\t{ts(self.created[i])}"
            )

    def entry_lines(self) -> Iterable[str]:
        """Every unit's "received" entry, then the story entries, with ids in that order."""
        ids = iter(self.take_ids("CustodyEntry", len(self.unit_ids) + len(self.entries)))
        org = str(self.org)
        admin = self.admins[0]
        for i, uid in enumerate(self.unit_ids):
            h = self.holder[i]
            actor = h if h is not None and self.role[h] == "distributor" and i % 2 else admin
            yield (
                f"{next(ids)}\t{org}\t{uid}\t1\treceived\t{NULL}\t{null_or(h)}\t\tavailable"
                f"\t{actor}\t{NULL}\t{NULL}\t{NULL}\t{ts(self.created[i])}\tbench_scale"
                f"\t{NULL}\t{null_or(self.first_location[i])}\t{NULL}"
            )
        for line in self.entries:
            yield f"{next(ids)}\t{line}"


def vacuum_analyze(log: Callable[[str], None] = lambda s: None) -> None:
    """After commit: set the visibility map (index-only scans) and statistics, as autovacuum
    would on a live database."""
    if connection.in_atomic_block:
        return
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for name in ("Unit", "CustodyEntry", "Transfer", "TransferLine", "Event", "EventLine"):
            cursor.execute(f"VACUUM (ANALYZE) {qn(model(name)._meta.db_table)}")
    log(f"  {'vacuum (analyze) the big tables':<44} {time.perf_counter() - started:6.1f} s")
