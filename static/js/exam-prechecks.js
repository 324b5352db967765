// Pre-checks: each check passes or fails with a specific fix; results are stored on the server.
// Camera and photo ID are judged by the face detector on the server (the page polls).
import { announce, api, applyStoredHighVisibility, browserSupported, isMobileOrTablet,
         nextCounter, pageConfig, readTexts } from "./exam-common.js";
import { UploadClient } from "./upload-client.js";

const cfg = pageConfig();
const t = readTexts("check-texts");
const A = `${cfg.base}/${cfg.attemptId}`;
const MANUAL = new Set(["screen_share", "photo_id", "room_scan"]);
const ROOM_SCAN_S = 10;
const passed = { ...(cfg.passed || {}) };
let media = null;
let uploader = null;

applyStoredHighVisibility(null);

const el = (id) => document.getElementById(id);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function show(check, state, message) {
  const li = el(`check-${check}`);
  if (!li) return;
  li.dataset.state = state;
  el(`result-${check}`).textContent = message || "";
  el(`result-${check}`).className = `check-result ${state === "passed" ? "ok" : state === "failed" ? "fail" : ""}`;
}

async function record(check, ok, detail = {}) {
  const res = await api(`${A}/checks/${check}`, { method: "POST", json: { passed: ok, detail } });
  if (res.offline) throw new Error("offline");
  return res.data;
}

function uploadClient() {
  if (!uploader) uploader = new UploadClient({ attemptId: cfg.attemptId, apiBase: "/api" });
  return uploader;
}

async function ensureMedia() {
  if (media && media.getTracks().every((tr) => tr.readyState === "live")) return media;
  const rec = cfg.recording;
  media = await navigator.mediaDevices.getUserMedia({
    video: rec.webcam ? { width: 640, height: 480 } : false, audio: !!rec.microphone });
  const video = el("preview");
  if (video && rec.webcam) { video.srcObject = media; await video.play().catch(() => {}); }
  return media;
}

function mediaError(e) {
  if (e && (e.name === "NotAllowedError" || e.name === "SecurityError")) return t.permission_denied;
  if (e && (e.name === "NotReadableError" || e.name === "AbortError")) return t.device_busy;
  if (e && (e.name === "NotFoundError" || e.name === "OverconstrainedError")) return t.device_missing;
  return t.permission_denied;
}

async function snapshot(quality = 0.85) {
  await ensureMedia();
  const video = el("preview");
  for (let i = 0; i < 40 && (!video.videoWidth || video.readyState < 2); i++) await sleep(100);
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth || 640;
  canvas.height = video.videoHeight || 480;
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
}

async function frameCheck(kind, blob) {
  const sent = await api(`${A}/frames/${kind}`, { method: "POST", body: blob,
                                                  headers: { "Content-Type": "image/jpeg" } });
  if (sent.offline) return { ok: false, message: t.offline };
  if (!sent.ok) return { ok: false, message: sent.data.detail || t.slow };
  const deadline = Date.now() + 45000;
  while (Date.now() < deadline) {
    await sleep(600);
    const res = await api(sent.data.poll);
    if (res.ok && res.data.state === "failed") {
      return { ok: false, message: t.unavailable, mayContinue: true };
    }
    if (res.ok && res.data.state === "done") {
      const message = res.data.ok ? t.passed
        : kind === "photo_id" ? t.id_no_face : (t.reasons[res.data.reason] || res.data.message);
      return { ok: res.data.ok, message, mayContinue: res.data.may_continue };
    }
  }
  return { ok: false, message: t.slow };
}

