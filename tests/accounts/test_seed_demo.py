import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.models import DistributorGroup, GroupMembership, Organization, User


def _snapshot():
    from events.models import Comment, Event
    from inventory.models import CustodyEntry, Facility, Product, Unit

    return (
        Product.objects.count(),
        Unit.objects.count(),
        CustodyEntry.objects.count(),
        Facility.objects.count(),
        sorted(Event.objects.values_list("name", "status")),
        Comment.objects.count(),
        Organization.objects.count(),
        sorted(User.objects.values_list("username", "role")),
        sorted(
            GroupMembership.objects.values_list("group__distributor__username", "rep__username")
        ),
        sorted(DistributorGroup.objects.values_list("distributor__username", "pooling_enabled")),
    )


@pytest.mark.django_db
def test_seed_demo_is_idempotent(settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo")
    first = _snapshot()
    call_command("seed_demo")
    assert _snapshot() == first
    *_, orgs, users, memberships, groups = first
    assert orgs == 1
    assert ("admin", "admin") in users and ("casey", "rep") in users
    assert memberships == [("dana", "riley"), ("dana", "sam"), ("drew", "casey")]
    assert groups == [("dana", False), ("drew", False)]
    assert User.objects.get(username="riley").check_password("trunkpool-demo")
    from inventory.models import Unit

    # Every holder's units carry the holder's prefix; some expire soon and one has expired.
    for prefix, holder in [("D-", "dana"), ("R-", "riley"), ("S-", "sam"), ("C-", "casey")]:
        assert (
            Unit.objects.filter(
                serial_number__startswith=prefix, custodian__username=holder
            ).count()
            >= 5
        )
    assert Unit.objects.filter(serial_number__startswith="O-", custodian__isnull=True).count() >= 5
    from django.utils import timezone

    assert Unit.objects.filter(expiration_date__lt=timezone.localdate()).exists()
    # Facility stock at St. Mary's, sold by dana; a comment mentions @dana.
    assert (
        Unit.objects.filter(
            state="facility_stock", facility__name="St. Mary's Hospital", custodian__username="dana"
        ).count()
        == 3
    )
    from events.models import Mention

    assert Mention.objects.filter(user__username="dana").exists()
    out = capsys.readouterr().out
    assert "trunkpool-demo" in out and "riley" in out


@pytest.mark.django_db
def test_seed_demo_refuses_with_debug_off_unless_forced(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo")
    assert not User.objects.exists()
    call_command("seed_demo", "--force")
    assert User.objects.filter(username="dana").exists()


@pytest.mark.django_db
def test_seed_demo_shows_the_password_only_for_users_it_created(settings):
    settings.DEBUG = True
    first = StringIO()
    call_command("seed_demo", stdout=first)
    first = first.getvalue()
    assert "Created these users, with password 'trunkpool-demo':" in first
    for username in ("admin", "dana", "riley", "sam", "drew", "casey"):
        assert re.search(rf"^  {username} ", first, flags=re.M), username
    assert "already exist" not in first

    # Riley changes her password; a second run keeps it and prints no password for anyone.
    riley = User.objects.get(username="riley")
    riley.set_password("riley-own-secret")
    riley.save()
    second = StringIO()
    call_command("seed_demo", stdout=second)
    second = second.getvalue()
    assert "These users already exist; their passwords were left unchanged:" in second
    assert re.search(r"^  riley ", second, flags=re.M)
    assert "trunkpool-demo" not in second and "password '" not in second
    assert "Created" not in second
    assert User.objects.get(username="riley").check_password("riley-own-secret")


README = Path(__file__).resolve().parents[2] / "README.md"
PREFIX_HOLDER = {"D": "dana", "R": "riley", "S": "sam", "C": "casey", "O": None}


def _readme_demo_paragraph():
    section = README.read_text().split("## Demo logins", 1)[1].split("\n## ", 1)[0]
    (paragraph,) = [p for p in section.split("\n\n") if p.startswith("The demo catalog")]
    return paragraph


@pytest.mark.django_db
def test_the_readme_states_the_demos_unit_counts(settings):
    """The numbers in README "Demo logins" ("dana has 20 units (`D-`...)") are the seeded ones."""
    from inventory.models import Unit

    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    stated = {
        prefix: int(count)
        for count, prefix in re.findall(
            r"(\d+) (?:units )?\(`([A-Z])-`", " ".join(_readme_demo_paragraph().split())
        )
    }
    assert set(stated) == set(PREFIX_HOLDER)
    seeded = {
        prefix: Unit.objects.filter(
            serial_number__startswith=f"{prefix}-",
            **{"custodian__username": holder} if holder else {"custodian__isnull": True},
        ).count()
        for prefix, holder in PREFIX_HOLDER.items()
    }
    assert stated == seeded
    assert sum(stated.values()) == Unit.objects.count()  # no holder left out of the paragraph


@pytest.mark.django_db
def test_riley_has_an_open_case_for_every_readme_step_that_needs_one(settings):
    """ "Things to try" submits riley's knee case; the recall step then needs another open one,
    and the README names it."""
    from events.models import Event, EventStatus, EventType

    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    open_cases = Event.objects.filter(
        representative__username="riley", type=EventType.CASE, status=EventStatus.OPEN
    )
    assert open_cases.count() >= 2
    readme = " ".join(README.read_text().split())
    recall_step = readme.split("Recalls:", 1)[1].split("Par levels:", 1)[0]
    first_step = readme.split("Things to try:", 1)[1].split("Recalls:", 1)[0]
    (named,) = re.findall(r"Mark Used of \"([^\"]+)\"", recall_step)
    (submitted,) = re.findall(r"open Events → \"([^\"]+)\"", first_step)
    assert named != submitted
    assert open_cases.filter(name=named).exists(), named
    assert open_cases.filter(name=submitted).exists(), submitted
