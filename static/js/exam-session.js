// The proctored session: segmented MediaRecorder streams handed to the upload client,
// lockdown events, heartbeat, access-code reveal, webcam thumbnail, End exam.
// A network drop never ends anything: recorders keep going, chunks wait in IndexedDB.
import { announce, api, applyStoredHighVisibility, nextCounter, pageConfig, raiseCounter, readTexts,
         screenIsExtended } from "./exam-common.js";
import { calculator, whiteboard } from "./exam-session-tools.js";
import { UploadClient } from "./upload-client.js";

const cfg = pageConfig();
const t = readTexts("session-texts");
const A = `${cfg.base}/${cfg.attemptId}`;
const el = (id) => document.getElementById(id);
const startedAtMs = cfg.startedAt ? Date.parse(cfg.startedAt) : Date.now();
const GRACE = { off: null, lenient: 30, moderate: 15, severe: 0 }[cfg.lockdown.full_screen];
const MIME_AV = "video/webm;codecs=vp8,opus";

applyStoredHighVisibility(null);

const client = new UploadClient({
  attemptId: cfg.attemptId, apiBase: "/api",
  onStatus: (status, detail) => {
    el("upload-status").textContent = t[status] || status;
    el("upload-status").dataset.status = status;
    if (detail && typeof detail.pending === "number") el("upload-status").dataset.pending = detail.pending;
  },
});

// ---- events -------------------------------------------------------------------------
let eventSeq = 0;
const sessionTag = Math.random().toString(36).slice(2, 10);
function logEvent(type, data = {}) {
  const id = `${sessionTag}-${Date.now().toString(36)}-${(eventSeq++).toString(36)}`;
  client.addEvents([{ id, type, at: new Date().toISOString(), data }]).catch(() => {});
}

// ---- segmented recorders ------------------------------------------------------------
class SegmentedRecorder {
  // Restarts MediaRecorder every `segmentSeconds` so each segment starts with a WebM
  // header and decodes on its own; inside a segment, chunks arrive every `chunkSeconds`.
  constructor(stream, kind, options) {
    this.stream = stream; this.kind = kind; this.options = options; this.running = false;
  }
  start() {
    this.running = true;
    this._startSegment();
  }
  _startSegment() {
    if (!this.running) return;
    const segmentIndex = nextCounter(cfg.attemptId, `${this.kind}.segment`);
    // Options are asked again at every segment, so a slow link lowers the bitrate (and
    // then the frame rate) of the next segment, as the upload client suggests.
    const options = typeof this.options === "function" ? this.options() : this.options;
    const fps = (client.suggestedSettings().webcam || {}).frameRate;
    const video = this.kind === "webcam" && this.stream.getVideoTracks()[0];
    if (video && fps && Math.abs((video.getSettings().frameRate || fps) - fps) > 0.5) {
      video.applyConstraints({ ...video.getConstraints(), frameRate: fps }).catch(() => {});
    }
    const rec = new MediaRecorder(this.stream, options);
    let chunkStart = (Date.now() - startedAtMs) / 1000;
    this.pending = [];
    rec.ondataavailable = (ev) => {
      if (!ev.data || !ev.data.size) return;
      const now = (Date.now() - startedAtMs) / 1000;
      this.pending.push(client.addChunk({ stream: this.kind, segmentIndex,
        seq: nextCounter(cfg.attemptId, `${this.kind}.seq`), blob: ev.data,
        startS: Math.max(0, chunkStart), final: rec.state === "inactive" }));
      chunkStart = now;
    };
    rec.onstop = () => { this._startSegment(); };
    if (cfg.chunkSeconds > 0) rec.start(cfg.chunkSeconds * 1000); else rec.start();
    this.recorder = rec;
    this.timer = setTimeout(() => { if (rec.state !== "inactive") rec.stop(); }, cfg.segmentSeconds * 1000);
  }
  async stop() {
    this.running = false;
    clearTimeout(this.timer);
    const rec = this.recorder;
    if (rec && rec.state !== "inactive") {
      await new Promise((resolve) => { rec.addEventListener("stop", resolve, { once: true }); rec.stop(); });
    }
    await Promise.all(this.pending || []);
  }
}

