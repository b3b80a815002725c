"""What the embedded AWS does so that it starts in about a second where moto, imported whole, took
four: work moto does at import or at its first request that no deployed app of ours needs, put
off until something does need it, or done once instead of once per copy. What a client can see
of it is listed in docs/embedded-aws.md (a stack's CreationTime, a deployed queue's URL, managed
policies of other partitions); docs/benchmarks.md has the figures (`make bench`).

- `defer_moto_batch`: moto's Step Functions interpreter imports moto.batch for one enum, and
  moto.batch imports moto.ec2, whose module bodies build three boto3 sessions and read every
  instance type (0.9 s of the 2 s import). The package is put in place without running its
  `__init__`; the first use of Batch itself (its backend, its models) runs it.
- `load_managed_policies_of(partition)`: moto's IAM makes a backend for each of the six AWS
  partitions of an account on its first request, and each parses and builds all ~1,400 AWS managed
  policies (0.16 s each). Only the embedded AWS's partition gets them (parsed once per process),
  which is where the templates it deploys attach them.
- `read_service_models_once`: botocore reads each service's JSON model into OrderedDicts (twice
  as slow as plain dicts, which keep their order as well), and moto makes a new loader, which
  lists every service on disk again, for each service it parses requests for. One loader serves
  moto, and botocore's files are read into plain dicts: 0.3 s of a deploy's requests. moto also
  lists each service's regions from a boto3 session of its own, which parses every service model
  a third time: it shares the embedded AWS's session (whose clients have parsed them already).
- `answer_in_process`: in server mode, the embedded AWS's own calls (its deploy's sixty, the log
  lines of each invocation) went out through its own HTTP endpoint and came back in: moto answers
  them in this process instead, as it answers every call in in-process mode.
- `generate_kms_key_pairs_when_used`: moto makes an RSA key pair for every KMS key it creates,
  even a symmetric one (20 to 300 ms each, random: the AWS managed keys that an encrypted topic or
  table asks for are two of them). It is made when first used (Sign, Verify, GetPublicKey).
- `DeferredStacks`: the stack that carries a deployment's outputs is a CloudFormation stack, and
  moto's CloudFormation imports the models of some thirty services when it is first used (1.5 s,
  EC2, RDS and SageMaker among them). The stack is created on the first request to CloudFormation
  (DescribeStacks from a tool, say) instead of at the deploy: apps that never ask, as most tests
  do not, never pay for it, and the first one that asks pays once (a row of `make bench`).
"""

import functools
import importlib.util
import json
import os
import sys
import threading
import warnings
from contextlib import ExitStack
from types import ModuleType
from typing import Any, cast
from unittest import mock

DEFERRED_PACKAGE = "moto.batch"


def defer_moto_batch() -> None:
    """Call before moto's Step Functions interpreter is imported (stepfunctions/__init__.py does)."""
    if DEFERRED_PACKAGE in sys.modules:
        return
    try:
        spec = importlib.util.find_spec(DEFERRED_PACKAGE)
    except ImportError:  # an install without moto: nothing to defer
        return
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return  # not the moto we know: import it as it comes
    package = importlib.util.module_from_spec(spec)
    loader = spec.loader
    running = threading.RLock()  # two threads may ask at once (concurrent first Batch calls)

    def run_package(name: str) -> Any:
        # A module-level __getattr__ (PEP 562) is asked only for names the module lacks: the
        # package's own, which its __init__ defines. Submodules (utils, models) import without it.
        with running:
            if package.__dict__.pop("__getattr__", None) is not None:
                loader.exec_module(package)
        return getattr(package, name)

    package.__dict__["__getattr__"] = run_package
    sys.modules[DEFERRED_PACKAGE] = package
    parent, _, child = DEFERRED_PACKAGE.rpartition(".")
    setattr(importlib.import_module(parent), child, package)


