# Sourced by Scythe's scripts: scythe_find_jdk sets SCYTHE_JAVA_HOME to a JDK with feature version >= 22 (FFM),
# preferring $JAVA_HOME, then `java` on PATH, then the newest JDK in the usual install directories.
scythe_jdk_version() { # prints the feature version of the JDK at $1, or nothing
  local home=$1 v
  [[ -x $home/bin/java && -x $home/bin/javac ]] || return 0
  if [[ -f $home/release ]]; then
    v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$home/release")
  fi
  if [[ -z $v ]]; then
    v=$("$home/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p')
  fi
  echo "$v"
}

scythe_find_jdk() {
  local home v best="" best_v=0 tried=() preferred=() others=()
  [[ -n ${JAVA_HOME:-} ]] && preferred+=("$JAVA_HOME")
  if command -v java >/dev/null 2>&1; then
    preferred+=("$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")")
  fi
  local dirs=(/usr/lib/jvm/* /usr/java/* /opt/java/* /opt/jdk*)
  # HOME may be unset (cron, systemd units, env -i): then there is no per-user JDK to look for.
  if [[ -n ${HOME:-} ]]; then dirs+=("$HOME"/.sdkman/candidates/java/* "$HOME"/.jdks/*); fi
  for home in "${dirs[@]}"; do
    [[ -d $home ]] && others+=("$home")
  done
  # JAVA_HOME, then PATH's java, win when they are suitable; otherwise the newest JDK found.
  for home in "${preferred[@]}"; do
    v=$(scythe_jdk_version "$home")
    [[ -n $v ]] && tried+=("$home ($v)")
    if [[ -n $v ]] && (( v >= 22 )); then best=$home; break; fi
  done
  if [[ -z $best ]]; then
    for home in "${others[@]}"; do
      v=$(scythe_jdk_version "$home")
      [[ -n $v ]] || continue
      tried+=("$home ($v)")
      if (( v >= 22 && v > best_v )); then best=$home best_v=$v; fi
    done
  fi
  if [[ -z $best ]]; then
    echo "scythe: Scythe needs JDK 22 or newer (FFM API); found: ${tried[*]:-none}." >&2
    echo "scythe: install one (e.g. Debian's openjdk-25-jdk or Temurin 25) or point JAVA_HOME at it." >&2
    return 1
  fi
  SCYTHE_JAVA_HOME=$(readlink -f "$best")
  export SCYTHE_JAVA_HOME
}

# Sets the array hazelcast_opens to the JVM options Hazelcast asks for: the JDK internals it uses (it warns without
# them; the root pom's hazelcast.opens is the same list for tests) and, from JDK 24, the sun.misc.Unsafe memory access
# its shaded JCTools still calls. Needs scythe_find_jdk first.
scythe_hazelcast_opens() {
  hazelcast_opens=(--add-modules java.se --add-exports java.base/jdk.internal.ref=ALL-UNNAMED
    --add-opens java.base/java.lang=ALL-UNNAMED --add-opens java.base/sun.nio.ch=ALL-UNNAMED
    --add-opens java.management/sun.management=ALL-UNNAMED
    --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED)
  local v
  v=$(scythe_jdk_version "$SCYTHE_JAVA_HOME")
  if (( ${v:-0} >= 24 )); then hazelcast_opens+=(--sun-misc-unsafe-memory-access=allow); fi
}
