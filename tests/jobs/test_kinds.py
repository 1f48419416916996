"""Job kinds: the jobs app runs and shows jobs of any kind an app registers, and still shows (but
never runs or serves) a stored job whose kind no app registers any more."""

import pytest
from django.urls import reverse
from django.utils import timezone

from jobs import kinds
from jobs.models import Job, JobChunk
from jobs.services import job_start
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_inventory_registers_its_import_and_export_and_the_api_its_full_export():
    assert kinds.get("import").label == "Unit import" and not kinds.get("import").has_result
    assert kinds.get("export").has_result and kinds.get("org_export").has_result
    assert sorted(kinds.with_result()) == ["export", "org_export"]


def test_registering_another_kind_under_a_taken_name_is_refused():
    with pytest.raises(ValueError, match="registered twice"):
        kinds.register(kinds.JobKind(name="export", label="Something else", task=None))
    kinds.register(kinds.get("export"))  # the same kind again (a second ready()) is fine


def test_starting_a_job_of_an_unknown_kind_is_refused_and_stores_nothing():
    user = UserFactory()
    with pytest.raises(LookupError, match="no job kind 'reindex'"):
        job_start(actor=user, kind="reindex")
    assert not Job.objects.exists()


@pytest.fixture
def orphan(db):
    """A done job of a kind no app registers (its app was removed, say), with a stored file."""
    user = UserFactory(admin=True)
    job = Job.objects.create(
        organization=user.organization,
        owner=user,
        kind="reindex",
        status=Job.Status.DONE,
        result_count=7,
        finished_at=timezone.now(),
    )
    JobChunk.objects.create(job=job, part=JobChunk.Part.RESULT, seq=0, data=b"x")
    return job


def test_a_job_of_an_unregistered_kind_still_shows_under_its_stored_name(client, orphan):
    client.force_login(orphan.owner)
    page = client.get(reverse("jobs:job_detail", args=[orphan.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "reindex #" in text and "Done: 7." in text and "job-download" not in text
    assert "reindex" in client.get(reverse("jobs:job_list")).content.decode()


def test_a_job_of_an_unregistered_kind_serves_no_file(client, orphan):
    client.force_login(orphan.owner)
    assert client.get(reverse("jobs:job_download", args=[orphan.pk])).status_code == 404