const CHECKS = {
  async browser() {
    const missing = browserSupported(cfg);
    const ok = !isMobileOrTablet() && missing.length === 0;
    await record("browser", ok, { missing, ua: navigator.userAgent.slice(0, 200) });
    return { ok, message: ok ? t.passed : (isMobileOrTablet() ? t.mobile.fix : t.browser.fix) };
  },
  async permissions() {
    try { await ensureMedia(); } catch (e) {
      await record("permissions", false, { error: e && e.name });
      return { ok: false, message: mediaError(e) };
    }
    await record("permissions", true);
    return { ok: true, message: t.passed };
  },
  async microphone() {
    const stream = await ensureMedia();
    const ctx = new AudioContext();
    const analyser = ctx.createAnalyser();
    ctx.createMediaStreamSource(stream).connect(analyser);
    const buf = new Float32Array(analyser.fftSize);
    let peak = 0;
    const meter = el("mic-meter");
    const end = Date.now() + 6000;
    while (Date.now() < end) {
      analyser.getFloatTimeDomainData(buf);
      const rms = Math.sqrt(buf.reduce((s, v) => s + v * v, 0) / buf.length);
      peak = Math.max(peak, rms);
      meter.value = Math.min(1, rms * 4);
      if (peak > 0.02 && Date.now() > end - 4500) break;
      await sleep(100);
    }
    ctx.close();
    const ok = peak > 0.02;
    await record("microphone", ok, { peak_rms: Math.round(peak * 1000) / 1000 });
    return { ok, message: ok ? t.passed : t.mic_silent };
  },
  async screen_share() {
    let screen;
    try {
      screen = await navigator.mediaDevices.getDisplayMedia({ video: { displaySurface: "monitor" }, audio: false });
    } catch (e) {
      await record("screen_share", false, { error: e && e.name });
      return { ok: false, message: t.share_cancelled };
    }
    const surface = screen.getVideoTracks()[0].getSettings().displaySurface;
    screen.getTracks().forEach((tr) => tr.stop());
    const ok = surface === "monitor";
    await record("screen_share", ok, { display_surface: surface || "unknown" });
    return { ok, message: ok ? t.passed : t.not_monitor };
  },
  async upload_speed() {
    const size = 512 * 1024;
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
    const started = performance.now();
    const res = await api(`${A}/speedtest`, { method: "POST", body: new Blob([bytes]),
                                              headers: { "Content-Type": "application/octet-stream" } });
    if (!res.ok) return { ok: false, message: t.offline };
    const kbps = Math.round((size * 8) / (performance.now() - started));
    // A slow link never blocks the exam: recordings wait on this computer and catch up.
    await record("upload_speed", true, { kbps });
    return { ok: true, message: (kbps < 600 ? t.slow_upload : t.speed).replace("%s", kbps) };
  },
  async camera() {
    const result = await frameCheck("camera", await snapshot());
    if (!result.ok) el("continue-camera").hidden = !result.mayContinue;
    return result;
  },
  async photo_id() {
    const blob = await snapshot(0.92);
    const result = await frameCheck("photo_id", blob);
    if (result.ok) {
      const seg = nextCounter(cfg.attemptId, "photo_id.segment");
      await uploadClient().addChunk({ stream: "photo_id", segmentIndex: seg,
        seq: nextCounter(cfg.attemptId, "photo_id.seq"), blob, startS: 0, final: true });
    } else {
      el("continue-photo_id").hidden = !result.mayContinue;
    }
    return result;
  },
  async room_scan() {
    const stream = await ensureMedia();
    const client = uploadClient();
    const segmentIndex = nextCounter(cfg.attemptId, "room_scan.segment");
    const mime = MediaRecorder.isTypeSupported("video/webm;codecs=vp8,opus") ? "video/webm;codecs=vp8,opus" : "video/webm";
    const recorder = new MediaRecorder(stream, { mimeType: mime, videoBitsPerSecond: 500000 });
    const saved = [];
    let startS = 0;
    recorder.ondataavailable = (ev) => {
      if (!ev.data || !ev.data.size) return;
      saved.push(client.addChunk({ stream: "room_scan", segmentIndex,
        seq: nextCounter(cfg.attemptId, "room_scan.seq"), blob: ev.data, startS,
        final: recorder.state === "inactive" }));
    };
    const stopped = new Promise((r) => { recorder.onstop = r; });
    recorder.start(); // one chunk: a whole, independently decodable WebM file
    for (let left = ROOM_SCAN_S; left > 0; left--) {
      show("room_scan", "running", t.room_recording.replace("%s", left));
      await sleep(1000);
    }
    recorder.stop();
    await stopped;
    await Promise.all(saved);
    await record("room_scan", true, { seconds: ROOM_SCAN_S, segment: segmentIndex });
    return { ok: true, message: t.room_done };
  },
};

async function run(check) {
  const button = el(`run-${check}`);
  button.disabled = true;
  show(check, "running", t.running);
  announce(t.running);
  let result;
  try { result = await CHECKS[check](); }
  catch (e) { result = { ok: false, message: e && e.message === "offline" ? t.offline : mediaError(e) }; }
  button.disabled = false;
  show(check, result.ok ? "passed" : "failed", result.message);
  announce(result.message);
  if (result.ok) passed[check] = true;
  else button.textContent = t.recheck;
  return result.ok;
}

async function advance() {
  for (const check of cfg.checks) {
    if (passed[check] && check !== "permissions") { show(check, "passed", t.passed); continue; }
    const button = el(`run-${check}`);
    if (MANUAL.has(check)) {
      show(check, "waiting", "");
      button.focus();
      return; // waits for the student's click
    }
    if (!(await run(check))) { button.focus(); return; }
  }
  const next = el("to-agreement");
  next.hidden = false;
  announce(t.all_done);
  next.focus();
}

for (const check of cfg.checks) {
  el(`run-${check}`).addEventListener("click", async () => { if (await run(check)) advance(); });
  const cont = el(`continue-${check}`);
  if (cont) {
    cont.addEventListener("click", async () => {
      const res = await api(`${A}/checks/${check}/continue`, { method: "POST", json: {} });
      if (res.ok) { passed[check] = true; cont.hidden = true; show(check, "passed", t.passed); advance(); }
    });
  }
}
advance();
