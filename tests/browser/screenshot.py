"""`make screenshot`: the picture of the console's execution page that the README shows.

It deploys the app on an embedded AWS, starts a manual execution, lets it pause, and photographs
its page in the console with the browser the tests use. Run it again after changing the console.
"""

import json
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

from pausable_sfn import PROJECT_ROOT
from pausable_sfn.app.cdk_app import synthesize
from pausable_sfn.app.conventions import DEMO
from pausable_sfn.app.names import STATE_MACHINE_ARN_OUTPUT
from pausable_sfn.console.app import ConsoleApp
from pausable_sfn.local.embedded import EmbeddedAws
from pausable_sfn.testing.polling import wait_for

from .conftest import CHROMIUM_FLAGS, chromium_path

PICTURE = PROJECT_ROOT / "docs" / "images" / "console-execution.png"


def main(folder: Path) -> int:
    assembly = synthesize(folder)
    with EmbeddedAws() as aws:
        deployment = aws.deploy(assembly)
        aws.endpoint.mount("/console", ConsoleApp(aws.client, conventions=DEMO))
        sfn = aws.client("stepfunctions")
        arn = sfn.start_execution(
            stateMachineArn=deployment.outputs[STATE_MACHINE_ARN_OUTPUT],
            name="order-42",
            input=json.dumps({"IsManualCallback": "True", "ticket": "T-42"}),
        )["executionArn"]
        wait_for(sfn, arn, lambda s: s.paused, timeout=60)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(f"{aws.endpoint_url}/console/")
            page.get_by_role("link", name="order-42").click()
            page.locator("svg").wait_for()
            PICTURE.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(PICTURE), clip={"x": 0, "y": 0, "width": 1100, "height": 1300}, full_page=True)
            browser.close()
    print(f"wrote {PICTURE.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory(prefix="pausable-sfn-") as scratch:
        sys.exit(main(Path(scratch)))
