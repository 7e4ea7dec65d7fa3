#!/usr/bin/env bash
# The Python tests (standard library unittest; no Python registry is needed): the worker helper scythe.worker and the
# ctypes binding of libscythe (bindings/python/tests), then a check that `pip install ./bindings/python` works into a
# fresh venv, offline, and that the installed package finds its bundled library and runs a job (counted as a test).
# The binding's tests load $SCYTHE_LIBRARY, by default the Maven build's
# native/target/classes/META-INF/native/linux-$(uname -m)/libscythe.so when it exists.
# Prints "python: N passed, N failed" last. Run by the Maven build (java/core, test phase) and so by scripts/test.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
command -v python3 >/dev/null || { echo "python: python3 is not installed; Debian: apt-get install python3" >&2; exit 1; }
native_dir=$root/native/target/classes/META-INF/native/linux-$(uname -m)
if [[ -z ${SCYTHE_LIBRARY:-} && -f $native_dir/libscythe.so ]]; then
  export SCYTHE_LIBRARY=$native_dir/libscythe.so
fi
# Where cargo is, scripts/test-rust.sh (run before, in the native module) built the Rust canceller that the
# cross-runtime tests start: then its absence is a failure, not a reason to skip.
if command -v cargo >/dev/null 2>&1; then
  export SCYTHE_REQUIRE_RUST=1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
log=$tmp/log
cd "$root"
status=0
python3 -m unittest discover -s bindings/python/tests -v 2>&1 | tee "$log" || status=$?
ran=$(sed -n 's/^Ran \([0-9]*\) tests\{0,1\} in .*/\1/p' "$log" | tail -1)
summary=$(sed -n 's/^\(FAILED\|OK\) (\(.*\))$/\2/p' "$log" | tail -1)   # failures=1, errors=2, skipped=3
count() { grep -o "\(^\|, \)$1=[0-9]*" <<<"$summary" | grep -o '[0-9]*$' || echo 0; }
failed=$(( $(count failures) + $(count errors) + $(count 'unexpected successes') ))
skipped=$(count skipped)
ran=$(( ${ran:-0} - skipped ))   # a skipped test is neither a pass nor a failure
(( skipped == 0 )) || echo "python: $skipped skipped (see above)"

# pip install into a fresh venv: no index (--no-index), build isolation with the in-tree backend. The wheel bundles
# the library next to $SCYTHE_LIBRARY (or the source tree's build); the check runs outside the tree, with
# SCYTHE_LIBRARY unset, so the installed copy is the one found.
install_check() {
  local venv=$tmp/venv out
  python3 -m venv "$venv" || { echo "python: cannot make a venv (Debian: apt-get install python3-venv)"; return 1; }
  if [[ -n ${SCYTHE_LIBRARY:-} ]]; then
    export SCYTHE_LIBRARY_DIR=${SCYTHE_LIBRARY_DIR:-$(dirname "$SCYTHE_LIBRARY")}
  fi
  "$venv/bin/python" -m pip install --no-index --disable-pip-version-check --no-cache-dir -q ./bindings/python \
    || return 1
  out=$(cd / && env -u SCYTHE_LIBRARY -u PYTHONPATH "$venv/bin/python" -c '
import os, scythe
lib = scythe.library_path()
assert lib.startswith(os.path.dirname(scythe.__file__)), "not the bundled library: " + lib
with scythe.Supervisor() as sup:
    out = sup.spawn(["/bin/true"], timeout=10).wait(30)
    assert out.kind == "success" and out.exit_code == 0, out
    guard = os.path.join(os.path.dirname(scythe.__file__), "_lib", "scythe-guard")
    assert scythe.guard_pid() or not os.path.exists(guard), "the bundled guard did not start"
print("installed scythe", scythe.__version__, "ran /bin/true:", out.kind)
') || return 1
  echo "$out"
}
echo "python: pip install ./bindings/python into a fresh venv"
if install_check; then
  echo "python: pip install check ... ok"
  ran=$(( ${ran:-0} + 1 ))
else
  echo "python: pip install check ... FAIL" >&2
  ran=$(( ${ran:-0} + 1 ))
  failed=$((failed + 1))
  status=1
fi
rm -rf "$tmp/venv"

echo "python: $(( ${ran:-0} - failed )) passed, $failed failed"
if [[ ${ran:-0} == 0 ]]; then
  echo "python: no test ran" >&2
  exit 1
fi
exit $status
