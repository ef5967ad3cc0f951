#!/usr/bin/env python3
"""Write deploy/kubernetes/prometheusrule.yaml: the rules of deploy/prometheus/rules as a PrometheusRule.

    .venv/bin/python scripts/prometheusrule.py          # after changing a rule file
    .venv/bin/python scripts/prometheusrule.py --check  # exit 1 when the file is stale (a unit test does this)

The rule files stay the one source: Prometheus outside Kubernetes (`cxpulse ops up`,
docker compose) reads them directly, the Prometheus Operator reads this resource.
"""

import io
import sys
from pathlib import Path

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "deploy" / "prometheus" / "rules"
OUT = ROOT / "deploy" / "kubernetes" / "prometheusrule.yaml"
HEADER = """\
# Written by scripts/prometheusrule.py from deploy/prometheus/rules/*.yml: edit those, then run it.
# The recording rules the dashboards read and the pipeline's alerting rules (runbooks: docs/runbooks.md).
"""


def render() -> str:
    yaml = YAML()
    yaml.width = 4096
    groups = []
    for path in sorted(RULES.glob("*.yml")):
        groups += yaml.load(path.read_text(encoding="utf-8"))["groups"]
    resource = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "cxpulse", "labels": {"app.kubernetes.io/name": "cxpulse"}},
        "spec": {"groups": groups},
    }
    out = io.StringIO()
    yaml.dump(resource, out)
    return HEADER + out.getvalue()


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not OUT.is_file() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is stale: run scripts/prometheusrule.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
