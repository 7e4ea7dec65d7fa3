#!/usr/bin/env bash
# Builds the CLI's ahead-of-time cache next to its jar (JDK 25 and later, JEP 483 and 514): one training run of
# `scythe run -- true` records the classes it loads and links, and scripts/scythe starts with them already mapped.
# Called by java/cli's pom at package time with the build's JDK. Best effort: with a JDK that has no AOT caches, or
# if the training run fails, there is no cache and the launcher starts without one (decision 0024).
# Usage: aot-cache.sh JAVA JAR
set -uo pipefail
java=$1 jar=$2
cache=${jar%.jar}.aot
rm -f "$cache" "$cache.config" "$cache.jdk"
if "$java" -XX:AOTCacheOutput="$cache" -XX:AOTConfiguration="$cache.config" \
    --enable-native-access=ALL-UNNAMED -jar "$jar" run -- true >/dev/null 2>"$cache.log" && [[ -f $cache ]]; then
  # The JDK it belongs to: the launcher passes the cache to that JDK only (an older one would not start with it).
  dirname "$(dirname "$(readlink -f "$java")")" >"$cache.jdk"
else
  echo "scythe-cli: no AOT cache ($("$java" -version 2>&1 | head -1)); the CLI starts without one:" >&2
  tail -3 "$cache.log" >&2
  rm -f "$cache"
fi
rm -f "$cache.config" "$cache.log"
exit 0
