"""Background jobs moved from inventory to their own app: the migration keeps every job and
stored chunk (ids too), new jobs continue the id sequence, links sent before the move still
land, and queued emails keep their task after the email task moved to accounts.mail."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from inventory.services.exports import EXPORT_JOB
from jobs.models import Job, JobChunk
from tests.factories import UserFactory

# The schema of main before the move: no jobs app yet.
BEFORE = [
    ("inventory", "0015_par_count_index"),
    ("accounts", "0007_notification_kind_job_done"),
    ("jobs", None),
]
AFTER = [("inventory", "0016_jobs_move_to_jobs_app"), ("accounts", "0008_email_task_moves_to_mail")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state([t for t in targets if t[1] is not None]).apps


def _latest():
    return _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


@pytest.fixture
def back_to_latest():
    """Whatever a test does to the schema, the next test finds the latest one."""
    yield
    _latest()


@pytest.mark.django_db(transaction=True)
def test_the_move_keeps_every_job_and_chunk_and_the_next_id_follows_them(back_to_latest):
    old = _migrate(BEFORE)
    Org, User = old.get_model("accounts", "Organization"), old.get_model("accounts", "User")
    OldJob, OldChunk = old.get_model("inventory", "Job"), old.get_model("inventory", "JobChunk")
    DBTaskResult = old.get_model("django_tasks_database", "DBTaskResult")
    OldType = old.get_model("contenttypes", "ContentType")
    OldPermission = old.get_model("auth", "Permission")
    # What post_migrate made for inventory's job models on main, and nothing yet for jobs'.
    ContentType.objects.filter(app_label="jobs").delete()
    for model in ("job", "jobchunk"):
        kind, _ = OldType.objects.get_or_create(app_label="inventory", model=model)
        OldPermission.objects.get_or_create(
            content_type=kind, codename=f"view_{model}", defaults={"name": f"Can view {model}"}
        )
    org = Org.objects.create(name="Moving")
    dana = User.objects.create(username="dana", organization=org, role="distributor")
    finished = timezone.now()
    done = OldJob.objects.create(
        organization=org,
        owner=dana,
        kind="export",
        status="done",
        processed=3,
        total=3,
        params={"filter": {"q": ["knee"]}},
        result_count=3,
        finished_at=finished,
    )
    failed = OldJob.objects.create(
        organization=org,
        owner=dana,
        kind="import",
        status="failed",
        filename="units.csv",
        problems=["Line 2: no such product"],
        finished_at=finished,
    )
    queued = OldJob.objects.create(organization=org, owner=dana, kind="import", total=9)
    pruned = OldJob.objects.create(organization=org, owner=dana, kind="export", status="done")
    pruned_id = pruned.pk
    pruned.delete()  # the highest id ever handed out is gone, as after pruning
    OldChunk.objects.create(job=done, part="result", seq=0, data=b"catalog_number\n")
    OldChunk.objects.create(job=done, part="result", seq=1, data=b"KNEE-1\n")
    OldChunk.objects.create(job=queued, part="upload", seq=0, data=b"\x00raw upload\xff")
    DBTaskResult.objects.create(
        task_path="accounts.tasks.send_email_once",
        args_kwargs={"args": [], "kwargs": {"key": "k", "to": "a@x.test"}},
        queue_name="default",
        backend_name="default",
        run_after=timezone.now(),
        status="READY",
    )

    _migrate(AFTER)
    new = _latest()

    jobs = {j.pk: j for j in Job.objects.all()}
    assert set(jobs) == {done.pk, failed.pk, queued.pk}
    assert (jobs[done.pk].kind, jobs[done.pk].status, jobs[done.pk].result_count) == (
        "export",
        "done",
        3,
    )
    assert jobs[done.pk].params == {"filter": {"q": ["knee"]}}
    assert jobs[done.pk].finished_at == finished and jobs[done.pk].owner_id == dana.pk
    assert jobs[failed.pk].problems == ["Line 2: no such product"]
    assert jobs[failed.pk].filename == "units.csv" and jobs[queued.pk].status == "queued"
    chunks = sorted(JobChunk.objects.values_list("job_id", "part", "seq", "data"))
    assert [(j, p, s, bytes(d)) for j, p, s, d in chunks] == sorted(
        [
            (done.pk, "result", 0, b"catalog_number\n"),
            (done.pk, "result", 1, b"KNEE-1\n"),
            (queued.pk, "upload", 0, b"\x00raw upload\xff"),
        ]
    )
    assert jobs[done.pk].kind_label == "Unit export"  # the kind inventory registers
    task = new.get_model("django_tasks_database", "DBTaskResult").objects.get()
    assert task.task_path == "accounts.mail.send_email_once"
    # The next job takes no copied id, nor a pruned job's (its "done" email is keyed on it).
    fresh = Job.objects.create(organization_id=org.pk, owner_id=dana.pk, kind=EXPORT_JOB, params={})
    assert fresh.pk > pruned_id
    types = ContentType.objects.filter(model__in=["job", "jobchunk"])
    assert sorted(types.values_list("app_label", "model")) == [
        ("jobs", "job"),
        ("jobs", "jobchunk"),
    ]
    assert Permission.objects.filter(content_type__app_label="jobs", codename="view_job").exists()


@pytest.mark.django_db(transaction=True)
def test_the_move_can_be_undone_with_the_rows(back_to_latest):
    user = UserFactory()
    job = Job.objects.create(
        organization=user.organization, owner=user, kind=EXPORT_JOB, status="done"
    )
    JobChunk.objects.create(job=job, part="result", seq=0, data=b"x")

    old = _migrate(BEFORE)
    OldJob, OldChunk = old.get_model("inventory", "Job"), old.get_model("inventory", "JobChunk")
    assert (
        OldJob.objects.create(
            organization_id=user.organization_id, owner_id=user.pk, kind="export"
        ).pk
        > job.pk
    )
    OldJob.objects.exclude(pk=job.pk).delete()
    assert list(OldJob.objects.values_list("pk", "status")) == [(job.pk, "done")]
    assert [bytes(d) for d in OldChunk.objects.values_list("data", flat=True)] == [b"x"]
    _latest()
    assert Job.objects.get().pk == job.pk


@pytest.mark.parametrize(
    "old,new",
    [
        ("/inventory/jobs/", "/jobs/"),
        ("/inventory/jobs/12/", "/jobs/12/"),
        ("/inventory/jobs/12/progress/", "/jobs/12/progress/"),
        ("/inventory/jobs/12/download/", "/jobs/12/download/"),
    ],
)
def test_links_sent_before_the_move_redirect_to_the_jobs_pages(client, old, new):
    response = client.get(old)
    assert response.status_code == 301 and response["Location"] == new
    assert reverse("jobs:job_list") == "/jobs/"


def test_only_job_pages_are_redirected(client):
    assert client.get("/inventory/jobs/12/delete/").status_code == 404
