#!/usr/bin/env bash
# Build the dev stack's Debezium runner (devstack/debezium: Debezium's embedded engine and MySQL
# connector, Kafka clients, a small main) with Maven, and put its jar and runtime dependencies in a
# per-version cache; print that libs directory.
#
# Same shape as fetch-apache-kafka.sh: a stamp holding the checksum of the pom and the Java source
# makes a second run instant (offline) and a change build again; a lock keeps concurrent runs apart.
# With --check it builds nothing and only says (exit 0 or a one-line error) whether it could.
#
#   WALMART_SYNC_CACHE_DIR  cache root (default ${XDG_CACHE_HOME:-~/.cache}/walmart-sync);
#                           jars go to $WALMART_SYNC_CACHE_DIR/debezium-<version>/libs
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
project="$here/../devstack/debezium"
pom="$project/pom.xml"
version="$(sed -n 's:.*<debezium.version>\(.*\)</debezium.version>.*:\1:p' "$pom")"
cache_root="${WALMART_SYNC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/walmart-sync}"
dest="$cache_root/debezium-$version"
libs="$dest/libs"
stamp="$dest/.fetched"
want="$(cd "$project" && find pom.xml src -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1)"

fail() { echo "fetch-debezium: $*" >&2; exit 1; }

command -v java >/dev/null 2>&1 ||
    fail "java not found: install Java 17 with 'apt-get install -y openjdk-17-jdk-headless'"
java_major="$(java -XshowSettings:properties -version 2>&1 |
    sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p')"
[ "${java_major:-0}" -ge 17 ] ||
    fail "java ${java_major:-?} is too old for Debezium $version: install 'openjdk-17-jdk-headless'"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "$libs"
    exit 0
fi

command -v mvn >/dev/null 2>&1 ||
    fail "mvn not found (needed once to build the Debezium runner): apt-get install -y maven"
command -v javac >/dev/null 2>&1 ||
    fail "javac not found (needed once to build the Debezium runner): apt-get install -y openjdk-17-jdk-headless"
[ "${1:-}" = "--check" ] && exit 0

mkdir -p "$dest"
exec 9>"$dest/.lock"
flock 9
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then   # another run may have finished
    echo "building the Debezium $version runner (Maven Central) into $libs ..." >&2
    build="$dest/build"
    rm -rf "$libs.partial" "$build"
    mkdir -p "$build"
    cp -r "$project/pom.xml" "$project/src" "$build/"
    if ! mvn -B -q -f "$build/pom.xml" -Dmaven.repo.local="$cache_root/maven-repository" \
        package dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$libs.partial" \
        >"$dest/mvn.log" 2>&1; then
        tail -n 20 "$dest/mvn.log" >&2
        fail "mvn could not build the Debezium runner (is Maven Central reachable? see $dest/mvn.log)"
    fi
    cp "$build/target/debezium-runner.jar" "$libs.partial/"
    rm -rf "$libs" "$build"
    mv "$libs.partial" "$libs"
    echo "$want" >"$stamp"
fi
echo "$libs"