let camStream = null, screenStream = null;
const recorders = {};

function recorderOptions(kind, audioOnly) {
  const s = client.suggestedSettings ? client.suggestedSettings() : {};
  const mime = audioOnly ? "audio/webm;codecs=opus" : (MediaRecorder.isTypeSupported(MIME_AV) ? MIME_AV : "video/webm");
  const opts = { mimeType: mime, audioBitsPerSecond: s.audioBitsPerSecond || 48000 };
  if (!audioOnly) opts.videoBitsPerSecond = (s[kind] && s[kind].videoBitsPerSecond) || (kind === "screen" ? 800000 : 500000);
  return opts;
}

async function startCamera() {
  const rec = cfg.recording;
  if (!rec.webcam && !rec.microphone) return;
  camStream = await navigator.mediaDevices.getUserMedia({
    video: rec.webcam ? { width: 640, height: 480, frameRate: 15 } : false, audio: !!rec.microphone });
  for (const track of camStream.getTracks()) {
    track.addEventListener("ended", () => {
      const type = track.kind === "video" ? "camera_stopped" : "microphone_stopped";
      logEvent(type, {});
      streamNotice(t[type], "camera");
    });
  }
  if (rec.webcam) { el("thumb-video").srcObject = camStream; el("thumb").hidden = false; }
  recorders.webcam = new SegmentedRecorder(camStream, "webcam", () => recorderOptions("webcam", !rec.webcam));
  recorders.webcam.start();
}

async function startScreen() {
  if (!cfg.recording.screen) return;
  const s = await navigator.mediaDevices.getDisplayMedia({ video: { displaySurface: "monitor", frameRate: 5 }, audio: false });
  const track = s.getVideoTracks()[0];
  if (track.getSettings().displaySurface && track.getSettings().displaySurface !== "monitor") {
    s.getTracks().forEach((tr) => tr.stop());
    throw new Error(t.not_monitor);
  }
  screenStream = s;
  track.addEventListener("ended", () => {
    logEvent("screen_share_stopped", {});
    if (recorders.screen) recorders.screen.stop();
    streamNotice(t.screen_stopped, "screen");
  });
  recorders.screen = new SegmentedRecorder(screenStream, "screen", () => recorderOptions("screen", false));
  recorders.screen.start();
}

let noticeTarget = null;
function streamNotice(text, target) {
  noticeTarget = target;
  el("stream-notice-text").textContent = text;
  el("stream-notice").hidden = false;
}
el("stream-restart").addEventListener("click", async () => {
  try {
    if (noticeTarget === "screen") await startScreen();
    else { if (recorders.webcam) await recorders.webcam.stop(); await startCamera(); }
    el("stream-notice").hidden = true;
  } catch (e) { el("stream-notice-text").textContent = e.message || String(e); }
});

// ---- lockdown -----------------------------------------------------------------------
let fsAwayTotal = 0, fsLeftAt = null, fsReported = false;
function fullScreenWatch() {
  if (GRACE === null) return;
  document.addEventListener("fullscreenchange", () => {
    if (!document.fullscreenElement) {
      fsLeftAt = Date.now();
      el("fs-notice").hidden = false;
      logEvent("fullscreen_exit", { away_s_total: Math.round(fsAwayTotal), grace_s: GRACE, rule: cfg.lockdown.full_screen });
    } else if (fsLeftAt) {
      const away = (Date.now() - fsLeftAt) / 1000;
      fsAwayTotal += away;
      fsLeftAt = null;
      logEvent("fullscreen_enter", { away_s: Math.round(away * 10) / 10 });
      el("fs-notice").hidden = true;
    }
  });
  setInterval(() => {
    const away = fsAwayTotal + (fsLeftAt ? (Date.now() - fsLeftAt) / 1000 : 0);
    if (!fsReported && fsLeftAt && away > GRACE) {
      // Over the cumulative allowance: one scored event says so (severe: at once).
      fsReported = true;
      logEvent("fullscreen_exit", { away_s_total: Math.round(away), grace_s: GRACE, over_grace: true, rule: cfg.lockdown.full_screen });
    }
  }, 1000);
  el("fs-return").addEventListener("click", () => document.documentElement.requestFullscreen().catch(() => {}));
}

