"""The repository's Prometheus and Alertmanager configs, copied into a run directory with its targets.

``deploy/prometheus/prometheus.yml`` reads its targets from ``targets/*.yml`` beside it
(file_sd), so a run directory gets the same config, the same rules, and target files
that name the ports in use. ``deploy/alertmanager/alertmanager.yml`` sends to webhooks
at ``127.0.0.1:9099``; a run with the sink elsewhere gets those URLs rewritten.
"""

import re
import shutil
from pathlib import Path

from cxpulse.errors import CxpulseError

__all__ = ["DEFAULT_SINK", "find_deploy_dir", "render_alertmanager", "render_prometheus"]

DEFAULT_SINK = "http://127.0.0.1:9099"


def find_deploy_dir(configured: str = "") -> Path:
    """``configured``, else the ``deploy/`` folder of the repository cxpulse runs from."""
    path = Path(configured) if configured else Path(__file__).resolve().parents[1] / "deploy"
    if not (path / "prometheus" / "prometheus.yml").is_file():
        raise CxpulseError(f"no Prometheus config at {path / 'prometheus' / 'prometheus.yml'}: "
                           "set ops.deploy_dir to the repository's deploy folder")
    return path


def _targets_yaml(targets: list[str], comment: str) -> str:
    if not targets:
        return f"# {comment}: none\n[]\n"
    listed = ", ".join(f'"{t}"' for t in targets)
    return f"# {comment}\n- targets: [{listed}]\n"


def render_prometheus(deploy: Path, out: Path, targets: dict[str, list[str]], scrape_interval: float) -> Path:
    """Write ``out/prometheus.yml``, ``out/rules/`` and ``out/targets/<job>.yml``; return the config path."""
    out.mkdir(parents=True, exist_ok=True)
    source = deploy / "prometheus"
    interval = f"{scrape_interval:g}s"
    text = (source / "prometheus.yml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^(  (?:scrape|evaluation)_interval:) \S+", rf"\g<1> {interval}", text)
    config = out / "prometheus.yml"
    config.write_text(text, encoding="utf-8")
    shutil.rmtree(out / "rules", ignore_errors=True)
    shutil.copytree(source / "rules", out / "rules")
    (out / "targets").mkdir(exist_ok=True)
    for job, listed in targets.items():
        (out / "targets" / f"{job}.yml").write_text(_targets_yaml(listed, f"{job} (written by cxpulse ops)"),
                                                    encoding="utf-8")
    return config


def render_alertmanager(deploy: Path, out: Path, sink_url: str | None) -> Path:
    """Write ``out/alertmanager.yml`` with the webhook sink at ``sink_url`` (``None``: unchanged)."""
    out.mkdir(parents=True, exist_ok=True)
    text = (deploy / "alertmanager" / "alertmanager.yml").read_text(encoding="utf-8")
    if sink_url:
        text = text.replace(DEFAULT_SINK + "/", sink_url.rstrip("/") + "/")
    config = out / "alertmanager.yml"
    config.write_text(text, encoding="utf-8")
    # The config loads templates/*.tmpl relative to itself: they go beside the copy.
    templates = deploy / "alertmanager" / "templates"
    if templates.is_dir():
        shutil.copytree(templates, out / "templates", dirs_exist_ok=True)
    return config
