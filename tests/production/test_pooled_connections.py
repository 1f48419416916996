"""What a pooled connection keeps: Django's pool (DATABASE_POOL) hands a closed connection back
to the pool still open, session state and all."""

import pytest
from django.db import DEFAULT_DB_ALIAS, connections

from jobs.services import CommittedProgress

pytestmark = pytest.mark.postgres


def _can_claim(job_id: int) -> bool:
    other = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with other.cursor() as cursor:
            cursor.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", [CommittedProgress.CLAIM_SPACE, job_id]
            )
            return cursor.fetchone()[0]
    finally:
        other.close()


def test_an_export_claim_is_released_when_its_connection_goes_back_to_a_pool_open(db):
    progress = CommittedProgress(987_654_321)
    assert progress.claim()
    assert not _can_claim(987_654_321)
    # As with the pool: close() returns the connection, the session lives on.
    kept, progress.own.close = progress.own.close, lambda: None
    try:
        progress.close()
        assert _can_claim(987_654_321)
    finally:
        kept()
