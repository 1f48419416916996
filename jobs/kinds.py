"""The kinds of background job: each app registers its own at start-up (see inventory.apps).

The jobs app runs, shows, serves and prunes jobs without knowing what they do: a kind names the
task that does the work and the words and file its pages show.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django_tasks.base import Task


def _done(count: int) -> str:
    return f"Done: {count:,}."


def _download(count: int) -> str:
    return "Download the result"


@dataclass(frozen=True)
class JobKind:
    name: str  # stored in Job.kind
    label: str  # "Unit import"
    task: Task | None  # called with organization_id= and job_id=; None for a kind gone away
    progress_label: str = "steps done"  # what `processed` of `total` counts: "rows checked"
    failure_intro: str = "The job failed:"  # the sentence above a failed job's problems
    done_message: Callable[[int], str] = _done  # a done job without a file, given result_count
    # A kind that makes a file to download names it: "trunkpool-units" makes
    # trunkpool-units-<date>-job<id><result_suffix>.
    result_name: str = ""
    result_suffix: str = ".csv"
    result_type: str = "text/csv; charset=utf-8"
    result_label: Callable[[int], str] = _download  # the download button, given result_count

    @property
    def has_result(self) -> bool:
        return bool(self.result_name)


_KINDS: dict[str, JobKind] = {}


def register(kind: JobKind) -> None:
    """Register `kind` (once per process, from an AppConfig.ready)."""
    if kind.name in _KINDS and _KINDS[kind.name] != kind:
        raise ValueError(f"job kind {kind.name!r} is registered twice")
    _KINDS[kind.name] = kind


def get(name: str) -> JobKind:
    """The registered kind `name`, to start a job of it; LookupError when none is."""
    try:
        return _KINDS[name]
    except KeyError:
        raise LookupError(f"no job kind {name!r} is registered") from None


def describe(name: str) -> JobKind:
    """How to show a stored job of kind `name`: its registered kind, or, for a kind that no app
    registers any more, a plain one named after it (no task, no file to download)."""
    return _KINDS.get(name) or JobKind(name=name, label=name, task=None)


def task_paths() -> set[str]:
    """The module paths of the registered kinds' tasks: a queued task with one of them runs
    the job named by its `job_id` argument."""
    return {k.task.module_path for k in _KINDS.values() if k.task is not None}


def with_result() -> list[str]:
    return [k.name for k in _KINDS.values() if k.has_result]
