"""The test browser itself: it loads a page served on loopback, types, clicks and sees the answer,
and a failing browser test leaves a screenshot and the page's HTML behind."""

import html
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from playwright.sync_api import Page, expect

FORM = b"""<!doctype html>
<title>Form</title>
<form method="post" action="/">
  <label>Note <input id="note" name="note"></label>
  <button type="submit">Send</button>
</form>
"""


class FormServer(ThreadingHTTPServer):
    """Serves FORM on GET /; on POST / keeps the fields it received and answers with the note."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), FormHandler)
        self.received: list[dict[str, list[str]]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"


class FormHandler(BaseHTTPRequestHandler):
    server: FormServer

    def do_GET(self) -> None:
        self.answer(FORM)

    def do_POST(self) -> None:
        fields = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        self.server.received.append(fields)
        note = html.escape(fields.get("note", [""])[0])
        self.answer(f'<!doctype html><title>Received</title><p id="answer">Received: {note}</p>'.encode())

    def answer(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet: pytest shows the test's own output
        pass


@pytest.fixture
def form_server() -> Iterator[FormServer]:
    server = FormServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_the_test_browser_submits_a_form_served_on_loopback(page: Page, form_server: FormServer) -> None:
    page.goto(form_server.url)
    page.fill("#note", "resume <job> 42")
    page.click("button[type=submit]")

    expect(page.locator("#answer")).to_have_text("Received: resume <job> 42")
    assert form_server.received == [{"note": ["resume <job> 42"]}]


FAILING_TEST = """
from playwright.sync_api import expect

def test_fails(page):
    page.set_content('<p id="shown">what the page shows</p><script>console.log("from the page")</script>')
    expect(page.locator("#shown")).to_have_text("what the test expected", timeout=100)
"""


def test_a_failing_browser_test_leaves_a_screenshot_and_the_html_and_says_where(tmp_path: Path) -> None:
    # The fixtures as they are, in a pytest run of their own on one failing test.
    (tmp_path / "conftest.py").write_bytes(Path(__file__).with_name("conftest.py").read_bytes())
    (tmp_path / "test_failing.py").write_text(FAILING_TEST)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", tmp_path],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    folder = tmp_path / ".pytest_cache" / "d" / "browser-failures"
    screenshot, saved_html = folder / "test_failing.py_test_fails.png", folder / "test_failing.py_test_fails.html"
    assert f"screenshot: {screenshot}" in run.stdout, run.stdout
    assert f"html: {saved_html}" in run.stdout, run.stdout
    assert "log: from the page" in run.stdout, run.stdout
    assert screenshot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert "what the page shows" in saved_html.read_text()
