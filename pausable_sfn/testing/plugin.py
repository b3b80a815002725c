"""The pytest plugin (entry point `pytest11`, loaded by pytest once pausable-sfn is installed):
tests of a user's own CDK app against the embedded AWS, or against the stack deployed on AWS.

Configured in pytest.ini or pyproject.toml's [tool.pytest.ini_options]:

    pausable_sfn_app = python app.py        # or a synthesized cdk.out; default: cdk.json's "app"
    pausable_sfn_stack = OrderStack          # default: the app's only stack
    pausable_sfn_mock_config = tests/MockConfigFile.json   # optional: Step Functions Local's mock file

`pytest --pausable-sfn-stack=OrderStack` runs the same tests against that stack deployed on AWS,
with the ordinary credentials; what only the embedded AWS can do (its clock, mocked tasks,
tests marked `embedded_only`) is skipped there with the reason, never passed.

Nothing here runs unless a test asks for `embedded_aws`: the app is synthesized and deployed on
first use, once per session (per pytest-xdist worker).
"""

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .app_under_test import AppError, StackResources, names_an_assembly, synthesize_once
from .aws_under_test import AwsUnderTest
from .synth_cache import AssemblyCache, inputs_key
from .targets import ONLY_EMBEDDED, AwsTarget, EmbeddedTarget

APP = "pausable_sfn_app"
STACK = "pausable_sfn_stack"
MOCK_CONFIG = "pausable_sfn_mock_config"
# Step Functions Local's own variable for its mock file.
MOCK_CONFIG_VARIABLE = "SFN_MOCK_CONFIG"
AWS_STACK_OPTION = "--pausable-sfn-stack"
SYNTH_OPTION = "--pausable-sfn-synth"
MARKER = "embedded_only"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(APP, 'the CDK app to test: a command such as "python app.py", or a synthesized cdk.out folder')
    parser.addini(STACK, "the app's stack to deploy on the embedded AWS (default: its only stack)")
    parser.addini(MOCK_CONFIG, "Step Functions Local's mock file (MockConfigFile.json) for start(test_case=...)")
    group = parser.getgroup("pausable-sfn", "pausable-sfn: test your workflows")
    group.addoption(
        AWS_STACK_OPTION,
        metavar="NAME",
        help="test the stack NAME deployed on AWS (ordinary credentials) instead of the embedded AWS",
    )
    group.addoption(
        SYNTH_OPTION,
        action="store_true",
        help="synthesize the app even if its inputs are unchanged since a session synthesized it",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}(reason): needs the embedded AWS; skipped against AWS")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption(AWS_STACK_OPTION) is None:
        return
    for item in items:
        marker = item.get_closest_marker(MARKER)
        if marker is not None:
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "marked embedded_only")
            item.add_marker(pytest.mark.skip(reason=ONLY_EMBEDDED.format(what=reason)))


