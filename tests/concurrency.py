"""Run calls at the same moment on real, separate database connections (concurrency tests)."""

import threading

from django.db import connection

from accounts.models import User

TIMEOUT = 20


def race(*calls):
    """Run each call in its own thread and connection, released together by a barrier.

    Returns one ("ok", result) or ("error", exception) per call, in order.
    """
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def run(i, call):
        try:
            # Connect before the barrier, so both requests reach the rows at the same moment.
            connection.ensure_connection()
            barrier.wait(timeout=TIMEOUT)
            outcomes[i] = ("ok", call())
        except Exception as exc:  # noqa: BLE001 - the test inspects whatever was raised
            outcomes[i] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a thread hung: deadlock or lock wait"
    return outcomes


def fresh(user):
    """Each thread loads its own user: actor snapshots are cached on the instance."""
    return User.objects.get(pk=user.pk)
