"""Old rows the daily prune (`manage.py prune_job_results`) deletes for the apps above jobs.

Jobs sits below them and imports none: an app registers its pruner in AppConfig.ready() (see
api.apps), and the command runs each after pruning finished jobs.
"""

from __future__ import annotations

from collections.abc import Callable

Pruner = Callable[[], int]

_pruners: dict[str, Pruner] = {}


def register(what: str, prune: Pruner) -> None:
    """Register `prune() -> rows deleted`, named by what it deletes ("rate-limit counter(s)")."""
    _pruners[what] = prune


def run_all() -> dict[str, int]:
    """Run every registered pruner; how many rows each deleted, by name."""
    return {what: prune() for what, prune in _pruners.items()}
