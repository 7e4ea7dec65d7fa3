#!/usr/bin/env bash
# The Rust bindings' tests (bindings/rust: scythe-sys and scythe), `cargo test --offline`: no registry is needed, the
# crates have no dependencies. They run against the Maven-built host library
# (native/target/classes/META-INF/native/linux-$(uname -m)/, or $SCYTHE_LIB_DIR if set), which must exist: build it
# first (scripts/mvn -B -ntp -pl native package). Without cargo the tests are skipped (exit 0, said so).
# Prints "rust: N passed, N failed" last, summed over every test binary; exits nonzero if any test failed or none ran.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
crates=$root/bindings/rust

cargo=${CARGO:-}
if [[ -z $cargo ]]; then
  if command -v cargo >/dev/null 2>&1; then
    cargo=$(command -v cargo)
  elif [[ -x ${CARGO_HOME:-${HOME:-/nonexistent}/.cargo}/bin/cargo ]]; then
    cargo=${CARGO_HOME:-$HOME/.cargo}/bin/cargo
  fi
fi
if [[ -z $cargo ]]; then
  echo "rust: cargo is not installed: the Rust binding's tests are skipped (https://rustup.rs)"
  echo "rust: 0 passed, 0 failed"
  exit 0
fi

lib_dir=${SCYTHE_LIB_DIR:-$root/native/target/classes/META-INF/native/linux-$(uname -m)}
if [[ ! -f $lib_dir/libscythe.so ]]; then
  echo "rust: no libscythe.so in $lib_dir; build it first: scripts/mvn -B -ntp -pl native package" >&2
  echo "rust: 0 passed, 1 failed"
  exit 1
fi
export SCYTHE_LIB_DIR=$lib_dir
export CARGO_TARGET_DIR=$crates/target

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
echo "rust: $("$cargo" --version), libscythe from $SCYTHE_LIB_DIR"
(cd "$crates" && "$cargo" test --offline --workspace --no-fail-fast "$@") 2>&1 | tee "$log" || status=$?
passed=0 failed=0
while read -r p f; do
  passed=$((passed + p)); failed=$((failed + f))
done < <(sed -n 's/^test result: [A-Za-z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1 \2/p' "$log")
if (( status != 0 && failed == 0 )); then
  failed=1 # the build failed, or a test binary died without a summary
  echo "rust: cargo test failed with status $status before reporting a failed test" >&2
fi
if (( passed == 0 && failed == 0 )); then
  echo "rust: no test ran" >&2
  failed=1
fi
echo "rust: $passed passed, $failed failed"
(( status == 0 && failed == 0 ))
