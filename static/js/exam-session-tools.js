// In-exam tools of the session page: calculator (basic / scientific, no eval) and whiteboard.

const OPS = { "+": [1, (a, b) => a + b], "-": [1, (a, b) => a - b], "*": [2, (a, b) => a * b],
              "/": [2, (a, b) => a / b], "^": [3, (a, b) => a ** b] };
const FUNCS = { sqrt: Math.sqrt, sin: Math.sin, cos: Math.cos, tan: Math.tan,
                log: Math.log10, ln: Math.log };

// Shunting-yard evaluation of + - * / ^ ( ) numbers, pi and FUNCS; throws on bad input.
export function evaluate(expression, scientific) {
  const tokens = expression.replace(/×/g, "*").replace(/÷/g, "/").replace(/π/g, "pi")
    .match(/\d+\.?\d*|\.\d+|[a-z]+|[-+*/^()]/g) || [];
  const out = [], stack = [];
  let expectOperand = true;
  for (const tok of tokens) {
    if (/^[\d.]/.test(tok)) { out.push(parseFloat(tok)); expectOperand = false; }
    else if (tok === "pi" && scientific) { out.push(Math.PI); expectOperand = false; }
    else if (FUNCS[tok] && scientific) { stack.push(tok); }
    else if (tok === "(") { stack.push(tok); expectOperand = true; }
    else if (tok === ")") {
      while (stack.length && stack[stack.length - 1] !== "(") out.push(stack.pop());
      if (!stack.length) throw new Error("parenthesis");
      stack.pop();
      if (stack.length && FUNCS[stack[stack.length - 1]]) out.push(stack.pop());
      expectOperand = false;
    } else if (OPS[tok]) {
      if (expectOperand && tok === "-") { out.push(0); }
      else if (expectOperand) throw new Error("operator");
      if (tok === "^" && !scientific) throw new Error("operator");
      while (stack.length && OPS[stack[stack.length - 1]] &&
             (OPS[stack[stack.length - 1]][0] > OPS[tok][0] ||
              (OPS[stack[stack.length - 1]][0] === OPS[tok][0] && tok !== "^"))) out.push(stack.pop());
      stack.push(tok);
      expectOperand = true;
    } else throw new Error("token");
  }
  while (stack.length) { const op = stack.pop(); if (op === "(") throw new Error("parenthesis"); out.push(op); }
  const values = [];
  for (const item of out) {
    if (typeof item === "number") values.push(item);
    else if (FUNCS[item]) { if (!values.length) throw new Error("arg"); values.push(FUNCS[item](values.pop())); }
    else { const b = values.pop(), a = values.pop(); if (a === undefined) throw new Error("arg"); values.push(OPS[item][1](a, b)); }
  }
  if (values.length !== 1 || !Number.isFinite(values[0])) throw new Error("result");
  return Math.round(values[0] * 1e10) / 1e10;
}

export function calculator(root, scientific, errorText) {
  if (!root) return;
  const input = root.querySelector("input");
  const result = root.querySelector("output");
  root.querySelector("form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    try { result.value = String(evaluate(input.value, scientific)); }
    catch (e) { result.value = errorText; }
  });
  root.querySelectorAll("button[data-key]").forEach((b) => b.addEventListener("click", () => {
    input.value += b.dataset.key;
    input.focus();
  }));
}

export function whiteboard(canvas, clearButton) {
  if (!canvas) return;
  const ctx = canvas.getContext("2d");
  ctx.lineWidth = 2; ctx.lineCap = "round"; ctx.strokeStyle = "#000";
  let drawing = false;
  const pos = (ev) => { const r = canvas.getBoundingClientRect(); return [ev.clientX - r.left, ev.clientY - r.top]; };
  canvas.addEventListener("pointerdown", (ev) => { drawing = true; ctx.beginPath(); ctx.moveTo(...pos(ev)); canvas.setPointerCapture(ev.pointerId); });
  canvas.addEventListener("pointermove", (ev) => { if (drawing) { ctx.lineTo(...pos(ev)); ctx.stroke(); } });
  canvas.addEventListener("pointerup", () => { drawing = false; });
  // Keyboard: a cursor moved with the arrow keys, drawing while Space is held.
  let cx = canvas.width / 2, cy = canvas.height / 2, pen = false;
  canvas.addEventListener("keydown", (ev) => {
    const step = ev.shiftKey ? 20 : 5;
    const d = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] }[ev.key];
    if (ev.key === " ") { pen = !pen; ev.preventDefault(); return; }
    if (!d) return;
    ev.preventDefault();
    ctx.beginPath(); ctx.moveTo(cx, cy);
    cx = Math.max(0, Math.min(canvas.width, cx + d[0])); cy = Math.max(0, Math.min(canvas.height, cy + d[1]));
    if (pen) { ctx.lineTo(cx, cy); ctx.stroke(); }
  });
  clearButton.addEventListener("click", () => ctx.clearRect(0, 0, canvas.width, canvas.height));
}
