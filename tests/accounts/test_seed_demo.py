import pytest
from django.core.management import CommandError, call_command

from accounts.models import DistributorGroup, GroupMembership, Organization, User


def _snapshot():
    return (
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
    orgs, users, memberships, groups = first
    assert orgs == 1
    assert ("admin", "admin") in users and ("casey", "rep") in users
    assert memberships == [("dana", "riley"), ("dana", "sam"), ("drew", "casey")]
    assert groups == [("dana", False), ("drew", False)]
    assert User.objects.get(username="riley").check_password("trunkpool-demo")
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
