#!/usr/bin/env bash
# The Python tests (standard library unittest; no Python registry is needed): the worker helper scythe.worker.
# Prints "python: N passed, N failed" last. Run by the Maven build (java/core, test phase) and so by scripts/test.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
command -v python3 >/dev/null || { echo "python: python3 is not installed; Debian: apt-get install python3" >&2; exit 1; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cd "$root"
status=0
python3 -m unittest discover -s bindings/python/tests -v 2>&1 | tee "$log" || status=$?
ran=$(sed -n 's/^Ran \([0-9]*\) tests\{0,1\} in .*/\1/p' "$log" | tail -1)
failed=0
for n in $(sed -n 's/^FAILED (\(.*\))$/\1/p' "$log" | grep -o '[0-9]\+'); do failed=$((failed + n)); done
echo "python: $(( ${ran:-0} - failed )) passed, $failed failed"
if [[ ${ran:-0} == 0 ]]; then
  echo "python: no test ran" >&2
  exit 1
fi
exit $status
