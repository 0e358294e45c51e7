#!/usr/bin/env bash
# Checks the companion Magento module in commerce-module/: `php -l` on every PHP file, then its
# PHPUnit tests (Magento-independent logic, XML configuration, contract.json). Needs no Magento and
# no Composer. Installs Debian's php-cli, php-xml, php-mbstring and phpunit when missing (as root).
# Exits non-zero when anything fails; CI calls it.
set -euo pipefail
cd "$(dirname "$0")/.."
MODULE=commerce-module

php_ready() {
    command -v php >/dev/null 2>&1 && command -v phpunit >/dev/null 2>&1 \
        && php -r 'exit(extension_loaded("dom") && extension_loaded("mbstring") ? 0 : 1);'
}

if ! php_ready; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "php, its dom/mbstring extensions or phpunit are missing: install them with" >&2
        echo "  sudo apt-get install -y php-cli php-xml php-mbstring phpunit" >&2
        echo "and run $0 again" >&2
        exit 1
    fi
    echo "installing php-cli, php-xml, php-mbstring and phpunit from Debian..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends php-cli php-xml php-mbstring phpunit >/dev/null
    php_ready
fi

echo "$(php -r 'echo "PHP ", PHP_VERSION;'), $(phpunit --version | head -n 1)"

failed=0
count=0
while IFS= read -r -d '' file; do
    count=$((count + 1))
    if ! output=$(php -l "$file" 2>&1); then
        echo "$output" >&2
        failed=$((failed + 1))
    fi
done < <(find "$MODULE" -name '*.php' -not -path '*/vendor/*' -print0 | sort -z)
if [ "$failed" -ne 0 ]; then
    echo "php -l: $failed of $count PHP files have syntax errors" >&2
    exit 1
fi
echo "php -l: $count PHP files, no syntax errors"

phpunit --do-not-cache-result -c "$MODULE/phpunit.xml.dist"