function lockdownWatch() {
  const lock = cfg.lockdown;
  // Each absence is logged with its return, so review shows how long it lasted.
  let hiddenAt = null, blurredAt = null;
  const awayS = (since) => Math.round((Date.now() - since) / 100) / 10;
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) {
      hiddenAt = Date.now();
      logEvent("tab_hidden", { exam_opened: examOpened });
    } else if (hiddenAt !== null) {
      logEvent("tab_visible", { away_s: awayS(hiddenAt) });
      hiddenAt = null;
    }
  });
  window.addEventListener("blur", () => {
    blurredAt = Date.now();
    logEvent("window_blur", { exam_opened: examOpened });
  });
  window.addEventListener("focus", () => {
    if (blurredAt === null) return;
    logEvent("window_focus", { away_s: awayS(blurredAt) });
    blurredAt = null;
  });
  for (const type of ["copy", "cut", "paste"]) {
    document.addEventListener(type, (ev) => {
      if (lock.no_clipboard) ev.preventDefault();
      logEvent(type, { blocked: !!lock.no_clipboard });
    });
  }
  document.addEventListener("contextmenu", (ev) => {
    if (lock.no_right_click) ev.preventDefault();
    logEvent("context_menu", { blocked: !!lock.no_right_click });
  });
  if (lock.no_printing) document.documentElement.classList.add("no-print");
  window.addEventListener("beforeprint", () => logEvent("print", { blocked: !!lock.no_printing }));
  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => logEvent("resize", { w: window.innerWidth, h: window.innerHeight }), 500);
  });
  let extended = screenIsExtended();
  const screenCheck = () => {
    const now = screenIsExtended();
    if (now && !extended) logEvent("second_screen", { one_screen_rule: !!lock.one_screen });
    extended = now;
  };
  if (window.screen && "onchange" in window.screen) window.screen.addEventListener("change", screenCheck);
  setInterval(screenCheck, 5000);
  window.addEventListener("offline", () => {
    el("network-notice").hidden = false;
    logEvent("network_offline", {});
  });
  window.addEventListener("online", () => {
    el("network-notice").hidden = true;
    announce(t.back_online);
    logEvent("network_online", {});
  });
}

// ---- heartbeat and access code -------------------------------------------------------
let codeShown = false, ended = false, examOpened = false;
async function heartbeat() {
  logEvent("heartbeat", { online: navigator.onLine });
  const res = await api(`${A}/heartbeat`, { method: "POST", json: {}, timeoutMs: 10000 });
  if (res.offline) { el("network-notice").hidden = false; return; }
  el("network-notice").hidden = navigator.onLine;
  if (res.ok && res.data.status && res.data.status !== "in_progress" && !ended) {
    ended = true;
    announce(res.data.status === "terminated" ? t.terminated : t.ended);
    await stopAll();
    // The last segments are in IndexedDB; send them before leaving (the done page resumes
    // anything still pending).
    await client.flush({ timeoutMs: 60000 });
    window.location.href = `${A}/done/`;
    return;
  }
  if (res.ok && cfg.hasAccessCode && !codeShown) revealCode();
}

async function revealCode() {
  // Fetched only now: the code is never in any page source, only given to a live session.
  const res = await api(`${A}/access-code`);
  if (res.ok && res.data.code) {
    codeShown = true;
    el("access-code").textContent = res.data.code;
    el("access-code-box").hidden = false;
    el("code-wait").hidden = true;
  }
}

el("copy-code") && el("copy-code").addEventListener("click", async () => {
  // Copying the code is the student's own action inside the session; not a lockdown event.
  try { await navigator.clipboard.writeText(el("access-code").textContent); announce(t.code_copied); } catch (e) { /* denied */ }
});

// ---- exam window ---------------------------------------------------------------------
// "Open the exam" is a plain link with a named target: a link click is never stopped by a
// pop-up blocker, and it works inside LMS frames whose page isolates window.open.
const examLink = el("open-exam");
if (examLink) examLink.addEventListener("click", () => { examOpened = true; });

