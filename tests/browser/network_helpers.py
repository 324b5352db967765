"""Helpers for the network-resilience browser tests: a student in a recording session,
DevTools network emulation, and what the browser and the server each know of the upload.

The tool is launched from the dev LMS into a window of its own ("Open in a new window"), so
it runs at the top level of a tab: DevTools network emulation and
`Page.addScriptToEvaluateOnNewDocument` apply to the page's own target, not to a cross-site
(out-of-process) iframe, and the tool's cookies from a framed launch are partitioned.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from proctor_lti.devlms import roster
from proctor_lti.exams.models import Attempt, Exam
from proctor_lti.recordings.models import Chunk

from . import flow
from .conftest import Browser, Site

STREAMS = ("webcam", "screen")

# Every chunk POST the page makes and its answer: [{stream, seq, status}] in
# sessionStorage, so the record survives a reload of the page. Wrapping fetch observes the
# real requests of upload-client.js without changing them.
FETCH_PROBE = r"""
(() => {
  const KEY = "netprobe.chunks";
  const real = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const url = typeof input === "string" ? input : input.url;
    const m = /\/streams\/(\w+)\/chunks\/(\d+)$/.exec(url);
    const method = (init && init.method) || "GET";
    if (!m || method !== "POST") return real(input, init);
    const note = (status) => {
      const all = JSON.parse(sessionStorage.getItem(KEY) || "[]");
      all.push({ stream: m[1], seq: Number(m[2]), status, at: Date.now(),
                 bytes: init.body && init.body.size || 0 });
      sessionStorage.setItem(KEY, JSON.stringify(all));
    };
    try {
      const res = await real(input, init);
      note(res.status);
      return res;
    } catch (e) {
      note(0);  // network error (offline)
      throw e;
    }
  };
  // Each MediaRecorder the page makes, with the options it asked for: the bitrate a slow
  // link leads to. (A subclass: isTypeSupported and everything else are inherited.)
  const RealRecorder = window.MediaRecorder;
  if (RealRecorder) {
    window.MediaRecorder = class extends RealRecorder {
      constructor(stream, options) {
        super(stream, options);
        const all = JSON.parse(sessionStorage.getItem("netprobe.recorders") || "[]");
        const video = stream.getVideoTracks()[0];
        all.push({ at: Date.now(), video: this.videoBitsPerSecond,
                   asked: options && options.videoBitsPerSecond,
                   fps: video ? video.getSettings().frameRate : null,
                   label: video ? video.label : "audio" });
        sessionStorage.setItem("netprobe.recorders", JSON.stringify(all));
      }
    };
  }
})();
"""


def configure_exam(*, screen: bool = True) -> Exam:
    """The demo access-code exam, recording webcam + microphone (+ screen), with only the
    pre-checks that run in the browser (the camera test's worker round trip is covered by
    test_exam_flow.py; here the subject is the network)."""
    exam = Exam.objects.get(resource_link__resource_link_id=roster.ACCESS_CODE_LINK_ID)
    exam.recording = {**exam.recording, "webcam": True, "microphone": True, "screen": screen,
                      "room_scan": "off"}
    exam.verification = {**exam.verification, "camera": False, "microphone": False,
                         "screen_share": False, "photo_id": False, "agreement": True}
    exam.lockdown = {**exam.lockdown, "full_screen": "off"}
    exam.save()
    return exam


def attempt_of(user_key: str = "ada") -> Attempt:
    return Attempt.objects.select_related("exam").get(
        user__lti_identity__sub=roster.USERS[user_key].sub,
        exam__resource_link__resource_link_id=roster.ACCESS_CODE_LINK_ID)


def reach_session(b: Browser, site: Site, user_key: str = "ada") -> Attempt:
    """Launch from the dev LMS with "Open in a new window" (the tool at the top level of
    its own tab, as LMSes offer), install the fetch probe, walk the student pages and start
    recording."""
    b.driver.get(site.lms())
    b.click(f"#launch-{roster.ACCESS_CODE_LINK_ID}-{user_key}")
    lms_window = b.driver.current_window_handle
    b.click("#open-in-new-window")
    b.wait(lambda d: len(d.window_handles) == 2, 10, "the tool window did not open")
    b.driver.switch_to.window([h for h in b.driver.window_handles if h != lms_window][0])
    b.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": FETCH_PROBE})
    flow.before_you_begin(b, high_visibility=False)
    # The LMS tab (with its own framed launch) is not needed any more.
    tool_window = b.driver.current_window_handle
    b.driver.switch_to.window(lms_window)
    b.driver.close()
    b.driver.switch_to.window(tool_window)
    flow.prechecks(b, high_visibility=False)
    flow.agreement(b, high_visibility=False)
    flow.start_session(b, high_visibility=False)
    return attempt_of(user_key)


def emulate(b: Browser, *, offline: bool = False, upload_bps: float = -1,
            latency_ms: float = 0) -> None:
    """DevTools network conditions for the page (MediaRecorder keeps recording)."""
    b.driver.execute_cdp_cmd("Network.enable", {})
    b.driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
        "offline": offline, "latency": latency_ms, "downloadThroughput": -1,
        "uploadThroughput": upload_bps})


def page_state(b: Browser, attempt_id: int) -> dict[str, Any]:
    """What the page knows: chunks it produced per stream (its seq counters), what is still
    queued in IndexedDB, the upload status line, the probe's record of chunk POSTs."""
    return b.driver.execute_async_script(r"""
      const [attemptId, done] = [arguments[0], arguments[arguments.length - 1]];
      const produced = {};
      for (const s of ["webcam", "screen"]) {
        produced[s] = parseInt(localStorage.getItem(`proctor.${attemptId}.${s}.seq`) || "0", 10);
      }
      const status = document.getElementById("upload-status");
      const notice = document.getElementById("network-notice");
      const base = {produced, status: status && status.dataset.status,
                    statusText: status && status.textContent,
                    pending: status && status.dataset.pending,
                    noticeShown: !!notice && !notice.hidden,
                    noticeText: notice ? notice.textContent.trim() : "",
                    posts: JSON.parse(sessionStorage.getItem("netprobe.chunks") || "[]"),
                    recorders: JSON.parse(sessionStorage.getItem("netprobe.recorders") || "[]")};
      const req = indexedDB.open("proctor-uploads");
      req.onerror = () => done({...base, queued: null});
      req.onsuccess = () => {
        const db = req.result;
        if (!db.objectStoreNames.contains("chunks")) {
          db.close();
          return done({...base, queued: [], queuedBytes: 0});
        }
        const all = db.transaction("chunks").objectStore("chunks").getAll();
        all.onsuccess = () => {
          db.close();
          const mine = all.result.filter((r) => r.attemptId === attemptId);
          done({...base, queued: mine.map((r) => [r.stream, r.seq, r.size]),
                queuedBytes: mine.reduce((n, r) => n + r.size, 0)});
        };
        all.onerror = () => { db.close(); done({...base, queued: null}); };
      };
    """, attempt_id)


