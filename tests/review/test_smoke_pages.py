"""The review pages render for the course's instructor."""

from __future__ import annotations

import pytest
from django.urls import reverse

from proctor_lti.review.services import score_recalculate

pytestmark = pytest.mark.django_db


def test_it_renders_the_overview_and_attempt_page_for_the_instructor(client, world):
    score_recalculate(attempt=world.attempt_charlie)
    client.force_login(world.alice)
    page = client.get(reverse("review:exam", args=[world.exam_a.pk]))
    assert page.status_code == 200, page.content[:2000]
    body = page.content.decode()
    assert "Charlie Student" in body and "Dave Student" in body
    page = client.get(reverse("review:attempt", args=[world.attempt_charlie.pk]))
    assert page.status_code == 200, page.content[:3000]
    body = page.content.decode()
    assert 'id="webcam-player"' in body and 'class="tl-flag"' in body
    page = client.get(reverse("review:report", args=[world.attempt_charlie.pk]))
    assert page.status_code == 200
