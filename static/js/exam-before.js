// Before you Begin: the red Warning box (what to fix first), re-check, high visibility.
import { announce, applyStoredHighVisibility, environmentProblems, pageConfig, popupsAllowed,
         readTexts, setHighVisibility } from "./exam-common.js";

const cfg = pageConfig();
const texts = readTexts("warning-texts");
const box = document.getElementById("warning-box");
const list = document.getElementById("warning-list");
const start = document.getElementById("start-prechecks");
const hv = document.getElementById("high-visibility");

hv.checked = applyStoredHighVisibility(cfg.prefsUrl);
hv.addEventListener("change", () => {
  setHighVisibility(hv.checked, cfg.prefsUrl);
  announce(hv.checked ? texts.hv_on : texts.hv_off);
});

let problems = [];

function render() {
  list.replaceChildren();
  for (const p of problems) {
    const li = document.createElement("li");
    li.dataset.problem = p.id;
    const strong = document.createElement("strong");
    strong.textContent = p.title;
    const fix = document.createElement("span");
    fix.textContent = " " + p.fix;
    li.append(strong, fix);
    if (!p.fatal) {
      const again = document.createElement("button");
      again.type = "button";
      again.className = "secondary small";
      again.textContent = texts.recheck;
      again.setAttribute("aria-label", `${texts.recheck}: ${p.title}`);
      again.addEventListener("click", () => check({ focus: true, popup: p.id === "popups" }));
      li.append(" ", again);
    }
    list.append(li);
  }
  box.hidden = problems.length === 0;
  const blocked = problems.length > 0;
  start.setAttribute("aria-disabled", blocked ? "true" : "false");
  start.classList.toggle("disabled", blocked);
  document.getElementById("recheck-all").hidden = problems.every((p) => p.fatal);
}

async function check({ focus = false, popup = false } = {}) {
  // Pop-up testing needs a click (browsers block windows opened without one).
  const popupProblem = problems.find((p) => p.id === "popups");
  problems = await environmentProblems(cfg, texts);
  if (cfg.opensNewWindow) {
    if (popup) {
      if (!popupsAllowed()) problems.push({ id: "popups", ...texts.popups });
    } else if (popupProblem) {
      problems.push(popupProblem);
    }
  }
  render();
  announce(problems.length ? texts.n_problems.replace("%s", problems.length) : texts.all_clear);
  if (focus && problems.length) box.focus();
}

box.tabIndex = -1;
document.getElementById("recheck-all").addEventListener("click", () => check({ focus: true, popup: true }));
start.addEventListener("click", async (event) => {
  event.preventDefault();
  await check({ focus: true, popup: cfg.opensNewWindow });
  if (!problems.length) window.location.href = start.href;
});
if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
  navigator.mediaDevices.addEventListener("devicechange", () => check());
}
if (window.screen && "onchange" in window.screen) window.screen.addEventListener("change", () => check());
check();
