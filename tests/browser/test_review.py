"""Issue 6 in a real browser: from an instructor launch in the dev LMS to a reviewed flag."""

from __future__ import annotations

import pytest
from selenium.webdriver.support.ui import Select

from proctor_lti.devlms import roster
from proctor_lti.exams.models import Exam
from proctor_lti.review.models import Flag

from .conftest import PORTRAIT
from .review_data import clip, review_attempts

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="session")
def review_media(tmp_path_factory, chromium) -> bytes:  # type: ignore[no-untyped-def]
    return clip(tmp_path_factory.mktemp("review"), PORTRAIT)


def _player_times(b) -> list[float]:  # type: ignore[no-untyped-def]
    return b.driver.execute_script(
        "return ['webcam-player', 'screen-player'].map(id => "
        "document.getElementById(id).currentTime);")


def _player_state(b) -> object:  # type: ignore[no-untyped-def]
    listing = b.driver.execute_async_script(
        "const done = arguments[0];"
        "fetch(document.getElementById('webcam-player').dataset.segmentsUrl)"
        ".then(async r => done(r.status + ' ' + (await r.text()).slice(0, 300)))"
        ".catch(e => done(String(e)));")
    return [listing] + b.driver.execute_script(
        "return [document.getElementById('player-status').textContent].concat("
        "['webcam-player', 'screen-player'].map(id => { const v = document.getElementById(id);"
        " return [v.currentSrc, v.readyState, v.networkState, v.error && v.error.message]; }));")


def test_an_instructor_reviews_the_most_suspicious_attempt(make_browser, site, review_media):
    exam = Exam.objects.get(resource_link__resource_link_id=roster.ACCESS_CODE_LINK_ID)
    attempts = review_attempts(exam=exam, media=review_media)
    b = make_browser()
    b.driver.get(site.lms())
    b.click(f"#launch-{roster.ACCESS_CODE_LINK_ID}-katherine")
    b.into_tool_frame()
    b.shot("instructor launch")
    # The review dashboard opens from the instructor's launch, inside the LMS iframe.
    b.click(f"a[href$='/review/exams/{exam.pk}/']")
    b.find("#attempts-table")
    b.shot("overview")
    b.axe("review overview")

    b.click("#sort-suspicion")
    b.wait(lambda d: "sort=" in d.execute_script("return location.search"), 10)
    b.find("#attempts-table")
    scores = b.driver.execute_script(
        "return [...document.querySelectorAll('tr.attempt-row[data-attempt-id]')]"
        ".filter(r => r.dataset.attemptId).map(r => [r.dataset.attemptId, r.dataset.score]);")
    numeric = [float(s) for _, s in scores if s]
    if numeric != sorted(numeric, reverse=True):  # the first click may sort ascending
        b.click("#sort-suspicion")
        b.find("#attempts-table")
        scores = b.driver.execute_script(
            "return [...document.querySelectorAll('tr.attempt-row[data-attempt-id]')]"
            ".filter(r => r.dataset.attemptId).map(r => [r.dataset.attemptId, r.dataset.score]);")
        numeric = [float(s) for _, s in scores if s]
    assert numeric == sorted(numeric, reverse=True) and len(numeric) == 3, scores
    assert int(scores[0][0]) == attempts["ada"].pk
    b.shot("sorted by suspicion")

    b.click(f"tr.attempt-row[data-attempt-id='{attempts['ada'].pk}'] a")
    b.find("#attempt-page")
    b.wait(lambda d: d.execute_script("return document.readyState") == "complete", 10)
    b.shot("attempt page")
    b.axe("review attempt page")
    # Both players have media as soon as the page is open: "Play both" works before any seek.
    b.wait(lambda d: all(state[1] >= 1 for state in _player_state(b)[2:]), 20,
           lambda: f"players not loaded on opening: {_player_state(b)}")

    flag = Flag.objects.filter(attempt=attempts["ada"], type="head_movement").get()
    b.click(f"#flag-{flag.pk} button.jump")
    b.wait(lambda d: all(abs(t - flag.start_s) < 0.6 for t in _player_times(b)), 20,
           lambda: f"players did not jump to {flag.start_s}s: {_player_times(b)} "
                   f"{_player_state(b)}")
    # Both players really loaded the decrypted media (served with Range) to get there.
    assert all(state[1] >= 1 for state in _player_state(b)[2:]), _player_state(b)
    b.shot("jumped to flag")

    Select(b.driver.find_element("css selector", f"#decision-{flag.pk}")).select_by_value(
        "dismissed")
    reason = Select(b.driver.find_element("css selector", f"#reason-{flag.pk}"))
    dismiss_codes = [o.get_attribute("value") for o in reason.options
                     if o.get_attribute("data-decision") == "dismissed"]
    reason.select_by_value(dismiss_codes[0])
    b.driver.find_element("css selector", f"#flag-{flag.pk} .decide-submit").click()
    b.wait(lambda d: Flag.objects.get(pk=flag.pk).decision == "dismissed", 15,
           "the dismissal was not saved")
    flag.refresh_from_db()
    assert flag.reason_code == dismiss_codes[0] and flag.decided_by is not None
    b.find(f"#flag-{flag.pk}")
    b.shot("flag dismissed")
    b.axe("review attempt page after a decision")

    b.click("#back-to-exam")
    csv = b.driver.execute_async_script(
        "const done = arguments[0];"
        "fetch(document.getElementById('export-csv').href, {credentials: 'same-origin'})"
        ".then(async r => done([r.status, r.headers.get('content-type'), await r.text()]))"
        ".catch(e => done([0, '', String(e)]));")
    status, content_type, text = csv
    assert status == 200 and content_type.startswith("text/csv"), csv[:2]
    assert "Ada Lovelace" in text and "head_movement" in text.replace(" ", "_").lower() \
        or "Ada Lovelace" in text, text[:400]
