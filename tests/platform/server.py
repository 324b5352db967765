"""An independent LTI 1.3 platform for end-to-end tests: Open edX's lti-consumer-xblock.

Runs ONLY under .venv-platform (lti-consumer-xblock + Django 5.2 + cryptography), in its own
process, on 127.0.0.1. It never imports the tool's code. Start:

    .venv-platform/bin/python tests/platform/server.py --port 0

It prints one line `READY http://127.0.0.1:<port>` when it listens. The API (JSON control
endpoints under /control/ plus the real platform endpoints) is documented in README.md.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import html
import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import django
from django.conf import settings

settings.configure(
    PLATFORM_NAME="Harness LMS",
    CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
    INSTALLED_APPS=[],
    USE_TZ=True,
)
django.setup()

import jwt  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from lti_consumer.data import Lti1p3LaunchData, Lti1p3ProctoringLaunchData  # noqa: E402
from lti_consumer.lti_1p3.consumer import LtiAdvantageConsumer, LtiProctoringConsumer  # noqa: E402

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
PROCTORING_MESSAGES = {"LtiStartProctoring", "LtiEndAssessment"}


def new_key() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return f"platform-{uuid.uuid4().hex[:10]}", pem


class PlatformState:
    """Everything the platform remembers; guarded by one lock (the server is threaded)."""

    def __init__(self, base_url: str) -> None:
        self.lock = threading.Lock()
        self.base_url = base_url
        self.issuer = base_url
        self.client_id = "harness-client"
        self.deployment_id = "harness-deployment"
        self.tool_base_url = "http://testserver"
        self.keys: list[tuple[str, str]] = [new_key()]  # signing key = last
        self.published_kids: list[str] = [self.keys[-1][0]]
        self.jwks_cache_control = "max-age=300"
        self.launches: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.last_id_token = ""
        self.proctoring_data: dict[str, dict[str, Any]] = {}

    # Tool URLs, derived from its base URL unless configured one by one.
    tool_login_url = property(lambda self: f"{self.tool_base_url}/lti/login/")
    tool_launch_url = property(lambda self: f"{self.tool_base_url}/lti/launch/")
    tool_jwks_url = property(lambda self: f"{self.tool_base_url}/lti/jwks/")

    @property
    def signing_key(self) -> tuple[str, str]:
        return self.keys[-1]

    def registration(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "client_id": self.client_id,
            "deployment_id": self.deployment_id,
            "auth_login_url": f"{self.base_url}/auth",
            "auth_token_url": f"{self.base_url}/token",
            "key_set_url": f"{self.base_url}/jwks.json",
            "signing_kid": self.signing_key[0],
            "published_kids": list(self.published_kids),
            "tool_base_url": self.tool_base_url,
        }

    def consumer(self, message_type: str = "LtiResourceLinkRequest") -> Any:
        kid, pem = self.signing_key
        cls = LtiProctoringConsumer if message_type in PROCTORING_MESSAGES else LtiAdvantageConsumer
        return cls(
            iss=self.issuer,
            lti_oidc_url=self.tool_login_url,
            lti_launch_url=self.tool_launch_url,
            client_id=self.client_id,
            deployment_id=self.deployment_id,
            rsa_key=pem,
            rsa_key_id=kid,
            redirect_uris=[self.tool_launch_url],
            tool_keyset_url=self.tool_jwks_url,
        )


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(state: PlatformState, claims: dict[str, Any], *, alg: str = "RS256",
         kid: str | None = None, key_pem: str | None = None) -> str:
    """Sign claims the way a platform would, or forge them (HS256 with a guessable secret, none)."""
    headers = {"kid": kid or state.signing_key[0], "typ": "JWT"}
    if alg == "none":
        header = b64url(json.dumps({"alg": "none", **headers}).encode())
        return f"{header}.{b64url(json.dumps(claims).encode())}."
    if alg.startswith("HS"):
        # The classic confusion attack: HMAC keyed with the platform's *public* key.
        header = b64url(json.dumps({"alg": alg, **headers}).encode())
        body = b64url(json.dumps(claims).encode())
        secret = public_pem(key_pem or state.signing_key[1]).encode()
        digest = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
        return f"{header}.{body}.{b64url(digest)}"
    return jwt.encode(claims, key_pem or state.signing_key[1], algorithm=alg, headers=headers)


def public_pem(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def jwks(state: PlatformState) -> dict[str, Any]:
    algo = jwt.get_algorithm_by_name("RS256")
    keys = []
    for kid, pem in state.keys:
        if kid in state.published_kids:
            jwk = json.loads(algo.to_jwk(algo.prepare_key(pem).public_key()))
            keys.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
    return {"keys": keys}


def launch_data_for(spec: dict[str, Any], config_id: str) -> Lti1p3LaunchData:
    proctoring = None
    if spec.get("message_type") in PROCTORING_MESSAGES:
        proctoring = Lti1p3ProctoringLaunchData(
            attempt_number=spec.get("attempt_number", 1),
            start_assessment_url=spec.get("start_assessment_url"),
            assessment_control_url=spec.get("assessment_control_url"),
            assessment_control_actions=spec.get("assessment_control_actions", []),
        )
    return Lti1p3LaunchData(
        user_id=spec.get("user_id", "student-1"),
        user_role=spec.get("role", "student"),
        config_id=config_id,
        resource_link_id=spec.get("resource_link_id", "rl-1"),
        name=spec.get("name"),
        email=spec.get("email"),
        launch_presentation_return_url=spec.get("return_url"),
        message_type=spec.get("message_type", "LtiResourceLinkRequest"),
        context_id=spec.get("context_id"),
        context_title=spec.get("context_title"),
        context_label=spec.get("context_label"),
        proctoring_launch_data=proctoring,
        custom_parameters=spec.get("custom", {}),
    )


def build_id_token(state: PlatformState, spec: dict[str, Any], preflight: dict[str, str]) -> str:
    """The library builds and signs the launch; `tamper` then rewrites it for security cases."""
    message_type = spec.get("message_type", "LtiResourceLinkRequest")
    consumer = state.consumer(message_type)
    consumer.deployment_id = spec.get("deployment_id", state.deployment_id)
    consumer.set_user_data(
        user_id=spec.get("user_id", "student-1"), role=spec.get("role", "student"),
        full_name=spec.get("name"), email_address=spec.get("email"),
    )
    consumer.set_resource_link_claim(spec.get("resource_link_id", "rl-1"),
                                     title=spec.get("resource_link_title"))
    if spec.get("context_id"):
        consumer.set_context_claim(spec["context_id"], context_title=spec.get("context_title"),
                                   context_label=spec.get("context_label"))
    if spec.get("custom"):
        consumer.set_custom_parameters(spec["custom"])
    if spec.get("return_url"):
        consumer.set_launch_presentation_claim(document_target="iframe",
                                               return_url=spec["return_url"])
    if message_type == "LtiDeepLinkingRequest":
        consumer.enable_deep_linking(state.tool_launch_url, spec.get(
            "deep_link_return_url", f"{state.base_url}/deep-linking-return"))
    if message_type in PROCTORING_MESSAGES:
        consumer.set_proctoring_data(
            attempt_number=spec.get("attempt_number", 1),
            resource_link_id=spec.get("resource_link_id", "rl-1"),
            session_data=spec.get("session_data", "session-data-1"),
            start_assessment_url=spec.get("start_assessment_url",
                                          f"{state.base_url}/start-assessment"),
            assessment_control_url=spec.get("assessment_control_url"),
            assessment_control_actions=spec.get("assessment_control_actions", []),
        )
        state.proctoring_data[spec.get("resource_link_id", "rl-1")] = consumer.proctoring_data
    if spec.get("nrps_url"):
        consumer.enable_nrps(spec["nrps_url"])
    launch = consumer.generate_launch_request(preflight)
    tamper = spec.get("tamper") or {}
    if not tamper and "roles_override" not in spec:
        return launch["id_token"]
    claims = jwt.decode(launch["id_token"], options={"verify_signature": False})
    if "roles_override" in spec:
        claims[CLAIM + "roles"] = spec["roles_override"]
    claims.update(tamper.get("set", {}))
    for name in tamper.get("remove", []):
        claims.pop(name, None)
    if "iat_offset" in tamper:
        claims["iat"] = int(time.time()) + int(tamper["iat_offset"])
    if "exp_offset" in tamper:
        claims["exp"] = int(time.time()) + int(tamper["exp_offset"])
    key_pem = None
    if tamper.get("foreign_key"):  # a key the platform never published: a forgery
        key_pem = new_key()[1]
    return sign(state, claims, alg=tamper.get("alg", "RS256"), kid=tamper.get("kid"),
                key_pem=key_pem)


def auto_post(url: str, fields: dict[str, str]) -> str:
    inputs = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in fields.items()
    )
    return (f'<!doctype html><html><body><form id="f" method="post" action="{html.escape(url)}">'
            f'{inputs}<button>Continue</button></form>'
            '<script>document.getElementById("f").submit()</script></body></html>')


LMS_FRAME = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Harness LMS course page</title></head><body><main>
<h1>Harness LMS</h1>
<iframe name="tool" id="tool-frame" title="Proctoring tool" src="%s" width="900" height="600"
 allow="camera; microphone; display-capture"></iframe></main>
<script>
// LTI Platform Storage, platform side (what Canvas's post_message_forwarding frame does).
window.storageLog = [];
const store = new Map();
window.addEventListener("message", (event) => {
  const msg = event.data || {};
  const frame = document.getElementById("tool-frame").contentWindow;
  if (event.source !== frame) return;
  const origin = new URL(document.getElementById("tool-frame").src).origin;
  let reply = {subject: msg.subject + ".response", message_id: msg.message_id, key: msg.key};
  if (msg.subject === "lti.put_data") { store.set(origin + " " + msg.key, msg.value);
    reply.value = msg.value; }
  else if (msg.subject === "lti.get_data") {
    if (store.has(origin + " " + msg.key)) reply.value = store.get(origin + " " + msg.key);
    else reply.error = {code: "not_found", message: "no such key"}; }
  else if (msg.subject === "lti.capabilities") { reply.supported_messages = [
    {subject: "lti.put_data"}, {subject: "lti.get_data"}]; }
  else return;
  window.storageLog.push(msg.subject);
  event.source.postMessage(reply, event.origin);
});
</script></body></html>"""


