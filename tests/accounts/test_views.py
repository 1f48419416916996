import pytest
from django.urls import reverse

from accounts.models import GroupChange, GroupMembership
from tests.factories import DistributorFactory, RepFactory, UserFactory


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_user_list_searches_and_filters_by_role(admin_client, org):
    RepFactory(organization=org, username="riley", display_name="Riley Rep")
    DistributorFactory(organization=org, username="dana", display_name="Dana Distributor")
    UserFactory(username="riley-elsewhere")  # another organization: never listed
    page = admin_client.get(reverse("accounts:user_list"), {"q": "ril"}).content.decode()
    assert "Riley Rep" in page and "Dana Distributor" not in page
    assert "riley-elsewhere" not in page
    page = admin_client.get(reverse("accounts:user_list"), {"role": "distributor"}).content.decode()
    assert "Dana Distributor" in page and "Riley Rep" not in page


def test_bad_role_filter_says_so_and_shows_all(admin_client, org):
    RepFactory(organization=org, display_name="Riley Rep")
    response = admin_client.get(reverse("accounts:user_list"), {"role": "emperor"})
    assert response.status_code == 200
    assert "That filter is not valid" in response.content.decode()


def test_user_list_query_count_does_not_grow_with_rows(
    admin_client, org, django_assert_max_num_queries
):
    def queries_for_page():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get(reverse("accounts:user_list")).status_code == 200
        return len(ctx)

    d = DistributorFactory(organization=org)
    RepFactory.create_batch(3, organization=org, assigned_to=d)
    few = queries_for_page()
    RepFactory.create_batch(30, organization=org, assigned_to=d)
    assert queries_for_page() == few


def test_create_user_form_reports_bad_input_next_to_the_field(admin_client, org):
    response = admin_client.post(
        reverse("accounts:user_create"),
        {"username": "bad name!", "role": "rep", "email": "not an address"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Use letters, digits" in body and "valid email address" in body
    assert not org.users.filter(display_name="bad name!").exists()


def test_admin_creates_a_distributor_and_lands_on_their_profile(admin_client, org):
    response = admin_client.post(
        reverse("accounts:user_create"),
        {
            "username": "dara",
            "display_name": "Dara D",
            "role": "distributor",
            "email": "dara@example.com",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert "Assigned Users" in response.content.decode()


def test_pooling_toggle_works_as_a_plain_form_post(admin_client, distributor):
    url = reverse("accounts:group_pooling", args=[distributor.pk])
    response = admin_client.post(url, {"pooling_enabled": "on"}, follow=True)
    body = response.content.decode()
    assert "Access Distributor&#x27;s Inventory is on" in body
    assert 'id="pooling-switch" checked' in body
    distributor.distributor_group.refresh_from_db()
    assert distributor.distributor_group.pooling_enabled is True
    # An unchecked checkbox is simply absent from the POST: that turns pooling off.
    admin_client.post(url, {})
    distributor.distributor_group.refresh_from_db()
    assert distributor.distributor_group.pooling_enabled is False
    history = admin_client.get(reverse("accounts:user_detail", args=[distributor.pk])).content
    assert b"turned Access Distributor&#x27;s Inventory off" in history


def test_assigning_a_rep_of_another_group_gives_a_clear_message(admin_client, org, distributor):
    other = DistributorFactory(organization=org, display_name="Drew")
    casey = RepFactory(organization=org, assigned_to=other, display_name="Casey")
    response = admin_client.post(
        reverse("accounts:group_assign", args=[distributor.pk]), {"rep": casey.pk}, follow=True
    )
    assert "Casey is already assigned to Drew" in response.content.decode()
    assert GroupMembership.objects.get(rep=casey).group == other.distributor_group


def test_assigning_a_user_of_another_organization_changes_nothing(admin_client, distributor):
    stranger = RepFactory()
    response = admin_client.post(
        reverse("accounts:group_assign", args=[distributor.pk]), {"rep": stranger.pk}, follow=True
    )
    assert "cannot be assigned" in response.content.decode()
    assert not GroupMembership.objects.filter(rep=stranger).exists()
    assert not GroupChange.objects.exists()


def test_assigned_users_offers_only_free_active_reps(admin_client, org, distributor):
    free = RepFactory(organization=org, display_name="Free Rep")
    RepFactory(organization=org, display_name="Gone Rep", is_active=False)
    RepFactory(
        organization=org, display_name="Taken Rep", assigned_to=DistributorFactory(organization=org)
    )
    body = admin_client.get(reverse("accounts:user_detail", args=[distributor.pk])).content.decode()
    assert f'<option value="{free.pk}">Free Rep' in body
    assert "Gone Rep" not in body and "Taken Rep" not in body


def test_another_organizations_user_ids_are_404(admin_client):
    stranger = DistributorFactory()
    assert admin_client.get(reverse("accounts:user_detail", args=[stranger.pk])).status_code == 404
    response = admin_client.post(
        reverse("accounts:group_pooling", args=[stranger.pk]), {"pooling_enabled": "on"}
    )
    assert response.status_code == 404
    stranger.distributor_group.refresh_from_db()
    assert stranger.distributor_group.pooling_enabled is False


@pytest.mark.parametrize("who", ["rep", "distributor"])
def test_non_admins_get_403_on_user_pages(client, who, rep, distributor):
    client.force_login({"rep": rep, "distributor": distributor}[who])
    assert client.get(reverse("accounts:user_list")).status_code == 403
    response = client.post(
        reverse("accounts:group_pooling", args=[distributor.pk]), {"pooling_enabled": "on"}
    )
    assert response.status_code == 403
    distributor.distributor_group.refresh_from_db()
    assert distributor.distributor_group.pooling_enabled is False


def test_deactivated_user_cannot_log_in(client, admin_user, org):
    from tests.factories import PASSWORD

    rep = RepFactory(organization=org)
    client.force_login(admin_user)
    client.post(reverse("accounts:user_set_active", args=[rep.pk]), {"active": "0"})
    client.logout()
    response = client.post(reverse("login"), {"username": rep.username, "password": PASSWORD})
    assert response.status_code == 200  # the form again, with its error
    assert "_auth_user_id" not in client.session


def test_login_page_uses_standard_fields(client):
    body = client.get(reverse("login")).content.decode()
    assert 'name="username"' in body and 'name="password"' in body
