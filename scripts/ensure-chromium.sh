#!/usr/bin/env bash
# The status page is tested in headless Chromium: install Debian's chromium when it is missing.
# Not fatal: without it (no root, no network) that one test is skipped and says why.
set -uo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "chromium not found: 'sudo apt-get install -y chromium' enables the status page test" >&2
    exit 0
fi
echo "installing chromium from Debian (for the status page test)..."
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 || {
    apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1
} || echo "could not install chromium; the status page test will be skipped" >&2
exit 0