class Handler(BaseHTTPRequestHandler):
    state: PlatformState  # set on the class by main()
    server_version = "HarnessLMS/1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet by default
        pass

    # --- plumbing ---------------------------------------------------------------------
    def _send(self, status: int, body: str | bytes, content_type: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload), headers=headers)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _params(self) -> dict[str, str]:
        query = parse_qs(urlsplit(self.path).query)
        if self.command == "POST" and "json" not in (self.headers.get("Content-Type") or ""):
            query.update(parse_qs(self._body().decode()))
        return {k: v[-1] for k, v in query.items()}

    def _record(self) -> None:
        with self.state.lock:
            self.state.requests.append({"method": self.command, "path": urlsplit(self.path).path,
                                        "time": time.time()})

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def _dispatch(self) -> None:
        self._record()
        path = urlsplit(self.path).path
        route = ROUTES.get((self.command, path)) or ROUTES.get(("*", path))
        if route is None:
            self._json(404, {"error": "not_found", "path": path})
            return
        try:
            route(self)
        except Exception as exc:  # noqa: BLE001 - the harness reports, the test decides
            self._json(500, {"error": type(exc).__name__, "detail": str(exc)})

    # --- platform endpoints -----------------------------------------------------------
    def jwks(self) -> None:
        with self.state.lock:
            body = jwks(self.state)
            cache_control = self.state.jwks_cache_control
        self._json(200, body, headers={"Cache-Control": cache_control})

    def auth(self) -> None:
        """OIDC authorization endpoint: answers the tool's login redirect with the launch."""
        params = self._params()
        spec = self.state.launches.get(params.get("lti_message_hint", ""))
        if spec is None:
            self._json(400, {"error": "unknown lti_message_hint"})
            return
        if params.get("login_hint") != spec.get("user_id", "student-1"):
            self._json(400, {"error": "login_hint mismatch"})
            return
        if params.get("response_mode") != "form_post" or params.get("scope") != "openid":
            self._json(400, {"error": "response_mode must be form_post and scope openid"})
            return
        with self.state.lock:
            id_token = build_id_token(self.state, spec, params)
            self.state.last_id_token = id_token
        self._send(200, auto_post(params["redirect_uri"],
                                  {"id_token": id_token, "state": params.get("state", "")}),
                   "text/html; charset=utf-8")

    def token(self) -> None:
        """Client-credentials grant: validates the tool's JWT assertion against its JWKS."""
        params = self._params()
        # As in Open edX: proctoring configurations grant the ACS scope only (their
        # LtiProctoringConsumer scope check never matches the NRPS/AGS list); ordinary LTI
        # Advantage configurations grant NRPS and AGS.
        acs = "https://purl.imsglobal.org/spec/lti-ap/scope/control.all"
        kind = "LtiStartProctoring" if acs in params.get("scope", "").split() else None
        try:
            with self.state.lock:
                consumer = self.state.consumer(kind or "LtiResourceLinkRequest")
                answer = consumer.access_token(params)
        except Exception as exc:  # noqa: BLE001
            self._json(400, {"error": "invalid_client", "detail": type(exc).__name__})
            return
        self._json(200, answer)

    def lms_frame(self) -> None:
        """A course page that frames the tool (src) and answers lti.put_data/lti.get_data."""
        src = self._params().get("src", "")
        if not src.startswith(("http://", "https://")):
            self._json(400, {"error": "src must be an http(s) URL"})
            return
        self._send(200, LMS_FRAME % html.escape(src), "text/html; charset=utf-8")

    # --- control endpoints (tests only) -------------------------------------------------
    def _control_json(self) -> dict[str, Any]:
        raw = self._body()
        return json.loads(raw) if raw else {}

    def control_state(self) -> None:
        with self.state.lock:
            self._json(200, {**self.state.registration(),
                             "last_id_token": self.state.last_id_token,
                             "requests": self.state.requests[-200:]})

    def control_configure(self) -> None:
        data = self._control_json()
        with self.state.lock:
            for name in ("client_id", "deployment_id", "tool_base_url", "issuer",
                         "jwks_cache_control"):
                if name in data:
                    setattr(self.state, name, str(data[name]).rstrip("/")
                            if name == "tool_base_url" else data[name])
            self.state.requests.clear()
            self._json(200, self.state.registration())

    def control_launch(self) -> None:
        """Prepare a launch; answers the tool login URL the browser should open."""
        spec = self._control_json()
        with self.state.lock:
            consumer = self.state.consumer(spec.get("message_type", "LtiResourceLinkRequest"))
            consumer.deployment_id = spec.get("deployment_id", self.state.deployment_id)
            data = launch_data_for(spec, config_id=uuid.uuid4().hex)
            login_url = consumer.prepare_preflight_url(data)
            hint = parse_qs(urlsplit(login_url).query)["lti_message_hint"][0]
            self.state.launches[hint] = spec
            extra = spec.get("login_extra") or {}
            if extra:
                login_url += "&" + urlencode(extra)
        self._json(200, {"login_url": login_url, "lti_message_hint": hint})

    def control_rotate_key(self) -> None:
        data = self._control_json()
        with self.state.lock:
            kid, pem = new_key()
            self.state.keys.append((kid, pem))
            if data.get("keep_old"):
                self.state.published_kids.append(kid)
            else:
                self.state.published_kids = [kid]
            self._json(200, {"kid": kid, "published_kids": self.state.published_kids})

    def control_sign(self) -> None:
        data = self._control_json()
        with self.state.lock:
            token = sign(self.state, data["claims"], alg=data.get("alg", "RS256"),
                         kid=data.get("kid"))
        self._json(200, {"jwt": token})

    def control_check_start_assessment(self) -> None:
        """Validate an LtiStartAssessment JWT the way Open edX does (LtiProctoringConsumer)."""
        data = self._control_json()
        with self.state.lock:
            consumer = self.state.consumer("LtiStartProctoring")
            consumer.proctoring_data = dict(self.state.proctoring_data.get(
                data.get("resource_link_id", "rl-1"), {}))
        try:
            self._json(200, {"ok": True, "claims": consumer.check_and_decode_token(data["jwt"])})
        except Exception as exc:  # noqa: BLE001
            self._json(200, {"ok": False, "error": type(exc).__name__, "detail": str(exc)})

    def control_check_deep_linking(self) -> None:
        """Validate an LtiDeepLinkingResponse JWT with LtiAdvantageConsumer."""
        data = self._control_json()
        with self.state.lock:
            consumer = self.state.consumer()
            consumer.enable_deep_linking(self.state.tool_launch_url,
                                         f"{self.state.base_url}/deep-linking-return")
        try:
            items = consumer.check_and_decode_deep_linking_token(data["jwt"])
            self._json(200, {"ok": True, "content_items": items})
        except Exception as exc:  # noqa: BLE001
            self._json(200, {"ok": False, "error": type(exc).__name__, "detail": str(exc)})


ROUTES = {
    ("GET", "/jwks.json"): Handler.jwks,
    ("*", "/auth"): Handler.auth,
    ("POST", "/token"): Handler.token,
    ("GET", "/lms-frame"): Handler.lms_frame,
    ("GET", "/control/state"): Handler.control_state,
    ("POST", "/control/configure"): Handler.control_configure,
    ("POST", "/control/launch"): Handler.control_launch,
    ("POST", "/control/rotate-key"): Handler.control_rotate_key,
    ("POST", "/control/sign"): Handler.control_sign,
    ("POST", "/control/check-start-assessment"): Handler.control_check_start_assessment,
    ("POST", "/control/check-deep-linking"): Handler.control_check_deep_linking,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    Handler.state = PlatformState(base_url)
    print(f"READY {base_url}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        sys.stdout.flush()


if __name__ == "__main__":
    main()
