"""What a person does in the local console, and what the tests read back from it, written once."""

from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Locator, Page, expect


def start_from_the_form(page: Page, console: str, name: str) -> None:
    """Starts a manual execution named `name` from the console's Start form, as a person would,
    and waits for its page."""
    page.goto(console)
    page.get_by_role("link", name="Start execution").click()
    page.get_by_role("link", name="Manual callback").click()
    page.get_by_label("Name (optional)").fill(name)
    page.get_by_role("button", name="Start execution").click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()


def execution_arn(page: Page) -> str:
    """The ARN of the execution whose page is open."""
    return parse_qs(urlsplit(page.url).query)["arn"][0]


def node_shape(page: Page, state: str) -> Locator:
    """The shape of `state`'s node in the execution's graph (re-found after each of the page's refreshes)."""
    return page.locator("svg g.node", has_text=state).locator("path").first
