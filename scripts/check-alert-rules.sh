#!/usr/bin/env bash
# Checks deploy/prometheus: `promtool check rules` on the alert rules and `promtool test rules` on
# their unit tests (an alert that cannot fire when its process is gone is a test failure here).
# Installs Debian's prometheus package (for promtool) when missing, as root.
set -euo pipefail
cd "$(dirname "$0")/../deploy/prometheus"
if ! command -v promtool >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "promtool not found: install it with 'sudo apt-get install -y prometheus' and retry" >&2
        exit 1
    fi
    echo "installing prometheus from Debian (for promtool)..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
promtool check rules walmart-sync-alerts.yml
promtool test rules walmart-sync-alerts.test.yml
