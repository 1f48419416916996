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
    assert "who can be assigned" in response.content.decode()
    assert GroupMembership.objects.get(rep=casey).group == other.distributor_group


def test_assigning_a_user_of_another_organization_changes_nothing(admin_client, distributor):
    stranger = RepFactory()
    for typed in (stranger.pk, stranger.username, f"{stranger.name} ({stranger.username})"):
        response = admin_client.post(
            reverse("accounts:group_assign", args=[distributor.pk]), {"rep": typed}, follow=True
        )
        assert "who can be assigned" in response.content.decode()
    assert not GroupMembership.objects.filter(rep=stranger).exists()
    assert not GroupChange.objects.exists()


def test_assigning_a_rep_by_typing_part_of_the_name_works_without_javascript(
    admin_client, org, distributor
):
    riley = RepFactory(organization=org, username="riley", display_name="Riley Rowe")
    url = reverse("accounts:group_assign", args=[distributor.pk])
    response = admin_client.post(url, {"rep": "rowe"}, follow=True)
    assert "Assigned Riley Rowe" in response.content.decode()
    assert GroupMembership.objects.get(rep=riley).group == distributor.distributor_group


def test_an_ambiguous_name_puts_the_form_back_listing_the_matches(admin_client, org, distributor):
    RepFactory(organization=org, username="sam1", display_name="Sam North")
    RepFactory(organization=org, username="sam2", display_name="Sam South")
    url = reverse("accounts:group_assign", args=[distributor.pk])
    response = admin_client.post(url, {"rep": "sam"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "matches several people: Sam North (sam1), Sam South (sam2)" in body
    assert 'value="sam"' in body  # the text as typed, to refine
    assert not GroupMembership.objects.exists()
    response = admin_client.post(url, {"rep": "Sam South (sam2)"}, follow=True)
    assert "Assigned Sam South" in response.content.decode()


def test_assigned_users_picker_lists_nobody_and_asks_the_endpoint(admin_client, org, distributor):
    RepFactory.create_batch(3, organization=org)
    body = admin_client.get(reverse("accounts:user_detail", args=[distributor.pk])).content
    body = body.decode()
    assert "<option" not in body.split('data-testid="assign-rep"')[1]
    assert 'data-holder-url="/users/holders/?purpose=unassigned_rep"' in body
    assert 'list="id_rep_options"' in body and '<datalist id="id_rep_options">' in body


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


def _next_link(body):
    import html
    import re

    match = re.search(r'rel="next" href="([^"]+)"', body)
    return html.unescape(match.group(1)) if match else None


def test_user_list_pages_by_cursor_without_skipping_users_added_between_clicks(
    admin_client, org, admin_user
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    RepFactory.create_batch(55, organization=org, display_name="Same Name")  # ties on the key
    url = reverse("accounts:user_list")
    with CaptureQueriesContext(connection) as first:
        body = admin_client.get(url, {"role": "rep"}).content.decode()
    seen = body.count('<td class="card-lead"><a href="/users/')
    assert seen == 50 and "Page 1" in body
    next_url = _next_link(body)
    assert "after=" in next_url and "role=rep" in next_url  # other filters survive
    # A user who sorts before the cursor and one who sorts after it arrive between clicks.
    RepFactory(organization=org, display_name="Aaron Early")
    RepFactory(organization=org, display_name="Zed Late")
    with CaptureQueriesContext(connection) as second:
        body = admin_client.get(url + next_url).content.decode()
    assert len(second) == len(first)
    assert "Zed Late" in body and "Aaron Early" not in body
    assert body.count("Same Name") == 5 and _next_link(body) is None
    sql = [
        q["sql"]
        for q in second.captured_queries
        if "LIMIT" in q["sql"] and q["sql"].startswith('SELECT "accounts_user"')
    ][-1]
    assert "OFFSET" not in sql.upper() and sql.rstrip().endswith("LIMIT 51")


def test_user_list_with_a_broken_cursor_says_so_and_shows_the_first_page(admin_client, org):
    RepFactory(organization=org, display_name="Riley Rep")
    response = admin_client.get(reverse("accounts:user_list"), {"after": "garbage!"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "That page link is broken or out of date" in body and "Riley Rep" in body
