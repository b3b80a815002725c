"""The tools name task tokens exactly as the handlers' logs do: one definition, in the asset."""

import importlib.util
from types import ModuleType

from . import LAMBDAS_DIR


def _load() -> ModuleType:
    # Loaded from its file: the handlers' folder is a Lambda asset, not a package of this project.
    spec = importlib.util.spec_from_file_location(
        "pausable_sfn._handler_tokens", LAMBDAS_DIR / "handlers" / "tokens.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_tokens = _load()
fingerprint = _tokens.fingerprint
MAX_TASK_TOKEN_LENGTH: int = _tokens.MAX_TASK_TOKEN_LENGTH
