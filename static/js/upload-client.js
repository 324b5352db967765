/*
 * upload-client.js — the one upload queue of the proctored session (ES module, no build step).
 *
 * API (for the exam-flow pages):
 *
 *   import { UploadClient } from "/static/js/upload-client.js";
 *   const client = new UploadClient({
 *     attemptId,                 // number
 *     apiBase: "/api",           // default
 *     getToken,                  // optional async () => ({token, expires_at}); default POSTs
 *                                //   `${apiBase}/attempts/${attemptId}/upload-token`
 *     onStatus,                  // optional (status, detail) => void
 *                                //   status: "uploading" | "catching_up" | "saved" | "offline"
 *                                //   detail: {pending, pendingBytes, rateBps, rejected}
 *   });
 *   await client.ready;          // resumed whatever IndexedDB held (page reload / restart)
 *   await client.addChunk({stream: "webcam", segmentIndex, seq, blob, startS, final});
 *                                // resolves once the chunk is safe in IndexedDB (not yet sent)
 *   await client.addEvents([{id, type, at, data}]);   // at: ISO string or ms since 1970
 *   const {pending} = await client.flush({timeoutMs: 120000});  // End exam: 0 = all saved
 *   client.pendingCount();       // chunks + events not yet acknowledged
 *   client.rateBps;              // measured upload rate (bits/s), null until measured
 *   client.suggestedVideoBitrate();   // webcam videoBitsPerSecond for the next recorder start
 *   client.suggestedSettings();  // {webcam: {videoBitsPerSecond, frameRate},
 *                                //  screen: {videoBitsPerSecond, frameRate}, audioBitsPerSecond}
 *   client.close();
 *
 * Rules the recorder must follow: seq counts from 0 per stream and never repeats; each
 * recorder start begins a new segmentIndex and its first chunk carries the WebM header;
 * pass final: true with the last chunk of a segment (recorder stop). Images (photo ID,
 * camera test) are single chunks. Server API: docs/api/uploads.md.
 */

const DB_NAME = "proctor-uploads";
const DB_VERSION = 1;
const MAX_PARALLEL = 2;
const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 60000;
const EVENT_BATCH = 200;
// A backlog older than this is "catching up" rather than "uploading".
const CATCHING_UP_MS = 15000;

function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains("chunks")) {
        const s = db.createObjectStore("chunks", { keyPath: "key" });
        s.createIndex("attempt", "attemptId");
      }
      if (!db.objectStoreNames.contains("events")) {
        const s = db.createObjectStore("events", { keyPath: "key" });
        s.createIndex("attempt", "attemptId");
      }
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function tx(db, store, mode, fn) {
  return new Promise((resolve, reject) => {
    const t = db.transaction(store, mode);
    const result = fn(t.objectStore(store));
    t.oncomplete = () => resolve(result && "result" in result ? result.result : result);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  });
}

async function sha256Hex(blob) {
  const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function backoff(tries, retryAfterS) {
  if (retryAfterS) return retryAfterS * 1000 * (0.8 + Math.random() * 0.4);
  const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(tries, 10));
  return cap / 2 + Math.random() * (cap / 2); // "equal jitter"
}

export class UploadClient {
  constructor({ attemptId, apiBase = "/api", getToken = null, onStatus = null }) {
    this.attemptId = attemptId;
    this.apiBase = apiBase.replace(/\/$/, "");
    this.getToken = getToken || (() => this._fetchToken());
    this.onStatus = onStatus || (() => {});
    this.rateBps = null;
    this.rejected = [];
    this._token = null;
    this._chunks = new Map(); // key -> record (mirror of IndexedDB for this attempt)
    this._events = new Map();
    this._inflight = new Set();
    this._inflightSince = new Map(); // key -> performance.now() when its upload began
    this._notBefore = new Map(); // key -> time before which not to retry
    this._offline = typeof navigator !== "undefined" && navigator.onLine === false;
    this._closed = false;
    this._wake = null;
    this._lastStatus = null;
    // Back online: retry at once; the backoff built up while offline no longer applies.
    this._onOnline = () => { this._offline = false; this._notBefore.clear(); this._kick(); };
    this._onOffline = () => { this._offline = true; this._report(); };
    window.addEventListener("online", this._onOnline);
    window.addEventListener("offline", this._onOffline);
    this.ready = this._resume();
    this._loop = this.ready.then(() => this._run());
  }