@functools.cache
def _managed_policies_data() -> dict[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return dict(json.loads(aws_managed_policies_data))


def load_managed_policies_of(patches: ExitStack, partition: str) -> None:
    """AWS managed policies for the backends of `partition` only (moto's IAM backends are named
    after their partition)."""
    from moto.iam.models import AWSManagedPolicy, IAMBackend
    from moto.settings import load_iam_aws_managed_policies

    def init_aws_policies(backend: IAMBackend) -> list[Any]:
        if not load_iam_aws_managed_policies() or backend.region_name != partition:
            return []
        return [
            AWSManagedPolicy.from_data(name, backend.account_id, backend.region_name, data)
            for name, data in _managed_policies_data().items()
        ]

    patches.enter_context(mock.patch.object(IAMBackend, "_init_aws_policies", init_aws_policies))


def read_service_models_once(patches: ExitStack, session: Any) -> None:
    """`session`: the boto3 Session of the embedded AWS's own clients."""
    import moto.core.utils
    from botocore.loaders import JSONFileLoader
    from moto.core.base_backend import AccountSpecificBackend

    def load_json(loader: JSONFileLoader, full_path: str, open_method: Any) -> Any:
        if not os.path.isfile(full_path):
            return None
        with open_method(full_path, "rb") as file:
            return json.loads(file.read().decode("utf-8"))

    # moto's modules import these names from their homes; the patches replace them where used.
    shared = functools.cache(moto.core.utils.create_loader)  # type: ignore[attr-defined]
    patches.enter_context(mock.patch.object(JSONFileLoader, "_load_file", load_json))
    patches.enter_context(mock.patch.object(moto.core.utils, "create_loader", shared))
    patches.enter_context(mock.patch.object(AccountSpecificBackend, "get_session", return_value=session))


def answer_in_process(client: Any) -> None:
    """Has moto answer `client`'s calls in this process, whether or not moto's mock is on; a call
    moto does not know is refused, never sent to AWS."""
    from moto.core.botocore_stubber import BotocoreStubber

    stubber = BotocoreStubber()
    stubber.enabled = True

    def answer(request: Any, **kwargs: Any) -> Any:
        response = stubber(request=request, **kwargs)
        if response is None:
            raise RuntimeError(f"the embedded AWS does not answer {request.method} {request.url}")
        return response

    client.meta.events.register("before-send", answer)


def generate_kms_key_pairs_when_used(patches: ExitStack) -> None:
    import moto.kms.models

    generate = moto.kms.models.generate_private_key  # type: ignore[attr-defined]
    patches.enter_context(
        mock.patch.object(
            moto.kms.models, "generate_private_key", lambda key_spec: _MadeOnFirstUse(lambda: generate(key_spec))
        )
    )


class _MadeOnFirstUse:
    def __init__(self, make: Any) -> None:
        self._make = make
        self._made: Any = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        with self._lock:
            if self._made is None:
                self._made = self._make()
        return getattr(self._made, name)


def deferred(module: ModuleType) -> bool:
    """Whether `module` is still waiting for its first use (for tests)."""
    return "__getattr__" in module.__dict__


class DeferredStacks:
    """CloudFormation stacks of one account and region, created when moto's CloudFormation is
    first asked for (moto.backends.get_backend, which its server and its in-process mock both call
    before they answer a CloudFormation request); at once once it has been."""

    def __init__(self, *, account_id: str, region: str) -> None:
        self._account_id = account_id
        self._region = region
        self._pending: list[tuple[str, str]] = []
        self._names: set[str] = set()
        self._lock = threading.Lock()
        self._ready = "moto.cloudformation.models" in sys.modules

    def enter(self, patches: ExitStack) -> None:
        import moto.backends

        get_backend = moto.backends.get_backend

        def get_backend_with_stacks(name: str) -> Any:
            if name == "cloudformation":
                self.create_pending()
            return get_backend(cast(Any, name))

        patches.enter_context(mock.patch.object(moto.backends, "get_backend", get_backend_with_stacks))

    def __contains__(self, stack_name: str) -> bool:
        return stack_name in self._names

    def publish(self, stack_name: str, template: dict[str, Any]) -> None:
        with self._lock:
            self._names.add(stack_name)
            self._pending.append((stack_name, json.dumps(template)))
            if self._ready:
                self._create()

    def create_pending(self) -> None:
        with self._lock:
            self._ready = True
            self._create()

    def _create(self) -> None:
        from moto.cloudformation.models import cloudformation_backends

        backend = cloudformation_backends[self._account_id][self._region]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # moto warns that it only records the resource types we use
            while self._pending:
                # Taken before it is made: a stack that fails fails one request, not every later one.
                stack_name, template = self._pending.pop(0)
                backend.create_stack(name=stack_name, template=template, parameters={})
