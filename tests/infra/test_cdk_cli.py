"""The pinned CDK CLI synthesizes the app through cdk.json, as `npx cdk deploy` will."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

from pausable_sfn import PROJECT_ROOT
from pausable_sfn.app.names import STACK_NAME


def test_npx_cdk_synth_with_the_pinned_cli_succeeds(tmp_path: Path):
    cli = PROJECT_ROOT / "node_modules" / ".bin" / "cdk"
    assert cli.exists(), "the pinned CDK CLI is not installed: run `make setup` (npm ci)"
    pinned = json.loads((PROJECT_ROOT / "package.json").read_text())["devDependencies"]["aws-cdk"]
    assert shutil.which("node") == str(Path(sys.executable).parent / "node")  # the virtualenv's Node.js

    version = subprocess.run([cli, "--version"], capture_output=True, text=True, check=True)
    result = subprocess.run(
        [cli, "synth", "--quiet", "--output", str(tmp_path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert version.stdout.startswith(pinned)
    assert result.returncode == 0, result.stderr
    template = json.loads((tmp_path / f"{STACK_NAME}.template.json").read_text())
    assert "Node 20 is end-of-life" not in result.stderr
    assert any(res["Type"] == "AWS::StepFunctions::StateMachine" for res in template["Resources"].values())
