// LTI Platform Storage (cookie-less iframes): store the OIDC state in the platform's storage
// frame with lti.put_data at login, read it back with lti.get_data at launch.
// Spec: IMS "LTI Client Side postMessages" / Platform Storage. Canvas accepts target origin '*'.
const config = JSON.parse(document.getElementById("lti-storage").textContent);
const status = document.querySelector("[data-lti-storage-status]");
const TIMEOUT_MS = 3000;

function targetFrame(name) {
  const parent = window.parent !== window ? window.parent : window.opener;
  if (!parent) return null;
  if (!name || name === "_parent") return parent;
  try {
    return parent.frames[name] || parent;
  } catch (_error) {
    return parent;
  }
}

function request(subject, payload) {
  const frame = targetFrame(config.target);
  if (!frame) return Promise.reject(new Error("no platform frame"));
  const messageId = crypto.randomUUID();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      window.removeEventListener("message", onMessage);
      reject(new Error("timeout"));
    }, TIMEOUT_MS);
    function onMessage(event) {
      const data = event.data || {};
      if (data.message_id !== messageId || data.subject !== `${subject}.response`) return;
      // Answers count only from the platform's own origins, never from any other frame.
      if (config.origins.length && !config.origins.includes(event.origin)) return;
      clearTimeout(timer);
      window.removeEventListener("message", onMessage);
      if (data.error) reject(new Error(data.error.code || "error"));
      else resolve(data);
    }
    window.addEventListener("message", onMessage);
    frame.postMessage({ subject, message_id: messageId, ...payload }, "*");
  });
}

async function put() {
  // Both in parallel: a platform that never answers delays the sign-in by one timeout only.
  // Failures are fine here: the cookie may still work, and the launch checks either way.
  await Promise.allSettled([
    request("lti.put_data", { key: `state_${config.state}`, value: config.state }),
    request("lti.put_data", { key: `nonce_${config.nonce}`, value: config.nonce }),
  ]);
  window.location.assign(config.next);
}

async function get() {
  const form = document.querySelector("[data-lti-storage-form]");
  try {
    const answer = await request("lti.get_data", { key: `state_${config.state}` });
    if (answer.value !== config.state) throw new Error("mismatch");
    form.elements.lti_storage_value.value = answer.value;
    form.submit();
  } catch (_error) {
    status.textContent = status.dataset.failed || "We could not confirm your sign-in here.";
    document.querySelector("[data-lti-storage-fallback]").hidden = false;
  }
}

if (config.mode === "put") put();
else get();
