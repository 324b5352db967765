"""Issue 4 in a real browser: the student's recording reaches the server exactly once
whatever the network does — a 60 s outage, a page reload with chunks still queued in
IndexedDB, a 0.25 Mbps uplink — and the attempt is never ended by the network.

The network is changed with DevTools emulation (Network.emulateNetworkConditions); it
does not stop MediaRecorder, only the page's network, exactly like a dropped Wi-Fi link.
Figures measured here go to test-artifacts/timings.json (flow.record_timing).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from proctor_lti.exams.models import Attempt

from . import flow
from . import network_helpers as net
from .worker import _point_app_at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ENDED = {"submitted", "analysing", "reviewable", "reviewed"}
OUTAGE_S = float(os.environ.get("NETWORK_TEST_OUTAGE_S", "60"))
SLOW_S = float(os.environ.get("NETWORK_TEST_SLOW_S", "40"))
SLOW_BPS = 31250  # bytes/s: 0.25 Mbit/s


@pytest.fixture(autouse=True)
def concurrent_database() -> None:
    """Two recorders, events and heartbeats upload at once: the live server's threads share
    an in-memory SQLite test database, which answers "table is locked" (503) under that
    load. These tests need the real PostgreSQL (`source scripts/services-env.sh`)."""
    from django.db import connection

    from tests.conftest import ON_CI

    if connection.vendor != "postgresql":
        message = "these browser tests need PostgreSQL (source scripts/services-env.sh)"
        if ON_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(autouse=True)
def private_broker(tmp_path: Path) -> Iterator[None]:
    """Segments completed during these tests are queued for analysis (after commit) on a
    broker of their own, so no shared queue or worker of another run picks them up; the
    analysis itself is covered by the recordings and exam-flow tests."""
    folder = tmp_path / "broker"
    for sub in ("out", "processed"):
        (folder / sub).mkdir(parents=True)
    previous = _point_app_at("filesystem://", {
        "data_folder_in": str(folder / "out"), "data_folder_out": str(folder / "out"),
        "processed_folder": str(folder / "processed"), "store_processed": False})
    yield
    _point_app_at(*previous)


def _status(attempt: Attempt) -> str:
    attempt.refresh_from_db(fields=["status"])
    return attempt.status


def _end_and_collect(b, attempt: Attempt, timeout: float = 90) -> dict:
    """Click End exam; wait for the ended page; never see the "still pending" message."""
    flow.end_session(b, high_visibility=False)
    saw_pending = []

    def ended(d) -> bool:
        text = d.execute_script(
            "const p = document.getElementById('end-progress'); return p ? p.textContent : ''")
        if text and "still being sent" in text:
            saw_pending.append(text)
        return bool(d.find_elements("css selector", "[data-testid=ended-title]"))

    b.wait(ended, timeout, lambda: f"the exam did not end: {net.page_state(b, attempt.pk)}")
    assert not saw_pending, f"End exam reported pending pieces: {saw_pending}"
    return net.page_state(b, attempt.pk)


def test_a_60_second_outage_loses_nothing_and_never_ends_the_attempt(make_browser, site):
    net.configure_exam(screen=True)
    b = make_browser()
    attempt = net.reach_session(b, site)
    time.sleep(8)  # a little recording on a good link first
    before = net.page_state(b, attempt.pk)
    assert before["produced"]["webcam"] >= 1, before

    net.emulate(b, offline=True)
    went_offline = time.monotonic()
    b.wait(lambda d: net.page_state(b, attempt.pk)["noticeShown"], 20,
           "no offline notice within 20 s of losing the network")
    b.shot("offline notice")
    notice = net.page_state(b, attempt.pk)
    assert "Your exam continues" in notice["noticeText"], notice
    b.axe("session while offline")
    samples = net.sleep_watching(
        b, OUTAGE_S - (time.monotonic() - went_offline),
        lambda: (_status(attempt), net.page_state(b, attempt.pk)), every=5)
    assert {s for s, _ in samples} == {"in_progress"}, [s for s, _ in samples]
    during = samples[-1][1]
    assert during["noticeShown"], "the offline notice disappeared while still offline"
    assert during["status"] == "offline", during["status"]
    queued_offline = len(during["queued"])
    assert queued_offline >= 2 * (OUTAGE_S // 6) - 2, (
        f"expected about {OUTAGE_S / 6:.0f} segments per stream queued while offline: {during}")
    # Nothing reached the server while offline.
    held_offline = net.stored(attempt)

    net.emulate(b, offline=False)
    restored = time.monotonic()
    b.wait(lambda d: not net.page_state(b, attempt.pk)["noticeShown"], 30,
           "the offline notice stayed after the network came back")
    # Catching up: every chunk queued while offline is sent without the student doing
    # anything (no End exam, no reload).
    b.wait(lambda d: not net.page_state(b, attempt.pk)["queued"] or None, 60,
           lambda: f"the queue did not drain within 60 s: {net.page_state(b, attempt.pk)}")
    caught_up_s = time.monotonic() - restored
    # Back online, the backlog goes at once (not after the backoff built up while offline).
    assert caught_up_s < 30, f"catching up took {caught_up_s:.0f} s after the network returned"
    assert _status(attempt) == "in_progress"
    b.shot("caught up")

    after = _end_and_collect(b, attempt)
    counts = net.assert_exactly_once(attempt, after, net.STREAMS)
    for kind in net.STREAMS:
        assert len(held_offline[kind]) < counts[kind]
    offline_posts = [p for p in after["posts"] if p["status"] == 0]
    assert offline_posts, "no upload was even tried while offline (the probe saw none)"
    assert _status(attempt) in ENDED
    flow.record_timing("network_outage_catch_up", caught_up_s, {
        "outage_s": OUTAGE_S, "queued_while_offline": queued_offline,
        "chunks_stored": counts, "failed_posts_while_offline": len(offline_posts),
        "posts_total": len(after["posts"])})
    net.save_console(b, "console")


def _reload(b) -> None:
    """Reload the tab as a student pressing F5 would (accepting "Leave site?" if asked)."""
    from selenium.common.exceptions import NoAlertPresentException, TimeoutException
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    b.driver.execute_script("setTimeout(() => location.reload(), 0)")
    with contextlib.suppress(TimeoutException, NoAlertPresentException):
        WebDriverWait(b.driver, 3).until(ec.alert_is_present()).accept()
    b.wait(lambda d: d.execute_script("return document.readyState") == "complete"
           and d.find_elements("id", "start-recording"), 30, "the session page did not reload")


def test_chunks_queued_offline_are_sent_once_after_a_page_reload(make_browser, site):
    net.configure_exam(screen=False)
    b = make_browser()
    attempt = net.reach_session(b, site)
    net.emulate(b, offline=True)
    b.wait(lambda d: len(net.page_state(b, attempt.pk)["queued"]) >= 3, 40,
           lambda: f"nothing queued while offline: {net.page_state(b, attempt.pk)}")
    # Keep the upload API unreachable across the reload (the page itself must load), so
    # the chunks cross the reload in IndexedDB and nowhere else.
    b.driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/api/attempts/*"]})
    net.emulate(b, offline=False)
    queued_before = net.page_state(b, attempt.pk)["queued"]
    held_before = net.stored(attempt)["webcam"]
    waiting = [seq for stream, seq, _size in queued_before if stream == "webcam"]
    assert waiting and not set(waiting) & set(held_before), (queued_before, held_before)

    _reload(b)
    after_reload = net.page_state(b, attempt.pk)
    kept = {tuple(q[:2]) for q in after_reload["queued"]}
    assert {tuple(q[:2]) for q in queued_before} <= kept, \
        "chunks queued before the reload are not in IndexedDB after it"
    assert _status(attempt) == "in_progress"
    b.driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
    reopened = time.monotonic()
    # The upload client resumes on page load, before the student restarts recording.
    b.wait(lambda d: set(waiting) <= set(net.stored(attempt)["webcam"]), 60,
           lambda: f"queued chunks not sent after the reload: {net.page_state(b, attempt.pk)}")
    resent_s = time.monotonic() - reopened
    flow.start_session(b, high_visibility=False)
    time.sleep(7)  # one more segment after the reload
    after = _end_and_collect(b, attempt)
    counts = net.assert_exactly_once(attempt, after, ("webcam",))
    assert counts["webcam"] > max(waiting) + 1, "no segment recorded after the reload"
    assert _status(attempt) in ENDED
    flow.record_timing("network_reload_resend", resent_s, {
        "queued_across_reload": len(queued_before), "chunks_stored": counts})


def test_a_quarter_megabit_uplink_lowers_the_webcam_bitrate_and_keeps_up(make_browser, site):
    net.configure_exam(screen=True)
    b = make_browser()
    attempt = net.reach_session(b, site)
    time.sleep(7)
    first = net.page_state(b, attempt.pk)["recorders"]
    full = [r["asked"] for r in first if r["label"] != "audio" and "creen" not in r["label"]]
    net.emulate(b, upload_bps=SLOW_BPS, latency_ms=150)
    throttled = time.monotonic()
    samples = net.sleep_watching(b, SLOW_S, lambda: (time.monotonic() - throttled,
                                                    net.page_state(b, attempt.pk)), every=4)
    state = samples[-1][1]
    recs = [r for r in state["recorders"] if r["at"] / 1000 > time.time() - SLOW_S - 1]
    webcam_asked = [r["asked"] for r in state["recorders"] if r["label"] != "audio"
                    and "creen" not in r["label"]]
    backlog = [(round(t), s["queuedBytes"], len(s["queued"])) for t, s in samples]
    slow_posts = [p for p in state["posts"] if p["at"] / 1000 > time.time() - SLOW_S]
    sent_bytes = sum(p["bytes"] for p in slow_posts if p["status"] in (200, 201))
    print("recorders", state["recorders"])  # noqa: T201
    print("backlog", backlog)  # noqa: T201
    assert full and full[0] >= 400000, f"not at full bitrate on a fast link: {first}"
    lowest = min(webcam_asked)
    assert lowest <= 150000, (
        f"the webcam bitrate was not lowered on a 0.25 Mbps link: asked {webcam_asked}")
    assert recs, "no recorder restarted while the link was slow"
    webcam_fps = [r["fps"] for r in state["recorders"] if r["label"] != "audio"
                  and "creen" not in r["label"]]
    assert min(webcam_fps) < 15, f"the webcam frame rate was not lowered: {webcam_fps}"
    # Bounded backlog: what waits at the end of the slow period is at most ~3 segments'
    # worth at the full bitrate, and it is not growing any more.
    max_backlog = max(q for _t, q, _n in backlog)
    assert backlog[-1][1] <= 600_000, backlog
    net.emulate(b)  # fast again
    restored = time.monotonic()
    b.wait(lambda d: not net.page_state(b, attempt.pk)["queued"] or None, 60,
           lambda: f"the backlog did not drain: {net.page_state(b, attempt.pk)}")
    caught_up_s = time.monotonic() - restored
    after = _end_and_collect(b, attempt)
    counts = net.assert_exactly_once(attempt, after, net.STREAMS)
    flow.record_timing("network_slow_link", SLOW_S, {
        "link_bps": SLOW_BPS * 8, "webcam_bitrates_asked": webcam_asked,
        "webcam_frame_rates": webcam_fps,
        "max_backlog_bytes": max_backlog, "backlog_end_bytes": backlog[-1][1],
        "sent_bytes_while_slow": sent_bytes, "catch_up_after_restore_s": round(caught_up_s, 1),
        "chunks_stored": counts})


def test_timeslice_chunks_are_stored_and_reassemble_into_segments_that_decode(
        make_browser, site, settings, tmp_path):
    """EXAM_CHUNK_SECONDS > 0: Chromium cuts every chunk after a segment's first one in the
    middle of a WebM element. The server must take them all and rebuild each segment into
    media that decodes, which is what analysis reads."""
    from detection.media import decode
    from proctor_lti.recordings.analysis import segment_plaintext_chunks
    from proctor_lti.recordings.models import Segment

    settings.EXAM_CHUNK_SECONDS = 2
    net.configure_exam(screen=False)
    b = make_browser()
    attempt = net.reach_session(b, site)
    time.sleep(14)  # two whole 6 s segments of three chunks each, and a third begun
    after = _end_and_collect(b, attempt)
    net.assert_exactly_once(attempt, after, ("webcam",))
    segments = list(Segment.objects.filter(recording__attempt=attempt,
                                           recording__kind="webcam").order_by("index"))
    assert len(segments) >= 2, segments
    cut_mid_element = 0
    for segment in segments:
        pieces = segment_plaintext_chunks(segment)
        assert pieces and pieces[0].startswith(b"\x1a\x45\xdf\xa3"), segment
        cut_mid_element += sum(1 for p in pieces[1:] if not p.startswith(b"\x1a\x45\xdf\xa3"))
        path = tmp_path / f"segment-{segment.index}.webm"
        path.write_bytes(b"".join(pieces))
        stats = decode(path, sample_fps=2)
        assert stats.video_frames > 0 and stats.duration_s > 0.5, (segment.index, stats)
    assert cut_mid_element >= 2, "no segment had a continuation chunk"


def test_resuming_in_another_browser_continues_the_numbering_and_loses_nothing(
        make_browser, site):
    """A student whose laptop dies relaunches the exam from another browser (no localStorage,
    no IndexedDB of the first one): the new recording must be stored after the old one,
    not refused as a conflict with chunks the server already holds."""
    from tests.browser.network_helpers import FETCH_PROBE

    exam = net.configure_exam(screen=False)
    exam.lockdown = {**exam.lockdown, "reentry": "allowed"}
    exam.save()
    first = make_browser()
    attempt = net.reach_session(first, site)
    time.sleep(8)
    before = net.stored(attempt)["webcam"]
    assert before, "the first browser stored nothing"
    first.driver.quit()

    second = make_browser()
    second.driver.get(site.lms())
    second.click(f"#launch-{net.roster.ACCESS_CODE_LINK_ID}-ada")
    lms_window = second.driver.current_window_handle
    second.click("#open-in-new-window")
    second.wait(lambda d: len(d.window_handles) == 2, 10, "the tool window did not open")
    second.driver.switch_to.window(
        [h for h in second.driver.window_handles if h != lms_window][0])
    second.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                                  {"source": FETCH_PROBE})
    second.driver.refresh()
    flow.start_session(second, high_visibility=False)
    time.sleep(8)
    after = _end_and_collect(second, attempt)
    held = net.stored(attempt)["webcam"]
    conflicts = [p for p in after["posts"] if p["status"] == 409]
    assert not conflicts, f"chunks refused as conflicts: {conflicts}"
    assert len(held) > len(before) and len(held) == len(set(held)), (before, held)
    assert held[:len(before)] == before and min(held[len(before):]) > max(before), held
