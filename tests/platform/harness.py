"""Test-side client for the independent platform (tests/platform/server.py).

The server runs in .venv-platform in its own process; this module runs in the tool's venv and
talks to it over loopback HTTP. See README.md for the API.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parents[2]
PLATFORM_PYTHON = ROOT / ".venv-platform" / "bin" / "python"
SERVER = Path(__file__).with_name("server.py")
FORM_FIELD = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')


class PlatformProcess:
    """Start/stop the platform server process; wait for its READY line."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None
        self.base_url = ""

    def start(self, timeout: float = 20.0) -> str:
        self.proc = subprocess.Popen(
            [str(PLATFORM_PYTHON), str(SERVER), "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(ROOT),
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # blocks until READY or the process dies
        if not line.startswith("READY "):
            err = self.proc.stderr.read() if self.proc.stderr else ""
            self.stop()
            raise RuntimeError(f"platform harness did not start: {line!r} {err[-2000:]}")
        self.base_url = line.split()[1]
        while time.monotonic() < deadline:
            try:
                requests.get(f"{self.base_url}/control/state", timeout=2).raise_for_status()
                return self.base_url
            except requests.RequestException:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("platform harness never answered /control/state")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None


class PlatformHarness:
    """Drive the platform: prepare launches, rotate its key, sign tokens, inspect requests."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()

    def _post(self, path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.http.post(f"{self.base_url}{path}", json=payload or {}, timeout=10)
        response.raise_for_status()
        return response.json()

    # --- configuration --------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        response = self.http.get(f"{self.base_url}/control/state", timeout=10)
        response.raise_for_status()
        return response.json()

    def configure(self, **values: Any) -> dict[str, Any]:
        """client_id, deployment_id, tool_base_url, issuer, jwks_cache_control."""
        return self._post("/control/configure", values)

    @property
    def registration(self) -> dict[str, Any]:
        return self.state()

    def register_command_args(self, *, name: str = "Harness LMS") -> list[str]:
        """Arguments for `manage.py register_platform` that register this platform."""
        reg = self.state()
        return [
            "--name", name, "--issuer", reg["issuer"], "--client-id", reg["client_id"],
            "--auth-login-url", reg["auth_login_url"], "--auth-token-url", reg["auth_token_url"],
            "--key-set-url", reg["key_set_url"], "--deployment-id", reg["deployment_id"],
        ]

    # --- launches ----------------------------------------------------------------------
    def prepare_launch(self, **spec: Any) -> str:
        """Return the tool login URL for a launch. See README.md for the spec keys."""
        return self._post("/control/launch", spec)["login_url"]

    def authorize(self, auth_redirect_url: str) -> tuple[str, dict[str, str]]:
        """Follow the tool's redirect to the platform's auth endpoint; return (action, fields)."""
        response = self.http.get(auth_redirect_url, timeout=10, allow_redirects=False)
        if response.status_code != 200:
            raise AssertionError(f"platform refused the auth request: {response.text}")
        action = html.unescape(FORM_ACTION.search(response.text).group(1))  # type: ignore[union-attr]
        fields = {k: html.unescape(v) for k, v in FORM_FIELD.findall(response.text)}
        return action, fields

    def launch_through(self, client: Any, **spec: Any) -> Any:
        """Run login + launch with a Django test client; return the launch response.

        Returns the login response instead when the tool did not redirect to the platform
        (an error page, or the Platform Storage page).
        """
        login = self.prepare_launch(**spec)
        parts = urlsplit(login)
        response = client.get(f"{parts.path}?{parts.query}", secure=True)
        if response.status_code != 302:
            return response
        action, fields = self.authorize(response["Location"])
        return client.post(urlsplit(action).path, fields, secure=True)

    def last_id_token(self) -> str:
        return self.state()["last_id_token"]

    def rotate_key(self, *, keep_old: bool = False) -> str:
        """Start signing with a new key; the key set publishes only it unless keep_old."""
        return self._post("/control/rotate-key", {"keep_old": keep_old})["kid"]

    def sign(self, claims: dict[str, Any], *, alg: str = "RS256", kid: str | None = None) -> str:
        return self._post("/control/sign", {"claims": claims, "alg": alg, "kid": kid})["jwt"]

    def requests_to(self, path: str) -> int:
        return sum(1 for r in self.state()["requests"] if r["path"] == path)

    def check_start_assessment(self, jwt: str, *, resource_link_id: str = "rl-1") -> dict[str, Any]:
        return self._post("/control/check-start-assessment",
                          {"jwt": jwt, "resource_link_id": resource_link_id})

    def check_deep_linking(self, jwt: str) -> dict[str, Any]:
        return self._post("/control/check-deep-linking", {"jwt": jwt})


def platform_python_missing_reason() -> str:
    if PLATFORM_PYTHON.exists():
        return ""
    return (f"{PLATFORM_PYTHON} is missing: run `make platform-venv` "
            f"(python {sys.version_info.major}.{sys.version_info.minor})")
