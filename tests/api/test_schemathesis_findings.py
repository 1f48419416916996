"""What schemathesis found, each kept as a plain test: an address under /api/ that matches no
URL answered the HTML 404 page where the schema promises JSON; a NUL byte in the custodian
filter reached PostgreSQL, which refuses it (a 500)."""

import pytest

from tests.api.test_api_permissions import token_for
from tests.factories import UserFactory


@pytest.mark.parametrize("path", ["/api/v1/units/null,null/", "/api/v1/no-such-thing/", "/api/"])
def test_an_unknown_api_address_is_a_json_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_found"


def test_a_missing_slash_still_redirects_to_the_api_url(client):
    response = client.get("/api/v1/units")
    assert response.status_code == 301 and response["Location"] == "/api/v1/units/"


@pytest.mark.django_db
def test_an_unknown_page_is_still_the_html_404_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_nul_byte_in_a_filter_is_a_400_not_a_server_error(client):
    admin = UserFactory(admin=True)
    response = client.get(
        "/api/v1/units/", {"custodian": "\x00x"}, HTTP_AUTHORIZATION=f"Bearer {token_for(admin)}"
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"]["custodian"]