def stored(attempt: Attempt) -> dict[str, list[int]]:
    """Seqs the server holds, per stream (from the Chunk rows)."""
    out: dict[str, list[int]] = {}
    for kind in STREAMS:
        out[kind] = list(Chunk.objects.filter(recording__attempt=attempt, recording__kind=kind)
                         .order_by("seq").values_list("seq", flat=True))
    return out


def stored_bytes(attempt: Attempt) -> int:
    return sum(Chunk.objects.filter(recording__attempt=attempt).values_list("size", flat=True))


def assert_exactly_once(attempt: Attempt, state: dict[str, Any], streams: tuple[str, ...]
                        ) -> dict[str, int]:
    """Every chunk the browser produced is stored once: contiguous seqs from 0, as many
    rows as the page's counter, nothing left queued, and no request the server refused."""
    held = stored(attempt)
    counts = {}
    for kind in streams:
        seqs = held[kind]
        produced = state["produced"][kind]
        assert produced > 0, f"the page produced no {kind} chunk: {state}"
        assert seqs == list(range(produced)), (
            f"{kind}: the page produced seqs 0..{produced - 1}, the server holds {seqs} "
            f"(missing {sorted(set(range(produced)) - set(seqs))}, "
            f"extra {sorted(set(seqs) - set(range(produced)))})")
        counts[kind] = produced
    assert state["queued"] == [], f"still queued in IndexedDB: {state['queued']}"
    # 0 (network error), 401 (token renewal), 422 (damaged on the way), 429, 5xx and 507
    # are "send again later"; these are final refusals and must never happen.
    refused = [p for p in state["posts"] if p["status"] in (400, 403, 404, 409, 413, 415)]
    assert not refused, f"the server refused chunks: {refused[:20]}"
    return counts


def save_console(b: Browser, name: str) -> None:
    from .conftest import ARTIFACTS

    logs = b.driver.get_log("browser")
    Path(ARTIFACTS / b.name / f"{name}.log").write_text(
        "\n".join(f"{e['level']} {e['message']}" for e in logs))


def sleep_watching(b: Browser, seconds: float, check: Any, every: float = 2.0) -> list[Any]:
    """Sleep `seconds`, calling check() every `every` s; returns what it returned."""
    seen = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        seen.append(check())
        time.sleep(min(every, max(0.0, deadline - time.monotonic())))
    return seen
