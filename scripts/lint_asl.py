"""Run statelint on statemachine/deployment.asl.json with its ${...} substitutions filled in.

statelint wants real ARNs where the template substitutes them at deploy time; the keys come from
template.yaml's DefinitionSubstitutions, so a key missing there fails here too.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from bluegreen.local.template import load_template

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    props = load_template(ROOT / "template.yaml")["Resources"]["DeploymentStateMachine"]["Properties"]
    text = (ROOT / props["DefinitionUri"]).read_text()
    keys = set(re.findall(r"\$\{(\w+)\}", text))
    missing = keys - set(props["DefinitionSubstitutions"])
    if missing:
        print(f"no DefinitionSubstitutions for: {', '.join(sorted(missing))}")
        return 1
    for key in keys:
        text = text.replace("${" + key + "}", f"arn:aws:lambda:us-east-1:123456789012:function:{key}")
    json.loads(text)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        f.write(text)
    result = subprocess.run([str(Path(sys.executable).parent / "statelint"), f.name], check=False)
    if result.returncode == 0:
        print(f"statelint: {props['DefinitionUri']} is valid ({len(keys)} substitutions)")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
