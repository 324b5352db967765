"""The development LMS in a real browser: its pages, a framed launch, fake devices."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_course_page_lists_the_launch_buttons_and_passes_axe(make_browser, site):
    b = make_browser()
    b.driver.get(site.lms())
    b.find("h1")
    text = b.text()
    assert "Launch demo exam as student Ada Lovelace" in text
    assert "Launch as instructor Katherine Johnson" in text
    assert "Add the tool via deep linking" in text
    assert "Start proctored exam (LTI Proctoring Services)" in text
    b.shot("course page")
    b.axe("dev LMS course page")


def test_a_student_launch_reaches_the_tool_inside_the_lms_iframe(make_browser, site):
    b = make_browser()
    b.driver.get(site.lms())
    b.click("#launch-demo-midterm-access-code-ada")
    b.find("#tool-frame")
    assert b.find("#open-in-new-window").get_attribute("target") == "_blank"
    b.axe("dev LMS launch page", exclude=["#tool-frame"])
    b.into_tool_frame()
    # The tool answered the launch on 127.0.0.1 while the LMS is on localhost: a real
    # cross-site iframe whose cookies (state, session) had to work.
    b.wait(lambda d: d.execute_script("return location.host").startswith("127.0.0.1")
           and "/lti/" not in d.execute_script("return location.pathname"), 30,
           "the launch did not leave /lti/ inside the iframe")
    b.shot("tool in iframe")
    body = b.text()
    assert "Something needs attention" not in body and "Error id" not in body, body[:500]


def test_screen_capture_is_granted_as_the_entire_screen(make_browser, site):
    b = make_browser()
    b.driver.get(site.lms())
    surface = b.driver.execute_async_script(
        "const done = arguments[0];"
        "navigator.mediaDevices.getDisplayMedia({video: true})"
        ".then(s => done(s.getVideoTracks()[0].getSettings().displaySurface))"
        ".catch(e => done('error: ' + e.name));")
    assert surface == "monitor"
    cam = b.driver.execute_async_script(
        "const done = arguments[0];"
        "navigator.mediaDevices.getUserMedia({video: true, audio: true})"
        ".then(s => done(s.getTracks().map(t => t.kind).sort().join(',')))"
        ".catch(e => done('error: ' + e.name));")
    assert cam == "audio,video"


def test_a_browser_without_fake_devices_finds_no_camera(make_browser, site):
    b = make_browser(devices=False)
    b.driver.get(site.lms())
    result = b.driver.execute_async_script(
        "const done = arguments[0];"
        "navigator.mediaDevices.getUserMedia({video: true})"
        ".then(() => done('ok')).catch(e => done(e.name));")
    assert result in ("NotFoundError", "NotReadableError", "NotAllowedError")
