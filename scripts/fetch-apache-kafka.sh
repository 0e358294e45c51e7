#!/usr/bin/env bash
# Put Apache Kafka's broker jars (devstack/apache-kafka/pom.xml: kafka_2.13, its runtime
# dependencies, a log4j binding) in a per-version cache and print that libs directory.
#
# Maven does the fetching because Maven Central is reachable wherever the project builds and
# Kafka's download mirrors may not be. A stamp holding the pom's checksum makes a second run
# instant and a changed pom fetch again; a lock keeps two concurrent runs from mixing jars.
# With --check it fetches nothing and only says (exit 0 or a one-line error) whether it could.
#
#   WALMART_SYNC_CACHE_DIR  cache root (default ${XDG_CACHE_HOME:-~/.cache}/walmart-sync);
#                           jars go to $WALMART_SYNC_CACHE_DIR/apache-kafka-<version>/libs
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pom="$here/../devstack/apache-kafka/pom.xml"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")"
cache_root="${WALMART_SYNC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/walmart-sync}"
dest="$cache_root/apache-kafka-$version"
libs="$dest/libs"
stamp="$dest/.fetched"
want="$(sha256sum "$pom" | cut -d' ' -f1)"

fail() { echo "fetch-apache-kafka: $*" >&2; exit 1; }

# Kafka 4 brokers need Java 17; checked even when cached, since the jars are useless without it.
command -v java >/dev/null 2>&1 ||
    fail "java not found: install Java 17 with 'apt-get install -y openjdk-17-jre-headless'"
java_major="$(java -XshowSettings:properties -version 2>&1 |
    sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p')"
[ "${java_major:-0}" -ge 17 ] ||
    fail "java ${java_major:-?} is too old for Kafka $version: install 'openjdk-17-jre-headless'"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "$libs"
    exit 0
fi

command -v mvn >/dev/null 2>&1 ||
    fail "mvn not found (needed once to fetch Kafka $version's jars): apt-get install -y maven"
[ "${1:-}" = "--check" ] && exit 0

mkdir -p "$dest"
exec 9>"$dest/.lock"
flock 9
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then   # another run may have finished
    echo "fetching Apache Kafka $version jars from Maven Central into $libs ..." >&2
    rm -rf "$libs.partial"
    if ! mvn -B -q -f "$pom" -Dmaven.repo.local="$cache_root/maven-repository" \
        dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$libs.partial" \
        >"$dest/mvn.log" 2>&1; then
        tail -n 20 "$dest/mvn.log" >&2
        fail "mvn could not fetch Kafka $version's jars (is Maven Central reachable? see $dest/mvn.log)"
    fi
    rm -rf "$libs"
    mv "$libs.partial" "$libs"
    echo "$want" >"$stamp"
fi
echo "$libs"
