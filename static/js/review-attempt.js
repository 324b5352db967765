// Attempt review page: two segmented players kept in step, timeline and flag jumps.
// Each recorded stream is a list of independently decodable segments (the recorder restarts
// every few seconds), so a "player" maps exam time <-> (segment, local time).

const RATES = [0.5, 1, 2, 4, 8, 16];
const DRIFT_S = 0.75;
const statusEl = document.getElementById("player-status");
const timeEl = document.getElementById("player-time");
const rateEl = document.getElementById("playback-rate");

function fmt(t) {
  t = Math.max(0, Math.floor(t));
  const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), s = t % 60;
  const ss = String(s).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

function parseTime(text) {
  const parts = String(text).trim().split(":").map(Number);
  if (!parts.length || parts.some((n) => Number.isNaN(n))) return null;
  return parts.reduce((acc, n) => acc * 60 + n, 0);
}

class SegmentedPlayer {
  constructor(video) {
    this.video = video;
    this.kind = video.dataset.kind;
    this.segments = [];
    this.current = -1;
    this.ready = this.load();
    video.addEventListener("ended", () => this.next());
    video.addEventListener("timeupdate", () => { video.dataset.globalTime = this.time().toFixed(3); });
  }

  async load() {
    try {
      const response = await fetch(this.video.dataset.segmentsUrl, { credentials: "same-origin" });
      if (!response.ok) throw new Error(String(response.status));
      const body = await response.json();
      const list = body.segments || [];
      this.segments = list.map((s, i) => ({
        url: s.url, start: Number(s.start_s) || 0,
        end: s.duration_s != null ? (Number(s.start_s) || 0) + Number(s.duration_s)
          : (list[i + 1] ? Number(list[i + 1].start_s) : Infinity),
      }));
    } catch (err) {
      this.segments = [];
    }
    if (!this.segments.length) {
      this.video.setAttribute("aria-description", "No recording is available for this stream.");
      this.video.closest("figure")?.classList.add("no-media");
      return false;
    }
    // Load the first segment now, so "Play both" and the native controls work at once.
    await this.use(0, 0);
    return true;
  }

  indexAt(t) {
    let found = 0;
    this.segments.forEach((s, i) => { if (s.start <= t + 1e-3) found = i; });
    return found;
  }

  time() {
    const seg = this.segments[this.current];
    return seg ? seg.start + (this.video.currentTime || 0) : Number(this.video.dataset.globalTime || 0);
  }

  async use(index, localTime) {
    const seg = this.segments[index];
    if (!seg) return;
    if (index !== this.current) {
      this.current = index;
      this.video.src = seg.url;
      await new Promise((resolve) => {
        const done = () => { this.video.removeEventListener("loadedmetadata", done); resolve(); };
        this.video.addEventListener("loadedmetadata", done);
        this.video.addEventListener("error", done, { once: true });
        this.video.load();
      });
      this.video.playbackRate = Number(rateEl.value) || 1;
    }
    try { this.video.currentTime = Math.max(0, localTime); } catch (err) { /* not seekable yet */ }
  }

  async seek(t) {
    if (!(await this.ready)) { this.video.dataset.globalTime = t.toFixed(3); return; }
    const index = this.indexAt(t);
    await this.use(index, t - this.segments[index].start);
    this.video.dataset.globalTime = t.toFixed(3);
  }

  async next() {
    if (this.current + 1 < this.segments.length) {
      await this.use(this.current + 1, 0);
      this.video.play().catch(() => {});
    }
  }
}

const players = ["webcam-player", "screen-player"]
  .map((id) => document.getElementById(id)).filter(Boolean).map((v) => new SegmentedPlayer(v));
const [master, follower] = players;

async function seekAll(t, { play = false } = {}) {
  await Promise.all(players.map((p) => p.seek(t)));
  updateCursor(t);
  if (statusEl) statusEl.textContent = `Both recordings at ${fmt(t)}.`;
  if (play) players.forEach((p) => p.video.play().catch(() => {}));
}

