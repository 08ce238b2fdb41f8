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
    prometheus ca-certificates >/dev/null
  # kubectl builds the kustomize base in the manifest tests; Debian's kubernetes-client has it.
  command -v kubectl >/dev/null || $SUDO apt-get install -y -qq --no-install-recommends kubernetes-client >/dev/null
  # Debian starts the prometheus service on install; calico-diag's tests run their own instance.
  if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus 2>/dev/null; then
    $SUDO systemctl stop prometheus || true
  fi
fi
node -e 'const [maj]=process.versions.node.split(".").map(Number); if (maj < 20) { console.error(`calico-diag needs Node 20 or later, found ${process.version}`); process.exit(1); }'
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
