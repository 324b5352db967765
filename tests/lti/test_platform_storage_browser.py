"""LTI Platform Storage in real headless Chromium with every cookie blocked: the state goes
to the platform's frame with lti.put_data at login and comes back with lti.get_data at launch.
The course page is the independent platform's (tests/platform/server.py /lms-frame)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from tests.browser.conftest import CHROMEDRIVER, CHROMIUM, Browser, _options

pytestmark = [pytest.mark.browser, pytest.mark.platform]


@pytest.fixture
def cookieless_browser(request, tmp_path: Path):  # type: ignore[no-untyped-def]
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from tests.conftest import ON_CI

    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.exists():
            if ON_CI:
                pytest.fail(f"{path} is not installed (CI=true)")
            pytest.skip(f"{path} is not installed (make browser-deps)")
    options = _options(tmp_path / "profile", None)
    # Block every cookie, as the strictest iframe policies do: only Platform Storage is left.
    options.add_experimental_option("prefs", {"profile.default_content_setting_values.cookies": 2})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield Browser(driver, request.node.name)
    finally:
        driver.quit()


def test_a_cookieless_iframe_launch_completes_through_platform_storage(
        lti_platform, live_server, settings, cookieless_browser, handed_launches):
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    lti_platform.configure(tool_base_url=live_server.url)
    login_url = lti_platform.prepare_launch(user_id="storage-user", context_id="c1",
                                            login_extra={"lti_storage_target": "_parent"})
    browser = cookieless_browser
    browser.driver.get(f"{lti_platform.base_url}/lms-frame?src={quote(login_url, safe='')}")
    browser.into_tool_frame()
    def body_text(driver) -> str:  # type: ignore[no-untyped-def]
        try:  # the frame navigates several times: elements go stale between pages
            return driver.execute_script("return document.body ? document.body.innerText : ''")
        except Exception:  # noqa: BLE001
            return ""

    browser.wait(lambda d: "handed over" in body_text(d), 20,
                 lambda: f"launch did not complete: {body_text(browser.driver)[:500]}")
    browser.driver.switch_to.default_content()
    log = browser.driver.execute_script("return window.storageLog")
    assert log.count("lti.put_data") == 2 and "lti.get_data" in log
    assert [launch.identity.sub for launch in handed_launches] == ["storage-user"]


def test_without_cookies_or_storage_the_learner_gets_an_accessible_new_window_page(
        lti_platform, live_server, settings, cookieless_browser, handed_launches):
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    lti_platform.configure(tool_base_url=live_server.url)
    login_url = lti_platform.prepare_launch(user_id="no-cookie-user", context_id="c1")
    browser = cookieless_browser
    browser.driver.get(f"{lti_platform.base_url}/lms-frame?src={quote(login_url, safe='')}")
    browser.into_tool_frame()
    link = browser.find("a[target=_blank]")
    assert "/lti/login/?" in link.get_attribute("href")
    assert "third-party cookies" in browser.text()
    browser.axe("cookies blocked page")
    assert handed_launches == []
