#!/usr/bin/env bash
# Prepare this machine for cxpulse: Java 17+ and Maven (for the local Kafka broker),
# a virtualenv in .venv with cxpulse installed editable with its test extras, every
# version from the lock file constraints.txt.
#
# Missing Debian packages are installed with apt-get when running as root; otherwise
# the script says what to install. Safe to run again: it only does what is missing.
#
#   scripts/bootstrap.sh              # what `make test` runs first
#   EXTRAS=test scripts/bootstrap.sh  # pip extras to install (default: test)
#   EXTRAS=test,bench scripts/bootstrap.sh  # and the benchmarks' peers (bench/bench_worker.py)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
EXTRAS="${EXTRAS:-test}"
JAVA_MIN=17
PIP_VERSION=26.3
# Installed without their dependencies with the extra named (see pyproject's bench extra: quixstreams
# caps pydantic below cxpulse's pin; its other requirements are in that extra).
NO_DEPS_bench="quixstreams==3.28.1"
# The Kubernetes manifests' schema checker and the CRDs it checks ServiceMonitor and
# PrometheusRule against, both from the Go module proxy, cached outside the repository.
KUBECONFORM_MODULE="github.com/yannh/kubeconform/cmd/kubeconform@v0.7.0"
CRD_MODULE="github.com/prometheus-operator/prometheus-operator@v0.85.0"  # keep in step with tests/kube_schemas.py
TOOLS_BIN="${XDG_CACHE_HOME:-$HOME/.cache}/cxpulse/bin"

# Debian packages by purpose: "command-to-check:package[|fallback package]".
DEBIAN_NEEDS=(
  "java:openjdk-17-jre-headless|default-jre-headless"
  "mvn:maven"
)
# Wanted, not required: Prometheus, Alertmanager and their tools run the operations tests
# (tests/integration/ops) and `cxpulse ops up`; kcat reads topics by hand; Go builds
# kubeconform (below); Chromium runs the console's browser test (tests/integration/console,
# through Playwright: never `playwright install`). Installed when running as root; otherwise
# those tests skip and say why.
DEBIAN_WANTS=(
  "prometheus:prometheus"
  "promtool:prometheus"
  "prometheus-alertmanager:prometheus-alertmanager"
  "amtool:prometheus-alertmanager"
  "kcat:kcat|kafkacat"
  "go:golang-go"
  "chromium:chromium"
)

say() { printf 'bootstrap: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

find_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

java_ok() {
  command -v java >/dev/null 2>&1 || return 1
  local major
  major="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)"
  [ -n "$major" ] && [ "$major" -ge "$JAVA_MIN" ]
}

command_ok() {
  case "$1" in
    java) java_ok ;;
    go) find_go >/dev/null ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

