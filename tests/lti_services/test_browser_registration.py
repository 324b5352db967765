"""Dynamic Registration in real headless Chromium: the LMS frames /lti/register/, the admin
registers, the tool's page tells the LMS to close the dialog; axe-core checks both pages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from proctor_lti.lti.models import Platform
from tests.browser.conftest import CHROMEDRIVER, Browser, _options, chromium  # noqa: F401

from .test_registration import NRPS, TOKEN, platform_config, serve_platform

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LMS_PAGE = """<!doctype html><html lang="en"><head><title>LMS admin</title></head><body>
<main><h1>Add a tool</h1><p id="status">waiting</p>
<iframe id="tool-frame" name="tool-frame" title="Tool registration" src="{src}"
 width="900" height="700"></iframe></main>
<script>
addEventListener("message", (e) => {{
  if (e.data && e.data.subject === "org.imsglobal.lti.close") {{
    document.getElementById("status").textContent = "closed by " + e.origin;
  }}
}});
</script></body></html>"""


@pytest.fixture
def browser(
    request: pytest.FixtureRequest,
    chromium: None,  # noqa: F811
    tmp_path: Path,
) -> Iterator[Browser]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tmp_path / "profile"
    profile.mkdir()
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=_options(profile, None))
    driver.set_page_load_timeout(30)
    try:
        yield Browser(driver, request.node.name)
    finally:
        driver.quit()


def test_an_admin_registers_the_tool_from_the_lms_dialog(
    browser: Browser, live_server: Any, loopback: Any, settings: Any, django_user_model: Any
) -> None:
    # Two sites, as in production: the tool on 127.0.0.1, the LMS on localhost.
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    tool = live_server.url.replace("localhost", "127.0.0.1")
    lms = loopback.base_url.replace("127.0.0.1", "localhost")
    settings.SITE_URL = tool
    django_user_model.objects.create_user("registrar", password="a-long-admin-pw", is_staff=True)
    config_url = serve_platform(
        loopback,
        platform_config(loopback.base_url, family="canvas", scopes=[NRPS]),
        {"client_id": "9000001"},
        config_path="/api/lti/security/openid-configuration",
    )
    register = f"{tool}/lti/register/?" + urlencode(
        {"openid_configuration": config_url, "registration_token": TOKEN}
    )
    loopback.route(
        "GET",
        "/lms",
        (
            200,
            {"Content-Type": "text/html; charset=utf-8"},
            LMS_PAGE.format(src=register.replace("&", "&amp;")),
        ),
    )

    b = browser
    b.driver.get(f"{lms}/lms")
    b.into_tool_frame()
    # The tool's session cookie is partitioned (CHIPS) per LMS site: the admin logs in inside
    # the dialog, and Django's admin login sends them on to the registration page.
    b.find("#id_username").send_keys("registrar")
    b.find("#id_password").send_keys("a-long-admin-pw")
    b.click("[type=submit]")
    b.find("form button[type=submit]")
    assert loopback.base_url in b.text()
    b.shot("registration confirm")
    b.axe("dynamic registration confirm page")
    b.click("form button[type=submit]")
    b.find("#close-registration")
    b.shot("registration done")
    b.axe("dynamic registration done page")

    b.driver.switch_to.default_content()
    b.wait(
        lambda d: d.find_element("id", "status").text.startswith("closed by"),
        10,
        "the LMS never received org.imsglobal.lti.close",
    )
    assert b.driver.find_element("id", "status").text == f"closed by {tool}"
    platform = Platform.objects.get(client_id="9000001")
    assert platform.issuer == loopback.base_url
    assert platform.frame_origins == sorted([loopback.base_url, lms])
