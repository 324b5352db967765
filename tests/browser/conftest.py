"""Real headless Chromium (Debian's /usr/bin/chromium + /usr/bin/chromedriver) against the
live Django server, with fake camera/microphone fed from real face photos.

What was checked on these machines (see also ../shared/BROWSER.md):
- getUserMedia: `--use-fake-ui-for-media-stream --use-fake-device-for-media-stream` grant
  camera and microphone with no prompt; `--use-file-for-fake-video-capture=<y4m>` loops our
  clip (a slow pan over a portrait photo), `--use-file-for-fake-audio-capture=<wav>` a speech
  file (without it the fake microphone beeps once a second).
- getDisplayMedia: `--use-fake-ui-for-media-stream` also auto-accepts the screen picker in
  headless mode, and `--auto-select-desktop-capture-source=Entire screen` picks the screen,
  so a test can assert displaySurface === "monitor" (see test_screen_capture_is_granted).
- Cookies: the dev LMS is opened at http://localhost:<port> and the tool at
  http://127.0.0.1:<port>, two different sites like Canvas and a tool. Both are
  "potentially trustworthy" loopback origins, so Chromium accepts the tool's
  `SameSite=None; Secure` cookies over plain http inside the LMS iframe.

Browser tests are marked `browser`; without Chromium they skip with the reason, and with
CI=true they fail instead.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings

from tests.conftest import ON_CI

CHROMIUM = Path(os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
REPO = Path(django_settings.BASE_DIR)
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = REPO / "test-artifacts"
SHARED_DATA = Path(os.environ.get("PROCTOR_SHARED_DATA", str(REPO.parent / "shared" / "data")))
PORTRAIT = SHARED_DATA / "eval" / "images" / "fr" / "examples__obama-480p.jpg"
SPEECH = SHARED_DATA / "eval" / "audio" / "english.wav"
WAIT_S = 20


def _missing(reason: str) -> None:
    if ON_CI:
        pytest.fail(f"{reason} (CI=true: browser tests must run)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium() -> None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.exists():
            _missing(f"{path} is not installed (make browser-deps)")
    if not AXE.exists():
        _missing(f"{AXE} is missing (npm ci)")


@pytest.fixture(scope="session")
def fake_media(tmp_path_factory: pytest.TempPathFactory, chromium: None) -> dict[str, Path]:
    """A Y4M clip (slow pan over a real portrait) and a speech WAV for the fake devices."""
    if not PORTRAIT.exists() or not SPEECH.exists():
        _missing(f"face photos / speech not found under {SHARED_DATA} (PROCTOR_SHARED_DATA)")
    from detection.synth import write_y4m

    folder = tmp_path_factory.mktemp("fake-media")
    clip = write_y4m(folder / "portrait.y4m", [PORTRAIT], seconds=4.0, fps=15)
    return {"video": clip, "audio": SPEECH}


class Browser:
    """A Selenium driver with the helpers every browser test uses."""

    def __init__(self, driver: Any, name: str) -> None:
        self.driver = driver
        self.name = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:80]
        self.step = 0
        # Only this test's own folder is replaced: other runs may share test-artifacts/.
        shutil.rmtree(ARTIFACTS / self.name, ignore_errors=True)
        (ARTIFACTS / self.name).mkdir(parents=True, exist_ok=True)

    # --- waiting and finding -------------------------------------------------------------
    def wait(self, condition: Callable[[Any], Any], timeout: float = WAIT_S,
             message: str | Callable[[], str] = "") -> Any:
        """Wait for `condition(driver)`; `message` may be a callable run only on timeout."""
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait

        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(condition)
        except TimeoutException:
            text = message() if callable(message) else message
            pytest.fail(text or f"timed out after {timeout}s at {self.driver.current_url}",
                        pytrace=False)

    def find(self, css: str, timeout: float = WAIT_S, visible: bool = True) -> Any:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        locator = (By.CSS_SELECTOR, css)
        check = ec.visibility_of_element_located if visible else ec.presence_of_element_located
        return self.wait(check(locator), timeout, f"no {css!r} within {timeout}s "
                         f"at {self.driver.current_url}")

    def click(self, css: str, timeout: float = WAIT_S) -> Any:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        element = self.wait(ec.element_to_be_clickable((By.CSS_SELECTOR, css)), timeout,
                            f"{css!r} not clickable at {self.driver.current_url}")
        element.click()
        return element

    def text(self) -> str:
        return self.driver.find_element("tag name", "body").text

    def into_tool_frame(self, timeout: float = WAIT_S) -> None:
        """Switch into the LMS iframe that holds the tool."""
        from selenium.webdriver.support import expected_conditions as ec

        self.driver.switch_to.default_content()
        self.wait(ec.frame_to_be_available_and_switch_to_it("tool-frame"), timeout)

    # --- evidence ------------------------------------------------------------------------
    def shot(self, label: str) -> Path:
        """Save a screenshot of the whole window under test-artifacts/<test>/."""
        self.step += 1
        slug = re.sub(r"[^a-z0-9]+", "-", label.lower())
        path = ARTIFACTS / self.name / f"{self.step:02d}-{slug}.png"
        self.driver.save_screenshot(str(path))
        return path

    def axe(self, label: str, *, exclude: list[str] | None = None) -> None:
        """Run axe-core on the current document (or frame); fail with a readable list."""
        if not self.driver.execute_script("return !!window.axe"):
            self.driver.execute_script(AXE.read_text(encoding="utf-8"))
        options = {"resultTypes": ["violations"], "iframes": False}
        context: Any = {"exclude": [[sel] for sel in exclude]} if exclude else "document"
        result = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(arguments[0] === 'document' ? document : arguments[0], arguments[1])"
            ".then(r => done(JSON.stringify(r.violations)))"
            ".catch(e => done(JSON.stringify([{id: 'axe-error', help: String(e), nodes: []}])));",
            context, options)
        violations = json.loads(result)
        (ARTIFACTS / self.name / f"axe-{re.sub(r'[^a-z0-9]+', '-', label.lower())}.json"
         ).write_text(json.dumps(violations, indent=2))
        if violations:
            lines = [f"axe-core found {len(violations)} violation(s) on {label} "
                     f"({self.driver.current_url}):"]
            for v in violations:
                lines.append(f"- [{v.get('impact')}] {v['id']}: {v['help']}")
                for node in v.get("nodes", [])[:5]:
                    lines.append(f"    {' '.join(map(str, node.get('target', [])))}: "
                                 f"{node.get('failureSummary', '').splitlines()[-1:]}")
            pytest.fail("\n".join(lines), pytrace=False)

    def high_visibility(self, on: bool) -> None:
        """Flip the 'Enable high visibility mode' switch until <html> has the class or not."""
        def state() -> bool:
            return bool(self.driver.execute_script(
                "return document.documentElement.classList.contains('high-visibility')"))

        if state() != on:
            self.click("#high-visibility")
            self.wait(lambda d: state() == on, 10, "high-visibility mode did not change")

    def offline(self, offline: bool) -> None:
        """DevTools network emulation (it does not stop MediaRecorder, only the network)."""
        self.driver.execute_cdp_cmd("Network.enable", {})
        self.driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
            "offline": offline, "latency": 0, "downloadThroughput": -1,
            "uploadThroughput": -1})


def _options(user_data_dir: Path, media: dict[str, Path] | None) -> Any:
    from selenium.webdriver.chrome.options import Options

    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-quic", "--disable-dev-shm-usage",
                 "--window-size=1280,1000", f"--user-data-dir={user_data_dir}",
                 "--autoplay-policy=no-user-gesture-required",
                 "--auto-select-desktop-capture-source=Entire screen"):
        options.add_argument(flag)
    if media is not None:
        options.add_argument("--use-fake-ui-for-media-stream")
        options.add_argument("--use-fake-device-for-media-stream")
        options.add_argument(f"--use-file-for-fake-video-capture={media['video']}")
        options.add_argument(f"--use-file-for-fake-audio-capture={media['audio']}")
    else:
        # No fake devices: this container has no camera or microphone, so getUserMedia
        # fails as on a machine without a webcam (auto-accept the prompt so it is not a hang).
        options.add_argument("--use-fake-ui-for-media-stream")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return options


@pytest.fixture
def make_browser(request: pytest.FixtureRequest, fake_media: dict[str, Path],
                 tmp_path: Path) -> Iterator[Callable[..., Browser]]:
    """Factory: make_browser() with fake devices, make_browser(devices=False) without."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    made: list[Browser] = []

    def make(devices: bool = True, label: str = "") -> Browser:
        profile = tmp_path / f"profile-{len(made)}"
        profile.mkdir()
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)),
                                  options=_options(profile, fake_media if devices else None))
        driver.set_page_load_timeout(30)
        driver.set_script_timeout(30)
        browser = Browser(driver, request.node.name + (f"-{label}" if label else ""))
        made.append(browser)
        return browser

    yield make
    for browser in made:
        try:
            if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
                browser.shot("failure")
                logs = browser.driver.get_log("browser")
                (ARTIFACTS / browser.name / "console.log").write_text(
                    "\n".join(f"{e['level']} {e['message']}" for e in logs))
        except Exception:  # noqa: BLE001, S110 - evidence is best effort; quitting is not
            pass
        browser.driver.quit()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]


class Site:
    """The live server seen as two sites: the dev LMS on localhost, the tool on 127.0.0.1."""

    def __init__(self, live_url: str) -> None:
        port = live_url.rsplit(":", 1)[1]
        self.tool_url = f"http://127.0.0.1:{port}"
        self.lms_url = f"http://localhost:{port}"

    def lms(self, path: str = "/dev-lms/") -> str:
        return self.lms_url + path

    def tool(self, path: str) -> str:
        return self.tool_url + path


@pytest.fixture
def site(live_server: Any, settings: Any) -> Site:
    """The seeded demo (dev LMS registered as a platform) on the live server."""
    from proctor_lti.devlms.services import demo_seed

    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    settings.DEBUG = False
    here = Site(live_server.url)
    demo_seed(base_url=here.tool_url, lms_url=here.lms_url, admin_password="demo-admin-pw")
    return here


def wait_until(predicate: Callable[[], Any], timeout: float, message: str,
               interval: float = 0.5) -> Any:
    """Poll a server-side condition (database rows) while the browser works."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(message, pytrace=False)
        time.sleep(interval)
