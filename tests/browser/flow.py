"""Steps of the student's path, shared by the exam-flow browser tests."""

from __future__ import annotations

import json
import time
from typing import Any

from .conftest import ARTIFACTS, Browser

MANUAL = ("screen_share", "photo_id", "room_scan")  # need the student's click
CHECK_TIMEOUT_S = 90  # camera test: a frame goes to the worker's face detector and back


def hv_state(b: Browser) -> bool:
    return bool(b.driver.execute_script(
        "return document.documentElement.classList.contains('high-visibility')"))


def _frames() -> list[Any]:
    """What the server knows of the camera-test frames (for failure messages)."""
    from proctor_lti.exams.models import PrecheckFrame

    return list(PrecheckFrame.objects.values("kind", "state", "result", "created_at"))


def page(b: Browser, label: str, high_visibility: bool) -> None:
    """Screenshot + axe for the current page, asserting the mode the student chose."""
    b.wait(lambda d: d.execute_script("return document.readyState") == "complete", 15)
    assert hv_state(b) == high_visibility, f"{label}: high-visibility mode not {high_visibility}"
    b.shot(label)
    b.axe(label + (" (high visibility)" if high_visibility else ""))


def before_you_begin(b: Browser, *, high_visibility: bool) -> None:
    b.find("#start-prechecks", timeout=30)
    assert "Before you begin" in b.find("#page-title").text
    if high_visibility:
        page(b, "before you begin", False)
        b.high_visibility(True)
    page(b, "before you begin", high_visibility)
    assert b.driver.find_element("id", "warning-box").get_attribute("hidden") is not None, \
        "the warning box is shown although every requirement is met: " + b.text()[-600:]
    b.click("#start-prechecks")


def prechecks(b: Browser, *, high_visibility: bool) -> None:
    b.find("[data-testid=checks]")
    deadline = time.monotonic() + CHECK_TIMEOUT_S
    clicked: set[str] = set()
    states: list[list[str]] = []
    while time.monotonic() < deadline:
        # [check, state, message] in page order (the checks run in that order).
        states = b.driver.execute_script(
            "return [...document.querySelectorAll('li.check')].map(li => [li.dataset.check, "
            "li.dataset.state, document.getElementById('result-' + li.dataset.check)"
            ".textContent]);")
        if b.driver.execute_script("return !document.getElementById('to-agreement').hidden"):
            break
        failed = [s for s in states if s[1] == "failed"]
        assert not failed, f"pre-checks failed: {failed} {_frames()}"
        for index, (check, state, _message) in enumerate(states):
            if check in MANUAL and check not in clicked and state == "waiting" \
                    and all(s[1] == "passed" for s in states[:index]):
                b.click(f"#run-{check}")
                clicked.add(check)
        time.sleep(0.3)
    else:
        raise AssertionError(f"pre-checks did not finish in {CHECK_TIMEOUT_S}s: {states}")
    page(b, "pre-checks passed", high_visibility)
    b.click("#to-agreement")


def agreement(b: Browser, *, high_visibility: bool) -> None:
    b.find("#begin-exam")
    page(b, "exam agreement", high_visibility)
    accept = b.driver.find_elements("id", "accept")
    if accept and not accept[0].is_selected():
        accept[0].click()
    b.click("#begin-exam")


def start_session(b: Browser, *, high_visibility: bool) -> None:
    b.click("#start-recording", timeout=30)
    b.wait(lambda d: d.execute_script(
        "return document.getElementById('recording-indicator').dataset.state") == "recording",
        30, lambda: "recording did not start: " + b.driver.execute_script(
            "return document.getElementById('start-error').textContent"))


def end_session(b: Browser, *, high_visibility: bool) -> None:
    b.click("#end-exam")
    b.click("#end-confirm")


def record_timing(name: str, seconds: float, extra: dict[str, Any] | None = None) -> None:
    path = ARTIFACTS / "timings.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = {"seconds": round(seconds, 2), **(extra or {})}
    path.write_text(json.dumps(data, indent=2))
    print(f"\n[timing] {name}: {seconds:.1f} s")  # noqa: T201
