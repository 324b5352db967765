"""OIDC login and launch endpoints under odd input: 4xx pages, nothing injected, no 500."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

LOGIN = {"iss": "https://lms.example.edu", "login_hint": "u-1",
         "target_link_uri": "https://testserver/lti/launch/", "client_id": "tool-client"}


@pytest.fixture
def client() -> Client:
    return Client(raise_request_exception=False)


@pytest.mark.parametrize("params", [
    {**LOGIN, "iss": "x" * 100_000},
    {**LOGIN, "iss": "https://lms.example.edu\x00"},
    {**LOGIN, "client_id": "é" * 300},
    {**LOGIN, "lti_deployment_id": "dep\r\nSet-Cookie: x=1"},
    {**LOGIN, "client_id": "tool-client\x00"},
    {**LOGIN, "lti_deployment_id": "dep-1\x00"},
    {**LOGIN, "target_link_uri": "javascript:alert(1)"},
], ids=["huge-iss", "nul-iss", "long-client", "crlf-deployment", "nul-client", "nul-deployment",
         "js-target"])
def test_it_answers_odd_login_requests_without_a_server_error(client, platform, params):
    response = client.get("/lti/login/", params, secure=True)
    assert response.status_code in (302, 400, 403)
    assert "x=1" not in response.cookies
    if response.status_code == 302:
        assert response["Location"].startswith("https://lms.example.edu/auth?")


def test_it_escapes_the_storage_target_in_the_platform_storage_page(client, platform):
    target = '</script><script>alert(1)</script>'
    response = client.get("/lti/login/", {**LOGIN, "lti_storage_target": target}, secure=True)
    assert response.status_code == 200
    assert b"<script>alert(1)" not in response.content


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_it_refuses_other_methods_on_the_lti_endpoints(client, platform, method):
    assert getattr(client, method)("/lti/launch/", secure=True).status_code == 405


@pytest.mark.parametrize("data", [
    {"id_token": "a.b.c", "state": "\x00"},
    {"id_token": "a.b.c", "state": "s" * 100_000},
    {"id_token": "x" * 1_000_000, "state": "unknown"},
], ids=["nul-state", "huge-state", "huge-token"])
def test_it_refuses_launches_with_odd_fields_with_a_4xx(client, platform, data):
    response = client.post("/lti/launch/", data, secure=True)
    assert 400 <= response.status_code < 500
