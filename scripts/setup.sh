#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine lacks for calico-diag: the dataplane tools the agent
# and the namespace lab use, promtool/prometheus for the monitoring checks, and the npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
if command -v apt-get >/dev/null; then
  $SUDO apt-get update -qq
  # nftables and tini are in the images too: test/manifests/dockerfiles.test.ts reads their file lists.
  $SUDO apt-get install -y -qq --no-install-recommends \
    iproute2 iptables nftables ipset tcpdump conntrack kmod procps iputils-ping curl time tini \
    prometheus ca-certificates bird >/dev/null
  # The IPIP lab runs inside user-mode-linux (lab/uml.ts): its kernel has ipip; gcc and libc6-dev
  # build the xstate shim it needs on hosts with AVX-512 (lab/uml/xstate-shim.c).
  $SUDO apt-get install -y -qq --no-install-recommends user-mode-linux gcc libc6-dev util-linux >/dev/null
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
# npm registry's `node` package (it ships the binary) and put it first on PATH via /usr/local/bin;
# where it has no npm at all, Debian's nodejs and npm are installed first, only to fetch it. npm 10
# or newer installs the lock; an older npm is replaced the same way by the npm registry's npm@11.
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
npm_major() { npm --version 2>/dev/null | cut -d. -f1 || echo 0; }
if ! command -v npm >/dev/null && command -v apt-get >/dev/null; then
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if [ "$(node_major)" -lt 24 ]; then
  NODE_DIR=/opt/calico-diag/node24
  echo "installing Node 24 (npm package node@24) into $NODE_DIR" >&2
  $SUDO mkdir -p "$NODE_DIR"
  $SUDO npm install --prefix "$NODE_DIR" --no-save --no-audit --no-fund --loglevel=error node@24 >/dev/null
  $SUDO ln -sf "$NODE_DIR/node_modules/node/bin/node" /usr/local/bin/node
fi
export PATH="/usr/local/bin:$PATH"
hash -r
if [ "$(npm_major)" -lt 10 ]; then
  NPM_DIR=/opt/calico-diag/npm11
  echo "installing npm 11 (npm package npm@11) into $NPM_DIR" >&2
  $SUDO mkdir -p "$NPM_DIR"
  $SUDO npm install --prefix "$NPM_DIR" --no-save --no-audit --no-fund --loglevel=error npm@11 >/dev/null
  $SUDO ln -sf "$NPM_DIR/node_modules/npm/bin/npm-cli.js" /usr/local/bin/npm
  $SUDO ln -sf "$NPM_DIR/node_modules/npm/bin/npx-cli.js" /usr/local/bin/npx
  hash -r
fi
if [ "$(node_major)" -lt 24 ] || [ "$(npm_major)" -lt 10 ]; then
  echo "calico-diag needs Node 24 and npm 10 or newer; on PATH: node $(node --version 2>&1) ($(command -v node)), npm $(npm --version 2>&1)" >&2
  exit 1
fi
# The lock holds every platform's optional entries (test/package/lockfile.test.ts), so npm 10 and
# npm 11 install from it as is.
npm ci --no-audit --no-fund