// ---- thumbnail: drag with the mouse, arrow keys, minimise -------------------------------
function thumbnail() {
  const box = el("thumb");
  let drag = null;
  const place = (x, y) => {
    const maxX = window.innerWidth - box.offsetWidth, maxY = window.innerHeight - box.offsetHeight;
    box.style.left = `${Math.max(0, Math.min(maxX, x))}px`;
    box.style.top = `${Math.max(0, Math.min(maxY, y))}px`;
    box.style.right = "auto"; box.style.bottom = "auto";
  };
  box.addEventListener("pointerdown", (ev) => {
    if (ev.target.tagName === "BUTTON") return;
    drag = { dx: ev.clientX - box.offsetLeft, dy: ev.clientY - box.offsetTop };
    box.setPointerCapture(ev.pointerId);
  });
  box.addEventListener("pointermove", (ev) => { if (drag) place(ev.clientX - drag.dx, ev.clientY - drag.dy); });
  box.addEventListener("pointerup", () => { drag = null; });
  box.addEventListener("keydown", (ev) => {
    const step = ev.shiftKey ? 50 : 10;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (moves[ev.key] && ev.target === box) {
      ev.preventDefault();
      place(box.offsetLeft + moves[ev.key][0], box.offsetTop + moves[ev.key][1]);
    }
  });
  el("thumb-min").addEventListener("click", () => {
    const min = box.classList.toggle("minimised");
    el("thumb-min").setAttribute("aria-expanded", min ? "false" : "true");
    el("thumb-min").textContent = min ? t.restore : t.minimise;
  });
}

// ---- timer -----------------------------------------------------------------------------
function timer() {
  if (!cfg.durationMinutes) return;
  const endAt = startedAtMs + cfg.durationMinutes * 60000;
  const tick = () => {
    const left = Math.max(0, Math.ceil((endAt - Date.now()) / 60000));
    el("timer").hidden = false;
    el("timer").textContent = t.time_left.replace("%s", left);
  };
  tick();
  setInterval(tick, 30000);
}

// ---- room scan at random moments (room_scan = start_and_random) -----------------------------
const ROOM_SCAN_S = 10;
function randomRoomScans() {
  if (cfg.recording.room_scan !== "start_and_random" || !camStream || !cfg.recording.webcam) return;
  // One scan at a random moment every 10-25 minutes: unpredictable, but not a burden.
  const next = () => setTimeout(roomScan, (10 + Math.random() * 15) * 60000);
  async function roomScan() {
    if (ended) return;
    const notice = el("room-scan-notice");
    notice.hidden = false;
    const segmentIndex = nextCounter(cfg.attemptId, "room_scan.segment");
    const rec = new MediaRecorder(new MediaStream(camStream.getVideoTracks()), recorderOptions("room_scan", false));
    const startS = (Date.now() - startedAtMs) / 1000;
    const saved = [];
    rec.ondataavailable = (ev) => {
      if (ev.data && ev.data.size) saved.push(client.addChunk({ stream: "room_scan", segmentIndex,
        seq: nextCounter(cfg.attemptId, "room_scan.seq"), blob: ev.data, startS, final: true }));
    };
    const stopped = new Promise((r) => { rec.onstop = r; });
    rec.start();
    for (let left = ROOM_SCAN_S; left > 0; left--) {
      el("room-scan-left").textContent = `${left} s`;
      await new Promise((r) => setTimeout(r, 1000));
    }
    rec.stop();
    await stopped;
    await Promise.all(saved);
    notice.hidden = true;
    next();
  }
  next();
}

