// After the session: keep sending whatever recording is still on this computer.
import { applyStoredHighVisibility, readTexts } from "./exam-common.js";
import { UploadClient } from "./upload-client.js";

applyStoredHighVisibility(null);
const el = document.getElementById("upload-left");
const t = readTexts("done-texts");
const client = new UploadClient({ attemptId: Number(el.dataset.attempt), apiBase: "/api" });
await client.ready;
let left = client.pendingCount();
while (left > 0) {
  el.textContent = t.pending.replace("%s", left);
  const { pending } = await client.flush({ timeoutMs: 30000 });
  left = pending;
}
el.textContent = t.saved;
