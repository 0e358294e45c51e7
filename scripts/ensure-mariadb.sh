#!/usr/bin/env bash
# The embedded stack runs a private mariadbd; install Debian's MariaDB server when it is missing.
# The package's own system service is neither needed nor used.
set -euo pipefail
if command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "mariadbd not found: install it with 'sudo apt-get install -y mariadb-server' and retry" >&2
    exit 1
fi
echo "installing mariadb-server from Debian (mariadbd not found)..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends mariadb-server >/dev/null
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ]