// ---- start and end ---------------------------------------------------------------------
// Resuming in another browser (or after site data was cleared): continue after what the
// server holds, so no new chunk reuses a stored number and nothing is refused.
// Returns whether this attempt had been recording before (a reload or a resume).
async function syncCountersWithServer() {
  const kinds = ["webcam", "screen", "room_scan"];
  const held = await Promise.all(kinds.map((kind) => client.serverInventory(kind)));
  let recordedBefore = false;
  kinds.forEach((kind, i) => {
    const inv = held[i];
    if (!inv) return;
    if (inv.max_seq != null) raiseCounter(cfg.attemptId, `${kind}.seq`, inv.max_seq + 1);
    const segments = (inv.segments || []).map((s) => s.index);
    if (segments.length) raiseCounter(cfg.attemptId, `${kind}.segment`, Math.max(...segments) + 1);
    if (kind !== "room_scan" && (segments.length || inv.max_seq != null)) recordedBefore = true;
  });
  return recordedBefore;
}

async function stopAll() {
  await Promise.all(Object.values(recorders).map((r) => r.stop()));
  for (const s of [camStream, screenStream]) if (s) s.getTracks().forEach((tr) => tr.stop());
}

async function start() {
  const button = el("start-recording");
  button.disabled = true;
  el("start-error").textContent = "";
  try {
    if (GRACE !== null && document.documentElement.requestFullscreen) {
      await document.documentElement.requestFullscreen().catch(() => {});
    }
    await client.ready;
    const resumed = await syncCountersWithServer();
    await startScreen();
    await startCamera();
    // The piece being recorded when the page went away (a reload, a closed tab) never
    // reached IndexedDB: say so, so review shows that stretch as not recorded.
    if (resumed) logEvent("recording_resumed", {});
  } catch (e) {
    button.disabled = false;
    el("start-error").textContent = (e && e.message) || String(e);
    return;
  }
  el("start-panel").hidden = true;
  el("exam-panel").hidden = false;
  el("recording-indicator").dataset.state = "recording";
  el("recording-text").textContent = t.recording;
  announce(t.started);
  if (cfg.hasAccessCode) el("code-wait").hidden = false;
  lockdownWatch();
  fullScreenWatch();
  timer();
  randomRoomScans();
  if (el("tools")) {
    el("tools").hidden = false;
    calculator(el("calculator"), cfg.tools && cfg.tools.calculator === "scientific", "—");
    whiteboard(el("whiteboard"), el("whiteboard-clear"));
  }
  await heartbeat();
  setInterval(heartbeat, cfg.heartbeatSeconds * 1000);
  (el("open-exam") || el("end-exam")).focus();
}

async function endExam() {
  el("end-dialog").close();
  ended = true;
  el("end-exam").disabled = true;
  const progress = el("end-progress");
  progress.hidden = false;
  el("recording-indicator").dataset.state = "stopped";
  el("recording-text").textContent = t.saving.replace("%s", client.pendingCount());
  progress.textContent = t.saving.replace("%s", client.pendingCount());
  // A recorder that could not store its last piece (a full disk) must not stop the end.
  await stopAll().catch(() => {});
  // Short rounds, so the student sees the count go down. After two minutes (offline, a slow
  // link) the exam ends anyway: the done page goes on sending what is left, and the server
  // accepts it for UPLOAD_GRACE_SECONDS after the end.
  const waitUntil = Date.now() + 120000;
  let result = await client.flush({ timeoutMs: 5000 });
  while (result.pending > 0 && Date.now() < waitUntil) {
    progress.textContent = t.saving.replace("%s", result.pending);
    result = await client.flush({ timeoutMs: 5000 });
  }
  progress.textContent = result.pending > 0
    ? t.still_pending.replace("%s", result.pending) : t.saving.replace("%s", 0);
  let res = await api(`${A}/end`, { method: "POST", json: { reason: "student ended" } });
  while (res.offline) { await new Promise((r) => setTimeout(r, 5000)); res = await api(`${A}/end`, { method: "POST", json: {} }); }
  window.location.href = res.data.return_url || res.data.done_url || `${A}/done/`;
}

el("end-exam").addEventListener("click", () => el("end-dialog").showModal());
el("end-cancel").addEventListener("click", () => el("end-dialog").close());
el("end-confirm").addEventListener("click", endExam);
el("start-recording").addEventListener("click", start);
window.addEventListener("beforeunload", (ev) => { if (!ended && el("start-panel").hidden) { ev.preventDefault(); ev.returnValue = ""; } });
thumbnail();
el("page-title").focus();