  // ---- public ---------------------------------------------------------------------

  async addChunk({ stream, segmentIndex = 0, seq, blob, startS = null, final = false }) {
    await this.ready;
    const record = {
      key: `${this.attemptId}/${stream}/${seq}`, attemptId: this.attemptId, stream,
      segmentIndex, seq, blob, type: blob.type || "video/webm", startS, final: !!final,
      sha256: await sha256Hex(blob), size: blob.size, createdAt: Date.now(), tries: 0,
    };
    await tx(this._db, "chunks", "readwrite", (s) => s.put(record)); // durable first
    this._chunks.set(record.key, record);
    this._kick();
  }

  async addEvents(events) {
    await this.ready;
    const records = events.map((e) => ({
      key: `${this.attemptId}/${e.id}`, attemptId: this.attemptId, createdAt: Date.now(),
      event: { id: String(e.id), type: e.type, at: e.at ?? Date.now(), data: e.data || {} },
    }));
    await tx(this._db, "events", "readwrite", (s) => records.forEach((r) => s.put(r)));
    records.forEach((r) => this._events.set(r.key, r));
    this._kick();
  }

  pendingCount() {
    return this._chunks.size + this._events.size;
  }

  pendingBytes() {
    let n = 0;
    for (const r of this._chunks.values()) n += r.size;
    return n;
  }

  /** Send everything now; resolves with what is still pending when done or timed out. */
  async flush({ timeoutMs = 120000 } = {}) {
    await this.ready;
    const deadline = Date.now() + timeoutMs;
    this._notBefore.clear(); // End exam: retry right away
    this._kick();
    while (this.pendingCount() > 0 && Date.now() < deadline) {
      await sleep(Math.min(250, Math.max(0, deadline - Date.now())));
    }
    const streams = {};
    for (const r of this._chunks.values()) streams[r.stream] = (streams[r.stream] || 0) + 1;
    return { pending: this.pendingCount(), pendingBytes: this.pendingBytes(), streams,
             events: this._events.size, rejected: this.rejected.slice() };
  }

  /** What the server already holds for one stream (seqs, segments), or null if unreachable. */
  async serverInventory(stream) {
    await this.ready;
    try {
      const res = await this._request("GET", `/streams/${stream}/chunks`);
      return res.ok ? await res.json() : null;
    } catch (e) {
      return null;
    }
  }

  /** Webcam bitrate for the next recorder start, in bits/s. */
  suggestedVideoBitrate() {
    return this.suggestedSettings().webcam.videoBitsPerSecond;
  }

  /**
   * Bitrates that fit the measured link. The webcam gives way first (bitrate, then frame
   * rate); the screen keeps a floor it needs to stay legible. At 0.25 Mbps this gives
   * roughly 100 kbit/s webcam at 5-8 fps, 40 kbit/s screen and 24 kbit/s audio.
   */
  suggestedSettings() {
    const audio = 24000;
    const full = { webcam: { videoBitsPerSecond: 500000, frameRate: 15 },
                   screen: { videoBitsPerSecond: 150000, frameRate: 5 },
                   audioBitsPerSecond: 32000 };
    const inFlight = this._rateFromUploadsInFlight();
    if (inFlight !== null && this.rateBps && inFlight < this.rateBps) this.rateBps = inFlight;
    if (!this.rateBps) return full;
    // Use 70% of the link, less when a backlog has built up (it must drain too).
    let budget = 0.7 * this.rateBps;
    const backlogS = (this.pendingBytes() * 8) / Math.max(1, this.rateBps);
    if (backlogS > 20) budget *= 0.6;
    const screen = Math.max(40000, Math.min(150000, budget * 0.25));
    const webcam = Math.max(80000, Math.min(500000, budget - screen - audio));
    const frameRate = webcam >= 350000 ? 15 : webcam >= 200000 ? 10 : webcam >= 120000 ? 8 : 5;
    if (webcam >= 500000 && screen >= 150000) return full;
    return { webcam: { videoBitsPerSecond: Math.round(webcam), frameRate },
             screen: { videoBitsPerSecond: Math.round(screen), frameRate: screen >= 100000 ? 5 : 2 },
             audioBitsPerSecond: audio };
  }

