"""Playwright fixtures for real-browser tests, driving Debian's Chromium (never a Playwright-downloaded browser).

Import the fixtures into a test module (`from minzheng.browser_fixtures import browser, page`) and request
`live_server` data through them. The browser is started once per module; each test gets a fresh context (its own
cookies), so one test's session cannot leak into another.
"""

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Git-ignored; screenshots land here for a human to look at.
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

requires_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


# Reports every Content-Security-Policy violation to the console, where the fixture collects it.
_REPORT_CSP = """
document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " in " + e.sourceFile);
});
"""


@pytest.fixture
def page(browser, live_server):
    """A page in a fresh context. Every browser test also checks the Content-Security-Policy: a script, style or
    image the policy blocked (the page would be broken for users) fails the test."""
    context = browser.new_context(
        base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1366, "height": 900}
    )
    context.set_default_timeout(15_000)
    context.add_init_script(_REPORT_CSP)
    page = context.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text)
            if "CSP violation" in message.text or "Content Security Policy" in message.text
            else None
        ),
    )
    page.csp_violations = violations  # a test of the policy itself reads (and clears) what it provoked
    try:
        yield page
    finally:
        context.close()
    assert not violations, f"Content-Security-Policy violations: {violations}"


def log_in(page, username: str, password: str) -> None:
    """Fill and submit the real login form on the current page (which must be the login page)."""
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
