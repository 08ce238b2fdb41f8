#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine lacks for calico-diag: the dataplane tools the agent
# and the namespace lab use, promtool/prometheus for the monitoring checks, and the npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
if command -v apt-get >/dev/null; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends \
    iproute2 iptables ipset tcpdump conntrack kmod procps iputils-ping curl time \
    prometheus ca-certificates bird >/dev/null
  # kubectl builds the kustomize base in the manifest tests; Debian's kubernetes-client has it.
  command -v kubectl >/dev/null || $SUDO apt-get install -y -qq --no-install-recommends kubernetes-client >/dev/null
  # Debian starts the prometheus and bird services on install; calico-diag's tests run their own
  # instances (BIRD: one per lab node namespace), never the root namespace's.
  for svc in prometheus bird bird6; do
    if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
      $SUDO systemctl stop "$svc" || true
      [ "$svc" = prometheus ] || $SUDO systemctl disable "$svc" >/dev/null 2>&1 || true
    fi
  done
fi
# Node 24 LTS is calico-diag's runtime. Where the machine has an older Node, install Node 24 from the
# npm registry's `node` package (it ships the binary) and put it first on PATH via /usr/local/bin.
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major)" -lt 24 ]; then
  NODE_DIR=/opt/calico-diag/node24
  echo "installing Node 24 (npm package node@24) into $NODE_DIR" >&2
  $SUDO mkdir -p "$NODE_DIR"
  $SUDO npm install --prefix "$NODE_DIR" --no-save --no-audit --no-fund --loglevel=error node@24 >/dev/null
  $SUDO ln -sf "$NODE_DIR/node_modules/node/bin/node" /usr/local/bin/node
  hash -r
  case ":$PATH:" in *:/usr/local/bin:*) ;; *) export PATH="/usr/local/bin:$PATH" ;; esac
fi
if [ "$(node_major)" -lt 24 ]; then
  echo "calico-diag needs Node 24; 'node' on PATH is $(node --version) ($(command -v node))" >&2
  exit 1
fi
# npm ci first. npm 11.19 (this machine's) writes lock files that hold only the current platform's
# entries of packages with per-platform optional dependencies (rollup, under vitest) and then
# refuses its own lock in `npm ci` ("Missing: @rollup/rollup-android-arm-eabi@ from lock file").
# In that case install the same versions from the lock with `npm install --no-save`, which does
# not rewrite it.
if ! npm ci --no-audit --no-fund 2>/tmp/calico-diag-npm-ci.err; then
  if grep -q 'from lock file' /tmp/calico-diag-npm-ci.err; then
    echo "npm ci refused the lock file (npm's per-platform optional-dependency bug); installing from it with npm install --no-save" >&2
    npm install --no-audit --no-fund --no-save
  else
    cat /tmp/calico-diag-npm-ci.err >&2
    exit 1
  fi
fi