  close() {
    this._closed = true;
    window.removeEventListener("online", this._onOnline);
    window.removeEventListener("offline", this._onOffline);
    this._kick();
  }

  // ---- internals ------------------------------------------------------------------

  async _resume() {
    this._db = await openDb();
    const mine = (store) => tx(this._db, store, "readonly",
      (s) => s.index("attempt").getAll(IDBKeyRange.only(this.attemptId)));
    for (const r of await mine("chunks")) this._chunks.set(r.key, r);
    for (const r of await mine("events")) this._events.set(r.key, r);
    // Ask the server what it already has, so a reload never sends twice.
    const streams = new Set([...this._chunks.values()].map((r) => r.stream));
    for (const stream of streams) {
      try {
        const res = await this._request("GET", `/streams/${stream}/chunks`);
        if (!res.ok) continue;
        const have = (await res.json()).sha256 || {};
        for (const r of [...this._chunks.values()]) {
          if (r.stream === stream && have[String(r.seq)] === r.sha256) await this._forget(r);
        }
      } catch (e) {
        this._offline = true; // resumes when the network answers
      }
    }
    this._report();
  }

  async _forget(record) {
    this._chunks.delete(record.key);
    this._notBefore.delete(record.key);
    await tx(this._db, "chunks", "readwrite", (s) => s.delete(record.key));
  }

  _kick() {
    if (this._wake) { const w = this._wake; this._wake = null; w(); }
    this._report();
  }

  async _run() {
    while (!this._closed) {
      this._sendEvents();
      const now = Date.now();
      const due = [...this._chunks.values()]
        .filter((r) => !this._inflight.has(r.key) && (this._notBefore.get(r.key) || 0) <= now)
        .sort((a, b) => a.createdAt - b.createdAt || a.seq - b.seq);
      while (this._inflight.size < MAX_PARALLEL && due.length) {
        const record = due.shift();
        this._inflight.add(record.key);
        this._inflightSince.set(record.key, performance.now());
        this._sendChunk(record).finally(() => {
          this._inflight.delete(record.key);
          this._inflightSince.delete(record.key);
          this._kick();
        });
      }
      const waits = [...this._notBefore.values()].map((t) => t - Date.now()).filter((t) => t > 0);
      const wait = Math.min(5000, ...waits, 5000);
      await new Promise((resolve) => { this._wake = resolve; setTimeout(resolve, wait); });
    }
  }

  async _sendChunk(record) {
    const started = performance.now();
    let res;
    try {
      res = await this._request("POST", `/streams/${record.stream}/chunks/${record.seq}`, {
        body: record.blob,
        headers: {
          "Content-Type": record.type, "X-Chunk-Sha256": record.sha256,
          "X-Segment-Index": String(record.segmentIndex),
          ...(record.startS != null ? { "X-Chunk-Start": String(record.startS) } : {}),
          ...(record.final ? { "X-Segment-Final": "1" } : {}),
        },
      });
    } catch (e) {
      this._offline = true;
      return this._retry(record, null);
    }
    if (this._offline) this._notBefore.clear(); // the link is back: the rest need not wait
    this._offline = false;
    if (res.status === 200 || res.status === 201) {
      const seconds = (performance.now() - started) / 1000;
      if (record.size > 16384 && seconds > 0) {
        // Uploads in parallel share the link, so one upload sees only its share of it.
        this._noteRate((record.size * 8 * Math.max(1, this._inflight.size)) / seconds);
      }
      return this._forget(record);
    }
    if (res.status === 401) {
      this._token = null;
      return this._retry(record, 1);
    }
    let code = "";
    if (res.status === 400 || res.status === 410 || res.status === 422) {
      try { code = (await res.clone().json()).error || ""; } catch (e) { /* not JSON */ }
    }
    // 422 sha256_mismatch means "damaged on the way": send again. Any other 422, a 400 or a
    // 410 (media deleted) will never be accepted: keep the reason and stop resending.
    const permanent = [409, 413, 415, 404, 400, 410].includes(res.status)
      || (res.status === 422 && code !== "sha256_mismatch");
    if (permanent) {
      // The server will never take these bytes: keep the reason, stop resending.
      let detail = "";
      try { detail = (await res.json()).detail || ""; } catch (e) { /* not JSON */ }
      this.rejected.push({ stream: record.stream, seq: record.seq, status: res.status, detail });
      return this._forget(record);
    }
    if (res.status === 403) {
      // The attempt is closed for uploads: keep the chunk (a reload may reopen it).
      return this._retry(record, 60);
    }
    // 422 (damaged on the way), 429, 5xx, 507: send again later.
    return this._retry(record, Number(res.headers.get("Retry-After")) || null);
  }

