// Shared helpers of the exam pages: config, CSRF fetch, high visibility, environment checks.

export function pageConfig() {
  const el = document.getElementById("page-config");
  return el ? JSON.parse(el.textContent) : {};
}

export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

// A new LTI launch in another window of the same browser (e.g. LtiEndAssessment in the exam
// window) signs the student in again, which rotates the CSRF token under this page.
async function refreshCsrf() {
  try {
    const res = await fetch("/exams/csrf", { credentials: "same-origin" });
    const data = await res.json();
    const meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && data.token) meta.content = data.token;
    return !!data.token;
  } catch (e) {
    return false;
  }
}

// fetch with the CSRF header; never throws: {ok, status, data, offline}.
export async function api(url, options = {}) {
  const res = await request(url, options);
  const unsafe = (options.method || "GET") !== "GET";
  if (unsafe && res.status === 403 && res.csrfFailure && await refreshCsrf()) {
    return request(url, options);
  }
  return res;
}

async function request(url, { method = "GET", json, body, headers = {}, timeoutMs = 20000 } = {}) {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeoutMs);
  try {
    const init = { method, credentials: "same-origin", signal: ctrl.signal,
                   headers: { "X-CSRFToken": csrfToken(), ...headers } };
    if (json !== undefined) {
      init.body = JSON.stringify(json);
      init.headers["Content-Type"] = "application/json";
    } else if (body !== undefined) {
      init.body = body;
    }
    const res = await fetch(url, init);
    let data = {}, isJson = true;
    try { data = await res.json(); } catch (e) { data = {}; isJson = false; }
    // Django's CSRF refusal is an HTML page; our own 403s are JSON.
    return { ok: res.ok, status: res.status, data, offline: false, csrfFailure: !isJson };
  } catch (e) {
    return { ok: false, status: 0, data: {}, offline: true };
  } finally {
    clearTimeout(timer);
  }
}

const HV_KEY = "proctor.highVisibility";

export function setHighVisibility(on, prefsUrl) {
  document.documentElement.classList.toggle("high-visibility", on);
  try { localStorage.setItem(HV_KEY, on ? "1" : "0"); } catch (e) { /* private mode */ }
  if (prefsUrl) api(prefsUrl, { method: "POST", json: { enabled: on } });
}

// The server remembers the choice per student; localStorage covers a first launch on a
// device before the server knows (and pages rendered without the preference).
export function applyStoredHighVisibility(prefsUrl) {
  let stored = null;
  try { stored = localStorage.getItem(HV_KEY); } catch (e) { stored = null; }
  const serverOn = document.documentElement.classList.contains("high-visibility");
  if (stored === "1" && !serverOn) setHighVisibility(true, prefsUrl);
  return document.documentElement.classList.contains("high-visibility");
}

export function announce(text) {
  const el = document.getElementById("check-status") || document.getElementById("live-status");
  if (el) { el.textContent = ""; setTimeout(() => { el.textContent = text; }, 50); }
}

export function isMobileOrTablet() {
  const ua = navigator.userAgent || "";
  if (navigator.userAgentData && navigator.userAgentData.mobile) return true;
  if (/Android|iPhone|iPad|iPod|Mobile|Tablet|Silk|Kindle/i.test(ua)) return true;
  // iPadOS reports itself as a Mac; a Mac has no multi-touch screen.
  return /Macintosh/.test(ua) && navigator.maxTouchPoints > 1;
}

export function browserSupported(cfg) {
  const missing = [];
  if (!window.MediaRecorder) missing.push("MediaRecorder");
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) missing.push("getUserMedia");
  if (cfg.recording && cfg.recording.screen && !(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia)) missing.push("getDisplayMedia");
  if (!window.indexedDB) missing.push("IndexedDB");
  if (!(window.crypto && crypto.subtle)) missing.push("WebCrypto");
  return missing;
}

export async function deviceCounts() {
  try {
    const devices = await navigator.mediaDevices.enumerateDevices();
    return { video: devices.filter((d) => d.kind === "videoinput").length,
             audio: devices.filter((d) => d.kind === "audioinput").length };
  } catch (e) {
    return { video: 0, audio: 0 };
  }
}

export function screenIsExtended() {
  return window.screen && window.screen.isExtended === true;
}

// Must run inside a click handler: pop-up blockers allow windows opened by a user gesture.
// Inside an LMS frame the answer is unknowable: when the LMS page sets
// Cross-Origin-Opener-Policy, a frame's window.open opens the window but returns null, so
// a frame never reports "blocked" (the exam opens from a plain link, which no blocker stops).
export function popupsAllowed() {
  if (window.top !== window) return true;
  const w = window.open("about:blank", "proctor-popup-test", "width=120,height=120");
  if (!w) return false;
  try { w.close(); } catch (e) { /* already closed */ }
  return true;
}

// What must be fixed before the checks: [{id, title, fix}] (texts come from the page).
export async function environmentProblems(cfg, texts) {
  const out = [];
  if (isMobileOrTablet()) {
    out.push({ id: "mobile", ...texts.mobile, fatal: true });
    return out;
  }
  if (browserSupported(cfg).length) out.push({ id: "browser", ...texts.browser, fatal: true });
  const rec = cfg.recording || {};
  if (rec.webcam || rec.microphone) {
    const counts = await deviceCounts();
    if (rec.webcam && counts.video === 0) out.push({ id: "no-camera", ...texts.no_camera });
    if (rec.microphone && counts.audio === 0) out.push({ id: "no-microphone", ...texts.no_microphone });
  }
  if (cfg.lockdown && cfg.lockdown.one_screen && screenIsExtended()) {
    out.push({ id: "second-screen", ...texts.second_screen });
  }
  return out;
}

export function readTexts(id) {
  const el = document.getElementById(id);
  return el ? JSON.parse(el.textContent) : {};
}

// seq and segment counters that survive page loads (the server rejects a reused seq).
const memoryCounters = new Map(); // when localStorage is unavailable (private modes, policies)
function readCounter(key) {
  try { return parseInt(localStorage.getItem(key) || "0", 10) || 0; }
  catch (e) { return memoryCounters.get(key) || 0; }
}
function writeCounter(key, n) {
  memoryCounters.set(key, n);
  try { localStorage.setItem(key, String(n)); } catch (e) { /* memory only */ }
}
export function nextCounter(attemptId, name) {
  const key = `proctor.${attemptId}.${name}`;
  const n = readCounter(key);
  writeCounter(key, n + 1);
  return n;
}
// Never hand out a number the server already holds: another browser (or cleared site data)
// starts from 0, and a reused seq would be refused as a conflict.
export function raiseCounter(attemptId, name, atLeast) {
  const key = `proctor.${attemptId}.${name}`;
  if (readCounter(key) < atLeast) writeCounter(key, atLeast);
}