class Session:
    """The session's stack: synthesized once (by the first pytest-xdist worker to need it),
    deployed once per worker, stopped when the session ends."""

    def __init__(self, config: pytest.Config, workspace: Path, shared: Path) -> None:
        self.config = config
        self.workspace = workspace
        self.shared = shared  # the run's folder, which every worker of it sees
        self.root = config.inipath.parent if config.inipath is not None else config.rootpath
        self._stop: Callable[[], None] | None = None
        self._target: EmbeddedTarget | AwsTarget | None = None
        self._patched = pytest.MonkeyPatch()
        self.resources: StackResources | None = None
        # What a process of the code under test needs to reach the embedded AWS.
        self.environment: dict[str, str] = {}

    @property
    def target(self) -> EmbeddedTarget | AwsTarget:
        if self._target is None:
            self._target = self._start()
        return self._target

    def started(self) -> EmbeddedTarget | AwsTarget:
        """The target, or the session's tests fail with what is wrong, without a traceback: a
        mistake in the settings or in the app is the user's to fix, not a bug to debug."""
        problem = None
        users_mistakes: tuple[type[Exception], ...] = (AppError, *_user_errors())
        try:
            return self.target
        except users_mistakes as error:
            problem = f"pausable-sfn: {error}"
        pytest.fail(problem, pytrace=False)

    def _start(self) -> EmbeddedTarget | AwsTarget:
        aws_stack = self.config.getoption(AWS_STACK_OPTION)
        app = self._setting(APP) or self._app_of_cdk_json()
        stack = self._setting(STACK) or None
        if aws_stack is not None:
            if app:  # construct ids name the resources of the deployed stack too
                self.resources = StackResources.read(self._assembly(app), stack or aws_stack)
            return AwsTarget(aws_stack)
        if not app:
            raise AppError(
                f'no CDK app to test: set {APP} = "python app.py" under [tool.pytest.ini_options] in pyproject.toml '
                f"(or {APP} = python app.py under [pytest] in pytest.ini), or run pytest where a cdk.json names the app"
            )
        assembly = self._assembly(app)
        self.resources = StackResources.read(assembly, stack)
        # Step Functions Local's variable names the mock file too, when the settings do not.
        mock_setting = self._setting(MOCK_CONFIG) or os.environ.get(MOCK_CONFIG_VARIABLE, "")
        mock_file = self.root / mock_setting if mock_setting else None
        if mock_file is not None and not mock_file.is_file():
            raise AppError(f"{MOCK_CONFIG} names {mock_file}, which is not a file")
        self._hide_the_users_aws_settings()
        target, self._stop = EmbeddedTarget.deploy(assembly, self.resources, mock_config=mock_file)
        credentials = {key: "testing" for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}
        region = {"AWS_REGION": target.region, "AWS_DEFAULT_REGION": target.region}
        for key, value in region.items():
            self._patched.setenv(key, value)
        self.environment = {**credentials, **region, "AWS_ENDPOINT_URL": target.endpoint_url}
        return target

    def _hide_the_users_aws_settings(self) -> None:
        """The embedded AWS answers every boto3 call of this process: an endpoint or a profile left
        in the user's shell (LocalStack's :4566, a service's own AWS_ENDPOINT_URL_SQS) must not send
        the deployment, or the code under test, elsewhere; nor may a second mock file be read."""
        for key in list(os.environ):
            if key.startswith("AWS_ENDPOINT_URL") or key in ("AWS_PROFILE", MOCK_CONFIG_VARIABLE):
                self._patched.delenv(key)

    def _assembly(self, app: str) -> Path:
        """The app's assembly: the folder named, or the one synthesized for this run, or, while
        the app's inputs are unchanged, the one a session synthesized before (pytest's cache)."""
        cache = self._cache()
        if names_an_assembly(app, self.root) or cache is None:
            return synthesize_once(app, cwd=self.root, shared=self.shared)
        key = inputs_key(app, self.root)  # before the synth, which may write the app's context file
        cached = None if self.config.getoption(SYNTH_OPTION) else cache.get(key)
        if cached is not None:
            return cached
        return cache.put(key, synthesize_once(app, cwd=self.root, shared=self.shared))

    def _cache(self) -> AssemblyCache | None:
        """Where assemblies are kept between sessions; None with pytest's cache off (-p no:cacheprovider)."""
        cache = getattr(self.config, "cache", None)
        return AssemblyCache(cache.mkdir("pausable-sfn-assemblies")) if cache is not None else None

    def _setting(self, name: str) -> str:
        value = self.config.getini(name)
        return str(value).strip() if value else ""

    def _app_of_cdk_json(self) -> str:
        cdk_json = self.root / "cdk.json"
        if not cdk_json.is_file():
            return ""
        try:
            return str(json.loads(cdk_json.read_text()).get("app", ""))
        except (OSError, ValueError, AttributeError) as error:
            raise AppError(f"cannot read the app from {cdk_json}: {error}") from None

    def stop(self) -> None:
        if self._stop is not None:
            self._stop()
            self._stop = None
        self._patched.undo()


def _user_errors() -> tuple[type[Exception], ...]:
    """What the embedded AWS raises for a mistake in the user's app or files (a resource type it
    cannot deploy, an assembly it cannot read, a mock file it cannot use), where it is installed."""
    try:
        from ..local.assembly import AssemblyError
        from ..local.deployer import DeployError
        from ..local.stepfunctions.mocking import MockConfigError
    except ImportError:  # a session against AWS, without the [local] extra
        return ()
    return (AssemblyError, DeployError, MockConfigError)


@pytest.fixture(scope="session")
def pausable_sfn_session(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    """The session's stack, deployed on first use (see `embedded_aws`)."""
    base = tmp_path_factory.getbasetemp()
    # A pytest-xdist worker (which xdist gives its `workerinput`) has a folder of its own below the run's.
    shared = base.parent if hasattr(pytestconfig, "workerinput") else base
    session = Session(pytestconfig, tmp_path_factory.mktemp("pausable-sfn"), shared)
    try:
        yield session
    finally:
        session.stop()


@pytest.fixture(scope="session")
def _pausable_sfn_environment(pausable_sfn_session: Session) -> dict[str, str]:
    """Starts the session's stack (or fails its tests, saying why); what a process of the code
    under test needs to reach it."""
    pausable_sfn_session.started()
    return pausable_sfn_session.environment


@pytest.fixture
def embedded_aws(
    pausable_sfn_session: Session, _pausable_sfn_environment: dict[str, str], request: pytest.FixtureRequest
) -> Iterator[AwsUnderTest]:
    """The app's stack, deployed once per session on the embedded AWS (or, with
    --pausable-sfn-stack, the stack deployed on AWS), as this test sees it: `state_machine(...)`,
    `clock`, `client(...)`, `outputs`, `logs(...)`, `endpoint_url`. The executions the test leaves
    running are stopped when it ends."""
    aws = AwsUnderTest(
        pausable_sfn_session.target, pausable_sfn_session.resources, request.node.name, _pausable_sfn_environment
    )
    try:
        yield aws
    finally:
        aws.end()
