"""An address under /api/ that matches no URL answers in the API's JSON error shape, as the
schema promises every answer is JSON (schemathesis found the HTML 404 page there)."""

import pytest


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
