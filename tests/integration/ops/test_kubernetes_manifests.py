"""deploy/kubernetes checked by kubeconform, strict, against Kubernetes' schemas and the Prometheus Operator's CRDs.

kubeconform is built from the Go module proxy by scripts/bootstrap.sh; its schemas are
assembled offline by tests/kube_schemas.py (Kubernetes kinds from the kubernetes-validate
package, ServiceMonitor and PrometheusRule from the operator's CRDs in its Go module).
"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from ...kube_schemas import KUBERNETES_VERSION, kubeconform, schema_dir

ROOT = Path(__file__).resolve().parents[3]
KUBE = ROOT / "deploy" / "kubernetes"


@pytest.fixture(scope="module")
def checker() -> tuple[str, Path]:
    binary = kubeconform()
    if binary is None:
        pytest.skip("kubeconform is not installed (scripts/bootstrap.sh builds it with Go from the module proxy)")
    schemas = schema_dir()
    missing = [k for k in ("servicemonitor-monitoring-v1", "prometheusrule-monitoring-v1")
               if not (schemas / f"{k}.json").is_file()]
    assert not missing, f"no CRD schema for {missing}: the Prometheus Operator's Go module could not be read"
    return binary, schemas


def _manifests(folder: Path = KUBE) -> list[Path]:
    listed = YAML(typ="safe").load((folder / "kustomization.yaml").read_text(encoding="utf-8"))["resources"]
    return [folder / name for name in listed]


def run(checker: tuple[str, Path], files: list[Path]) -> tuple[int, list[dict]]:
    binary, schemas = checker
    done = subprocess.run([binary, "-strict", "-verbose", "-output", "json", "-kubernetes-version", KUBERNETES_VERSION,
                           "-schema-location", f"{schemas}/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json",
                           *map(str, files)], check=False, capture_output=True, text=True, timeout=120)
    report = json.loads(done.stdout or "{}")
    return done.returncode, report.get("resources", [])


def test_every_manifest_is_valid(checker):
    code, results = run(checker, _manifests())

    assert code == 0, results
    kinds = {r["kind"] for r in results if r["status"] == "statusValid"}
    assert {"StatefulSet", "Deployment", "Service", "ServiceMonitor", "PrometheusRule", "Job"} <= kinds
    assert all(r["status"] == "statusValid" for r in results), results


@pytest.mark.parametrize(("file", "old", "new"), [
    ("worker.yaml", "  replicas: 3\n", "  replica: 3\n"),                     # a typo in a core kind
    ("monitoring.yaml", "  endpoints:\n", "  endpoint:\n"),                   # a typo in a CRD kind
    ("router.yaml", "containerPort: 9101", 'containerPort: "metrics"'),      # a wrong type
], ids=["core-typo", "crd-typo", "wrong-type"])
def test_a_mistake_fails(checker, tmp_path, file, old, new):
    copy = tmp_path / "kubernetes"
    shutil.copytree(KUBE, copy)
    text = (copy / file).read_text(encoding="utf-8")
    assert old in text
    (copy / file).write_text(text.replace(old, new, 1), encoding="utf-8")

    code, results = run(checker, [copy / file])

    assert code != 0
    assert any(r["status"] == "statusInvalid" for r in results), results


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed (it builds the kustomization)")
def test_the_built_kustomization_is_valid(checker, tmp_path):
    built = subprocess.run(["kubectl", "kustomize", str(KUBE)], check=False, capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    (tmp_path / "built.yaml").write_text(built.stdout, encoding="utf-8")

    code, results = run(checker, [tmp_path / "built.yaml"])

    assert code == 0, results
    assert all(r.get("namespace", "cxpulse") == "cxpulse" for r in results)
    assert "image: cxpulse:0.1.0" in built.stdout
