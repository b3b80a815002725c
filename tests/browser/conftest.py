"""Browser fixtures: Debian's Chromium, driven by Playwright, one browser per pytest worker.

A test asks for `page`: a fresh tab in a fresh browser context (no cookies, storage or cache of
another test), with deadlines made for a loaded machine. When the test fails, a screenshot and the
page's HTML are saved and the failure report says where. With no Chromium the tests fail, naming
what to install: they never skip, so that `make test` cannot pass without having run them.
"""

import os
import re
import shutil
from collections.abc import Generator, Iterator

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from pausable_sfn.local.deployer import Deployment
from pausable_sfn.local.embedded import EmbeddedAws

# Names another Chromium than the `chromium` on PATH (Debian's, which `make browser` installs).
CHROMIUM_VARIABLE = "PAUSABLE_SFN_CHROMIUM"

# Every action, navigation and `expect` waits this long before failing: the browser tests run
# beside two other workers on two cores, and a page that is slow under load is not a failure.
TIMEOUT_MS = 60_000
LAUNCH_TIMEOUT_MS = 120_000
expect.set_options(timeout=TIMEOUT_MS)

# Playwright adds most of these already; they are named here because this machine needs them
# whatever its defaults become: the network is closed, and Chromium's background connections
# (updates, sync, field trials, QUIC probes) are refused by it. Headless comes from `headless=True`
# (`--headless`), a fresh user-data dir from Playwright's launch, and `--no-sandbox` from
# `chromium_sandbox=False`, as root only: Chromium refuses to run sandboxed as root.
CHROMIUM_FLAGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

CONSOLE = pytest.StashKey[list[str]]()


def chromium_path() -> str:
    """The Chromium to drive: PAUSABLE_SFN_CHROMIUM, else `chromium` on PATH; fails the test without one."""
    path = os.environ.get(CHROMIUM_VARIABLE) or shutil.which("chromium")
    if not path:
        pytest.fail(
            f"no Chromium for the browser tests: run `make browser` (as root it installs Debian's chromium), "
            f"`sudo apt-get install chromium`, or set {CHROMIUM_VARIABLE}=/path/to/chromium",
            pytrace=False,
        )
    if not os.access(path, os.X_OK):
        pytest.fail(f"{CHROMIUM_VARIABLE}={path} is not an executable file", pytrace=False)
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Chromium, launched once per pytest worker (each xdist worker has its own) and closed at the end."""
    executable = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            chromium_sandbox=os.geteuid() != 0,
            args=CHROMIUM_FLAGS,
            timeout=LAUNCH_TIMEOUT_MS,
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A tab in a browser context of its own, closed after the test; its console is kept for a failure report."""
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    tab = context.new_page()
    console = request.node.stash[CONSOLE] = []

    def keep(message: ConsoleMessage) -> None:
        console.append(f"{message.type}: {message.text}")

    tab.on("console", keep)
    tab.on("pageerror", lambda error: console.append(f"uncaught: {error}"))
    yield tab
    context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test that used `page`: its screenshot and HTML are saved while the page is still
    open (the fixture closes it later), and the report gets a section that says where."""
    report = yield
    tab = getattr(item, "funcargs", {}).get("page")
    if report.when == "call" and report.failed and isinstance(tab, Page):
        report.sections.append(("browser at the failure", save_failure(tab, item)))
    return report


def save_failure(tab: Page, item: pytest.Item) -> str:
    """Saves `tab`'s screenshot and HTML under .pytest_cache/d/browser-failures/ (named after the
    test, so a rerun replaces them); returns the lines of the report's section."""
    cache = getattr(item.config, "cache", None)  # None under -p no:cacheprovider
    folder = cache.mkdir("browser-failures") if cache else item.config.rootpath / ".pytest_cache" / "browser-failures"
    folder.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", item.nodeid)
    screenshot, html = folder / f"{name}.png", folder / f"{name}.html"
    lines = [f"url: {tab.url}"]
    try:
        tab.screenshot(path=screenshot, full_page=True, timeout=TIMEOUT_MS)
        lines.append(f"screenshot: {screenshot}")
    except PlaywrightError as error:
        lines.append(f"screenshot: not taken ({error.message})")
    try:
        html.write_text(tab.content())
        lines.append(f"html: {html}")
    except PlaywrightError as error:
        lines.append(f"html: not saved ({error.message})")
    console = item.stash.get(CONSOLE, [])
    lines += ["console:", *(f"  {line}" for line in console)] if console else ["console: (nothing)"]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def deployed(synthesized_once) -> Iterator[tuple[EmbeddedAws, Deployment]]:
    """The app on an embedded AWS of this module's own."""
    with EmbeddedAws() as aws:
        yield aws, aws.deploy(synthesized_once("app"))
