import pytest


@pytest.mark.django_db
def test_healthz_reports_database_broker_and_storage(client):
    response = client.get("/healthz")
    body = response.json()
    assert set(body["checks"]) == {"database", "broker", "storage"}
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["storage"] == "ok"
    assert response.status_code == (200 if body["checks"]["broker"] == "ok" else 503)


@pytest.mark.django_db
def test_healthz_is_503_when_the_broker_is_down(client, settings, monkeypatch):
    from proctor_lti.celery import app

    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:1/0")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"].startswith("error")
