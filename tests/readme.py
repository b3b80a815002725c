"""The README's code, as the tests run it: what a user copies from it must work."""

import re
from pathlib import Path

from pausable_sfn import PROJECT_ROOT

EXAMPLE_HEADING = "## Use it in your own state machine"
JSONATA_EXAMPLE_HEADING = "## In a JSONata state machine"


def example_app(heading: str = EXAMPLE_HEADING) -> str:
    """The one `python` block of a section of the README ("Use it in your own state machine" by
    default): a whole app.py."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split(heading, 1)[1].split("\n## ", 1)[0]
    [block] = re.findall(r"```python\n(.*?)```", section, re.S)
    return str(block)


WORKFLOW_TESTING_PAGE = "docs/testing-your-workflows.md"


def docs_blocks(page: str, language: str) -> list[str]:
    """The fenced blocks of a docs page in `language`, in order: what a reader copies from it."""
    text = (PROJECT_ROOT / page).read_text()
    return [str(block) for block in re.findall(rf"```{language}\n(.*?)```", text, re.S)]


def docs_example_project(folder: Path) -> str:
    """A user's project as docs/testing-your-workflows.md makes it: the README's app.py, the page's
    pyproject.toml, tests/test_workflow.py and tests/MockConfigFile.json. Returns the tests."""
    [configuration] = docs_blocks(WORKFLOW_TESTING_PAGE, "toml")
    [tests] = docs_blocks(WORKFLOW_TESTING_PAGE, "python")
    [mock_file] = docs_blocks(WORKFLOW_TESTING_PAGE, "json")
    (folder / "app.py").write_text(example_app())
    (folder / "pyproject.toml").write_text(configuration)
    (folder / "tests").mkdir(exist_ok=True)
    (folder / "tests" / "test_workflow.py").write_text(tests)
    (folder / "tests" / "MockConfigFile.json").write_text(mock_file)
    return tests
