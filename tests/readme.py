"""The README's code, as the tests run it: what a user copies from it must work."""

import re

from pausable_sfn import PROJECT_ROOT

EXAMPLE_HEADING = "## Use it in your own state machine"


def example_app() -> str:
    """The one `python` block of the section "Use it in your own state machine": a whole app.py."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split(EXAMPLE_HEADING, 1)[1].split("\n## ", 1)[0]
    [block] = re.findall(r"```python\n(.*?)```", section, re.S)
    return block
