"""Which transfers a person sees: those naming them (or their reps), and those whose units were
in their scope when sent. A pooled rep must not see what another group sent to the distributor."""

import pytest
from django.urls import reverse

from inventory.models import Transfer
from inventory.services.transfers import transfer_create
from tests.factories import DistributorFactory, RepFactory
from tests.inventory.factories import ProductFactory, receive_units


@pytest.fixture
def two_groups(admin_user, pooled, distributor, rep):
    """dana (pooling on) with riley and sam; drew with casey; one transfer of each kind."""
    org = admin_user.organization
    sam = RepFactory(organization=org, assigned_to=distributor)
    drew = DistributorFactory(organization=org)
    casey = RepFactory(organization=org, assigned_to=drew)
    product = ProductFactory(organization=org)

    def unit(holder):
        return receive_units(admin_user, holder, n=1, product=product)[0]

    def send(actor, holder, recipient):
        (transfer,) = transfer_create(actor=actor, unit_ids=[unit(holder).pk], recipient=recipient)
        return transfer

    t = {
        "dana_own_to_drew": send(distributor, distributor, drew),
        "casey_to_dana": send(casey, casey, distributor),
        "riley_from_pool": send(rep, distributor, rep),
        "drew_to_riley": send(drew, drew, rep),
        "sam_to_dana": send(sam, sam, distributor),
        "casey_to_drew": send(casey, casey, drew),
        "admin_from_org_to_dana": send(admin_user, None, distributor),
        "dana_for_sam_to_casey": send(distributor, sam, casey),
    }
    people = {"dana": distributor, "riley": rep, "sam": sam, "drew": drew, "casey": casey}
    return people, t


def visible(user, transfers) -> set[str]:
    ids = set(Transfer.objects.visible_to(user).values_list("pk", flat=True))
    return {name for name, transfer in transfers.items() if transfer.pk in ids}


def test_a_pooled_rep_sees_the_pools_transfers_but_not_what_another_group_sent_to_it(two_groups):
    people, t = two_groups
    assert visible(people["riley"], t) == {"dana_own_to_drew", "riley_from_pool", "drew_to_riley"}


def test_without_pooling_a_rep_sees_only_transfers_naming_them(two_groups):
    people, t = two_groups
    group = people["dana"].distributor_group
    group.pooling_enabled = False
    group.save()
    from accounts.selectors import forget_actor

    forget_actor(people["riley"])
    # riley_from_pool was started by riley: it names them, pooling or not.
    assert visible(people["riley"], t) == {"riley_from_pool", "drew_to_riley"}


def test_a_distributor_sees_transfers_naming_them_or_their_reps(two_groups):
    people, t = two_groups
    assert visible(people["dana"], t) == {
        "dana_own_to_drew",
        "casey_to_dana",
        "riley_from_pool",
        "drew_to_riley",
        "sam_to_dana",
        "admin_from_org_to_dana",
        "dana_for_sam_to_casey",
    }
    assert visible(people["drew"], t) == {
        "dana_own_to_drew",
        "casey_to_dana",
        "drew_to_riley",
        "casey_to_drew",
        "dana_for_sam_to_casey",
    }


def test_a_rep_of_another_group_sees_only_their_own(two_groups):
    people, t = two_groups
    assert visible(people["casey"], t) == {
        "casey_to_dana",
        "casey_to_drew",
        "dana_for_sam_to_casey",
    }


def test_admins_see_every_transfer_of_the_organization(admin_user, two_groups):
    _, t = two_groups
    assert visible(admin_user, t) == set(t)


def test_the_pooled_rep_cannot_open_or_list_another_groups_transfer_to_the_pool(client, two_groups):
    people, t = two_groups
    client.force_login(people["riley"])
    hidden = t["casey_to_dana"]
    assert client.get(reverse("inventory:transfer_detail", args=[hidden.pk])).status_code == 404
    for action in ("transfer_accept", "transfer_decline", "transfer_cancel"):
        url = reverse(f"inventory:{action}", args=[hidden.pk])
        assert client.post(url, {"reason": "x"}).status_code == 404
    page = client.get(reverse("inventory:transfer_list")).content.decode()
    assert reverse("inventory:transfer_detail", args=[hidden.pk]) not in page
    assert reverse("inventory:transfer_detail", args=[t["dana_own_to_drew"].pk]) in page
    hidden.refresh_from_db()
    assert hidden.status == Transfer.Status.PENDING