const svg = document.getElementById("timeline");
const cursor = document.getElementById("tl-cursor");
function updateCursor(t) {
  if (timeEl) timeEl.textContent = fmt(t);
  if (!svg || !cursor) return;
  const d = Number(svg.dataset.duration), x0 = Number(svg.dataset.plotX), w = Number(svg.dataset.plotW);
  const x = x0 + w * Math.min(Math.max(t, 0), d) / d;
  cursor.setAttribute("x1", x); cursor.setAttribute("x2", x);
}

if (master) {
  master.video.addEventListener("timeupdate", () => {
    const t = master.time();
    updateCursor(t);
    if (follower && follower.segments.length && Math.abs(follower.time() - t) > DRIFT_S) follower.seek(t);
  });
  master.video.addEventListener("play", () => follower?.video.play().catch(() => {}));
  master.video.addEventListener("pause", () => follower?.video.pause());
}

rateEl?.addEventListener("change", () => {
  const rate = RATES.includes(Number(rateEl.value)) ? Number(rateEl.value) : 1;
  players.forEach((p) => { p.video.playbackRate = rate; });
});
document.getElementById("play-both")?.addEventListener("click", () => players.forEach((p) => p.video.play().catch(() => {})));
document.getElementById("pause-both")?.addEventListener("click", () => players.forEach((p) => p.video.pause()));
document.getElementById("seek-go")?.addEventListener("click", () => {
  const t = parseTime(document.getElementById("seek-time").value);
  if (t != null) seekAll(t);
});

// Flag buttons, thumbnails, event-log times and timeline flags all carry data-start.
document.addEventListener("click", (event) => {
  const target = event.target.closest(".jump, .tl-flag, .tl-event");
  if (!target) return;
  event.preventDefault();
  const t = Number(target.dataset.start);
  if (Number.isNaN(t)) return;
  seekAll(t);
  const flagId = target.dataset.flagId;
  if (flagId) {
    const item = document.getElementById(`flag-${flagId}`);
    item?.scrollIntoView({ block: "nearest" });
    item?.focus({ preventScroll: true });
  }
});

// A click on an empty point of the timeline seeks there too.
svg?.addEventListener("click", (event) => {
  if (event.target.closest(".tl-flag, .tl-event")) return;
  const point = svg.createSVGPoint();
  point.x = event.clientX; point.y = event.clientY;
  const local = point.matrixTransform(svg.getScreenCTM().inverse());
  const d = Number(svg.dataset.duration), x0 = Number(svg.dataset.plotX), w = Number(svg.dataset.plotW);
  if (local.x < x0 || local.x > x0 + w) return;
  seekAll(((local.x - x0) / w) * d);
});

// Only offer the reasons that belong to the chosen decision.
document.querySelectorAll(".decide-form").forEach((form) => {
  const decision = form.querySelector(".decision-select");
  const reason = form.querySelector(".reason-select");
  const sync = () => {
    let first = null;
    reason.querySelectorAll("option").forEach((opt) => {
      const ok = opt.dataset.decision === decision.value;
      opt.hidden = !ok; opt.disabled = !ok;
      if (ok && !first) first = opt;
    });
    const noReason = decision.value === "open" || decision.value === "";
    reason.closest("form").querySelector(`label[for="${reason.id}"]`).hidden = noReason;
    reason.hidden = noReason;
    if (first && reason.selectedOptions[0]?.disabled !== false) reason.value = first.value;
  };
  decision.addEventListener("change", sync);
  sync();
});

// Ending an attempt in the LMS is not undoable from here: ask once.
document.querySelectorAll("button[data-confirm]").forEach((button) => {
  button.addEventListener("click", (event) => {
    if (!window.confirm(button.dataset.confirm)) event.preventDefault();
  });
});

// Browser tests and keyboard users can ask for the shared position.
window.reviewPlayers = {
  seek: seekAll,
  time: (kind) => players.find((p) => p.kind === kind)?.time() ?? null,
  ready: () => Promise.all(players.map((p) => p.ready)),
};

// Deep link: /review/attempts/1/#t=90 starts both players at 1:30.
const deep = /#t=([\d.:]+)/.exec(location.hash);
if (deep) { const t = parseTime(deep[1]); if (t != null) seekAll(t); }