  /**
   * Like adaptive video streaming: a slower sample is believed at once (the link got
   * worse, the backlog must not grow for half a minute while an average catches up);
   * faster samples raise the estimate gradually.
   */
  _noteRate(sample) {
    if (!this.rateBps || sample < this.rateBps) this.rateBps = sample;
    else this.rateBps = 0.8 * this.rateBps + 0.2 * sample;
  }

  /** Uploads still running bound the rate too: a slow link shows before any completes. */
  _rateFromUploadsInFlight() {
    const now = performance.now();
    let bound = null;
    for (const [key, started] of this._inflightSince) {
      const seconds = (now - started) / 1000;
      const record = this._chunks.get(key);
      if (!record || seconds < 2 || record.size <= 16384) continue;
      const rate = (record.size * 8 * this._inflightSince.size) / seconds;
      bound = bound === null ? rate : Math.min(bound, rate);
    }
    return bound;
  }

  _retry(record, retryAfterS) {
    record.tries += 1;
    this._notBefore.set(record.key, Date.now() + backoff(record.tries, retryAfterS));
  }

  async _sendEvents() {
    if (this._sendingEvents || this._events.size === 0) return;
    if ((this._notBefore.get("events") || 0) > Date.now()) return;
    this._sendingEvents = true;
    const batch = [...this._events.values()].slice(0, EVENT_BATCH);
    try {
      const res = await this._request("POST", "/events", {
        body: JSON.stringify({ events: batch.map((r) => r.event) }),
        headers: { "Content-Type": "application/json" },
      });
      if (res.ok || res.status === 400) {
        if (res.status === 400) this.rejected.push({ stream: "events", status: 400 });
        await tx(this._db, "events", "readwrite", (s) => batch.forEach((r) => s.delete(r.key)));
        batch.forEach((r) => this._events.delete(r.key));
        this._notBefore.delete("events");
      } else {
        if (res.status === 401) this._token = null;
        this._eventTries = (this._eventTries || 0) + 1;
        this._notBefore.set("events", Date.now() + backoff(this._eventTries,
          Number(res.headers.get("Retry-After")) || null));
      }
    } catch (e) {
      this._offline = true;
      this._eventTries = (this._eventTries || 0) + 1;
      this._notBefore.set("events", Date.now() + backoff(this._eventTries, null));
    } finally {
      this._sendingEvents = false;
      this._kick();
    }
  }

  async _token_() {
    if (!this._token || this._token.expires_at * 1000 - Date.now() < 60000) {
      this._token = await this.getToken();
    }
    return this._token.token;
  }

  async _fetchToken() {
    const res = await fetch(`${this.apiBase}/attempts/${this.attemptId}/upload-token`, {
      method: "POST", credentials: "same-origin",
    });
    if (!res.ok) throw new Error(`upload token: HTTP ${res.status}`);
    return res.json();
  }

  async _request(method, path, { body = null, headers = {} } = {}) {
    const token = await this._token_();
    return fetch(`${this.apiBase}/attempts/${this.attemptId}${path}`, {
      method, body, credentials: "same-origin",
      headers: { ...headers, Authorization: `Bearer ${token}` },
    });
  }

  _report() {
    const pending = this.pendingCount();
    let status = "saved";
    if (this._offline && pending) status = "offline";
    else if (pending) {
      const oldest = Math.min(...[...this._chunks.values()].map((r) => r.createdAt), Date.now());
      status = Date.now() - oldest > CATCHING_UP_MS ? "catching_up" : "uploading";
    }
    const detail = { pending, pendingBytes: this.pendingBytes(), rateBps: this.rateBps,
                     rejected: this.rejected.length };
    if (status !== this._lastStatus || pending !== this._lastPending) {
      this._lastStatus = status;
      this._lastPending = pending;
      try { this.onStatus(status, detail); } catch (e) { /* a page bug must not stop uploads */ }
    }
  }
}
