"""How an API expectation is declared: the status each caller gets for one URL and method."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# Who calls: nobody; the world's rep (pooled), distributor and admin; an admin of another
# organization; a rep of another group in the same organization; and, for writes, the rep and
# the admin with read-only tokens (always 403 on a write, whatever the rule).
CALLERS = (
    "anon",
    "rep",
    "distributor",
    "admin",
    "other_admin",
    "other_group_rep",
    "rep_read_only",
    "admin_read_only",
)


@dataclass(frozen=True)
class ApiExpect:
    """Statuses in CALLERS order for the first six; read-only tokens get the same as their
    user on a GET and 403 on a write (derived, not declared)."""

    kwargs: Callable
    anon: int
    rep: int
    distributor: int
    admin: int
    other_admin: int
    other_group_rep: int
    data: Callable = staticmethod(lambda w: {})  # type: ignore[assignment]
    query: Callable = staticmethod(lambda w: {})  # type: ignore[assignment]

    def status_for(self, caller: str, method: str) -> int:
        if caller in ("rep_read_only", "admin_read_only"):
            user_status = getattr(self, caller.removesuffix("_read_only"))
            return user_status if method == "get" else (403 if user_status != 401 else 401)
        return getattr(self, caller)


def no_kwargs(w):
    return {}