can_apt() { [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; }

APT_UPDATED=0
apt_install() {
  if [ "$APT_UPDATED" -eq 0 ]; then
    say "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    APT_UPDATED=1
  fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# The first alternative apt knows about ("a|b" -> a when it exists, else b).
pick_package() {
  local choice
  IFS='|' read -r -a choices <<<"$1"
  for choice in "${choices[@]}"; do
    if apt-cache show "$choice" >/dev/null 2>&1; then
      echo "$choice"
      return 0
    fi
  done
  echo "${choices[0]}"
}

ensure_debian_packages() {
  local need cmd packages=() wanted=()
  for need in "${DEBIAN_NEEDS[@]}"; do
    cmd="${need%%:*}"
    command_ok "$cmd" || wanted+=("${need#*:}")
  done
  [ "${#wanted[@]}" -eq 0 ] && return 0
  if ! can_apt; then
    die "missing: ${wanted[*]//|/ or } (Java ${JAVA_MIN}+ and Maven run the local Kafka broker); install them, or run as root on Debian/Ubuntu"
  fi
  if [ "$APT_UPDATED" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    APT_UPDATED=1
  fi
  for need in "${wanted[@]}"; do packages+=("$(pick_package "$need")"); done
  apt_install "${packages[@]}"
  for need in "${DEBIAN_NEEDS[@]}"; do
    command_ok "${need%%:*}" || die "${need%%:*} is still missing after apt-get install"
  done
}

ensure_wanted_packages() {
  local need cmd packages=() wanted=()
  for need in "${DEBIAN_WANTS[@]}"; do
    cmd="${need%%:*}"
    command_ok "$cmd" || wanted+=("${need#*:}")
  done
  [ "${#wanted[@]}" -eq 0 ] && return 0
  if ! can_apt; then
    say "warning: not installed: ${wanted[*]//|/ or } (the operations tests will skip); run as root to install them"
    return 0
  fi
  if [ "$APT_UPDATED" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    APT_UPDATED=1
  fi
  for need in $(printf '%s\n' "${wanted[@]}" | sort -u); do packages+=("$(pick_package "$need")"); done
  # On a machine with systemd the packages start their own services on 9090/9093;
  # `cxpulse ops up` then needs other ports, or `systemctl disable --now prometheus prometheus-alertmanager`.
  apt_install "${packages[@]}" || say "warning: apt-get install ${packages[*]} failed (the operations tests will skip)"
}

ensure_venv() {
  local python
  python="$(find_python)" || die "Python 3.11+ not found (set PYTHON=/path/to/python3.11)"
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV with $python"
    if ! "$python" -m venv "$VENV" 2>/dev/null; then
      rm -rf "$VENV"
      can_apt || die "$python cannot create a virtualenv: install python3-venv"
      apt_install python3-venv
      "$python" -m venv "$VENV"
    fi
  fi
}

# The source files of the modules cxpulse/compiled.py lists (cxpulse.x.y -> folder/x/y.py).
compiled_sources() {
  sed -n 's/^    "cxpulse\.\([a-z_.]*\)",$/\1/p' "$ROOT/cxpulse/compiled.py" | while read -r name; do
    case "$name" in
      *.*) echo "$ROOT/${name//.//}.py" ;;  # a subpackage's folder has its name (processors/...)
      *) echo "$ROOT/cxpulse/$name.py" ;;
    esac
  done
}

ensure_install() {
  # Reinstall only when the dependencies changed: pip is slow even when nothing is to do.
  local stamp="$VENV/.cxpulse-installed" want
  # The compiled modules (cxpulse/compiled.py, setup.py) are rebuilt when their sources change:
  # a stale extension would run old code.
  want="$(cat "$ROOT/pyproject.toml" "$ROOT/constraints.txt" "$ROOT/setup.py" "$ROOT/cxpulse/compiled.py" \
    $(compiled_sources) <(echo "$EXTRAS ${CXPULSE_COMPILE:-1}") | sha256sum | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  # Every version comes from the lock (constraints.txt; scripts/lock.sh regenerates it).
  say "pip install -c constraints.txt -e '.[$EXTRAS]' (log: $VENV/pip.log)"
  if ! { "$VENV/bin/python" -m pip install -q "pip==$PIP_VERSION" &&
    "$VENV/bin/python" -m pip install -q -c "$ROOT/constraints.txt" -e "$ROOT[$EXTRAS]"; } >"$VENV/pip.log" 2>&1; then
    tail -n 25 "$VENV/pip.log" >&2
    die "pip install failed (full log: $VENV/pip.log)"
  fi
  if [[ ",$EXTRAS," == *",bench,"* ]] &&
    ! "$VENV/bin/python" -m pip install -q --no-deps "$NO_DEPS_bench" >>"$VENV/pip.log" 2>&1; then
    tail -n 25 "$VENV/pip.log" >&2
    die "pip install --no-deps $NO_DEPS_bench failed (full log: $VENV/pip.log)"
  fi
  echo "$want" >"$stamp"
}

find_go() {  # the toolchain a Go install puts in /usr/local/go counts even when not on PATH
  command -v go 2>/dev/null || { [ -x /usr/local/go/bin/go ] && echo /usr/local/go/bin/go; }
}

# kubeconform checks deploy/kubernetes in the test suite; without Go the test skips and says so.
ensure_kubeconform() {
  local go
  [ -x "$TOOLS_BIN/kubeconform" ] && return 0
  go="$(find_go)" || { say "warning: Go not found: the Kubernetes manifest test will skip (kubeconform)"; return 0; }
  say "go install $KUBECONFORM_MODULE (into $TOOLS_BIN)"
  if ! GOBIN="$TOOLS_BIN" GOFLAGS=-mod=mod "$go" install "$KUBECONFORM_MODULE" >"$VENV/go.log" 2>&1; then
    tail -n 10 "$VENV/go.log" >&2
    say "warning: kubeconform did not build (log: $VENV/go.log); the Kubernetes manifest test will skip"
    return 0
  fi
  "$go" mod download "$CRD_MODULE" >>"$VENV/go.log" 2>&1 ||
    say "warning: could not download $CRD_MODULE (the CRDs kubeconform checks ServiceMonitor and PrometheusRule with)"
}

ensure_debian_packages
ensure_wanted_packages
ensure_venv
ensure_install
ensure_kubeconform
say "ready: $("$VENV/bin/python" --version), $(java -version 2>&1 | head -n1), $(mvn -v 2>/dev/null | head -n1 | sed 's/\x1b\[[0-9;]*m//g')"
