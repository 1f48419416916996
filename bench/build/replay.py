"""Proves a load: replays every unit's ledger in SQL and counts the units whose row disagrees."""

from __future__ import annotations

from bench.build.common import (
    KEEPS_CUSTODY,
    NAMES_RECALL,
    column,
    model,
    qn,
)


def replay_problems(cursor, organization_id: int) -> dict[str, int]:
    """Replay every unit's ledger in SQL; count each disagreement (all zero = consistent).

    - sequence gaps: entries not numbered 1, 2, 3... per unit;
    - broken chain: an entry whose "from" custodian or state is not the previous "to";
    - bad start: a first entry that does not start from nothing (received);
    - units whose state, custodian or ledger_seq differ from their last entry, or no ledger;
    - in-transit units without a pending transfer, pending transfers' units not in transit;
    - allocated units without exactly one current line on an open event;
    - broken location chain: an entry leaving from a location other than where the previous
      one left the unit (the first from nowhere), or a unit not where its last entry left it;
    - units sitting at a location another holder keeps;
    - custody changed by a move, a quarantine, a return or a withdrawn recall; a move that
      changed the state; a quarantine or return ending in the wrong state, a return of a unit
      that was not quarantined; a recall named on any other kind, or missing on these
      (the same rules as inventory.models.ledger_problems);
    - quarantined units no active recall names.
    """
    Unit, Entry = model("Unit"), model("CustodyEntry")
    Transfer, TransferLine = model("Transfer"), model("TransferLine")
    Event, EventLine = model("Event"), model("EventLine")
    t = {
        "unit": qn(Unit._meta.db_table),
        "entry": qn(Entry._meta.db_table),
        "transfer": qn(Transfer._meta.db_table),
        "tline": qn(TransferLine._meta.db_table),
        "event": qn(Event._meta.db_table),
        "eline": qn(EventLine._meta.db_table),
        "e_unit": qn(column(Entry, "unit")),
        "e_from": qn(column(Entry, "from_custodian")),
        "e_to": qn(column(Entry, "to_custodian")),
        "e_from_l": qn(column(Entry, "from_location")),
        "e_to_l": qn(column(Entry, "to_location")),
        "e_recall": qn(column(Entry, "recall")),
        "u_loc": qn(column(Unit, "location")),
        "location": qn(model("Location")._meta.db_table),
        "l_holder": qn(column(model("Location"), "holder")),
        "recall": qn(model("Recall")._meta.db_table),
        "runit": qn(model("RecallUnit")._meta.db_table),
        "ru_unit": qn(column(model("RecallUnit"), "unit")),
        "ru_recall": qn(column(model("RecallUnit"), "recall")),
        "u_cust": qn(column(Unit, "custodian")),
        "tl_unit": qn(column(TransferLine, "unit")),
        "tl_transfer": qn(column(TransferLine, "transfer")),
        "el_unit": qn(column(EventLine, "unit")),
        "el_event": qn(column(EventLine, "event")),
    }
    cursor.execute(
        """
        WITH e AS (
            SELECT {e_unit} AS unit_id, sequence, {e_from} AS from_c, {e_to} AS to_c,
                   from_state, to_state,
                   lag({e_to}) OVER w AS prev_c, lag(to_state) OVER w AS prev_s,
                   row_number() OVER w AS rn, count(*) OVER (PARTITION BY {e_unit}) AS n
            FROM {entry} WHERE organization_id = %(org)s
            WINDOW w AS (PARTITION BY {e_unit} ORDER BY sequence)
        ), last AS (SELECT * FROM e WHERE rn = n)
        SELECT
            (SELECT count(*) FROM e WHERE rn <> sequence),
            (SELECT count(*) FROM e WHERE rn > 1
                AND (from_c IS DISTINCT FROM prev_c OR from_state <> prev_s)),
            (SELECT count(*) FROM e WHERE rn = 1 AND (from_c IS NOT NULL OR from_state <> '')),
            (SELECT count(*) FROM {unit} u LEFT JOIN last ON last.unit_id = u.id
                WHERE u.organization_id = %(org)s AND (last.unit_id IS NULL
                   OR last.to_state <> u.state OR last.to_c IS DISTINCT FROM u.{u_cust}
                   OR last.sequence <> u.ledger_seq))
        """.format(**t),
        {"org": organization_id},
    )
    gaps, chain, start, mismatched = cursor.fetchone()
    cursor.execute(
        """
        SELECT
            (SELECT count(*) FROM {unit} u WHERE u.organization_id = %(org)s
                AND u.state = 'in_transit' AND NOT EXISTS (
                    SELECT 1 FROM {tline} l JOIN {transfer} t ON t.id = l.{tl_transfer}
                    WHERE l.{tl_unit} = u.id AND t.status = 'pending')),
            (SELECT count(*) FROM {tline} l JOIN {transfer} t ON t.id = l.{tl_transfer}
                JOIN {unit} u ON u.id = l.{tl_unit}
                WHERE t.organization_id = %(org)s AND t.status = 'pending'
                  AND u.state <> 'in_transit'),
            (SELECT count(*) FROM {unit} u WHERE u.organization_id = %(org)s
                AND u.state = 'allocated' AND (
                    SELECT count(*) FROM {eline} l JOIN {event} ev ON ev.id = l.{el_event}
                    WHERE l.{el_unit} = u.id AND l.removed_at IS NULL AND ev.status = 'open'
                ) <> 1)
        """.format(**t),
        {"org": organization_id},
    )
    transit, pending, allocated = cursor.fetchone()
    cursor.execute(
        """
        WITH e AS (
            SELECT {e_unit} AS unit_id, kind, {e_from} AS from_c, {e_to} AS to_c,
                   from_state, to_state, {e_from_l} AS from_l, {e_to_l} AS to_l,
                   {e_recall} AS recall_id,
                   lag({e_to_l}) OVER w AS prev_l,
                   row_number() OVER w AS rn, count(*) OVER (PARTITION BY {e_unit}) AS n
            FROM {entry} WHERE organization_id = %(org)s
            WINDOW w AS (PARTITION BY {e_unit} ORDER BY sequence)
        )
        SELECT
            (SELECT count(*) FROM e WHERE from_l IS DISTINCT FROM prev_l),
            (SELECT count(*) FROM {unit} u JOIN e ON e.unit_id = u.id AND e.rn = e.n
                WHERE u.organization_id = %(org)s AND u.{u_loc} IS DISTINCT FROM e.to_l),
            (SELECT count(*) FROM {unit} u JOIN {location} l ON l.id = u.{u_loc}
                WHERE u.organization_id = %(org)s
                  AND l.{l_holder} IS DISTINCT FROM u.{u_cust}),
            (SELECT count(*) FROM e WHERE kind = ANY(%(keeps)s) AND from_c IS DISTINCT FROM to_c),
            (SELECT count(*) FROM e WHERE
                (kind = 'moved' AND from_state <> to_state)
                OR (kind = 'quarantined' AND to_state <> 'quarantined')
                OR (kind = 'returned' AND (to_state <> 'inactive'
                                           OR from_state <> 'quarantined'))),
            (SELECT count(*) FROM e WHERE (kind = ANY(%(names)s)) <> (recall_id IS NOT NULL)),
            (SELECT count(*) FROM {unit} u WHERE u.organization_id = %(org)s
                AND u.state = 'quarantined' AND NOT EXISTS (
                    SELECT 1 FROM {runit} ru JOIN {recall} r ON r.id = ru.{ru_recall}
                    WHERE ru.{ru_unit} = u.id AND r.status = 'active'))
        """.format(**t),
        {
            "org": organization_id,
            "keeps": list(KEEPS_CUSTODY),
            "names": list(NAMES_RECALL),
        },
    )
    loc_chain, loc_unit, loc_holder, custody, kind_state, recall_named, stray = cursor.fetchone()
    return {
        "sequence gaps": gaps,
        "broken chain": chain,
        "bad first entry": start,
        "units disagreeing with their ledger": mismatched,
        "in transit without a pending transfer": transit,
        "pending transfer units not in transit": pending,
        "allocated without one open line": allocated,
        "broken location chain": loc_chain,
        "units not where their ledger left them": loc_unit,
        "units at another holder's location": loc_holder,
        "custody changed by a move or a recall": custody,
        "entry kinds ending in the wrong state": kind_state,
        "recall named on the wrong kinds": recall_named,
        "quarantined without an active recall": stray,
    }
