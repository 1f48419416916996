"""The kinds of background job: each app registers its own at start-up (see inventory.apps).

The jobs app runs, shows and prunes jobs without knowing what they do: a kind names the task
that does the work and the words its pages use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class JobKind:
    name: str  # stored in Job.kind
    label: str  # "Unit import"
    task: Any  # a django_tasks Task called with organization_id= and job_id=
    progress_label: str  # "rows checked": what `processed` of `total` counts
    failure_intro: str  # the sentence above a failed job's problems
    has_result: bool = False  # makes a file to download when it is done


_KINDS: dict[str, JobKind] = {}


def register(kind: JobKind) -> None:
    """Register `kind` (once per process, from an AppConfig.ready)."""
    if kind.name in _KINDS and _KINDS[kind.name] != kind:
        raise ValueError(f"job kind {kind.name!r} is registered twice")
    _KINDS[kind.name] = kind


def get(name: str) -> JobKind:
    try:
        return _KINDS[name]
    except KeyError:
        raise LookupError(f"no job kind {name!r} is registered") from None


def label(name: str) -> str:
    """A kind's label, or its stored name when no app registers it any more."""
    return _KINDS[name].label if name in _KINDS else name


def with_result() -> list[str]:
    return [k.name for k in _KINDS.values() if k.has_result]
