import pytest


@pytest.mark.django_db
def test_admin_pages_other_than_login_cannot_be_framed_by_other_sites(admin_client):
    response = admin_client.get("/admin/")
    assert response["Content-Security-Policy"] == "frame-ancestors 'self'"
    assert response["X-Frame-Options"] == "SAMEORIGIN"


@pytest.mark.django_db
def test_the_admin_login_can_be_framed_for_dynamic_registration(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert "frame-ancestors" not in response.get("Content-Security-Policy", "")
