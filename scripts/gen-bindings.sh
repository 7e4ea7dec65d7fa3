#!/usr/bin/env bash
# Regenerates the FFM bindings in bindings/src/main/java/dev/scythe/ffi from native/include/scythe.h with a jextract
# found on PATH (or $JEXTRACT). Only Scythe's own symbols are kept: the include list is jextract's own dump of the
# header, filtered to the lines that come from scythe.h. The output is committed and never edited by hand.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jextract=${JEXTRACT:-$(command -v jextract || true)}
if [[ -z $jextract ]]; then
  echo "gen-bindings: no jextract on PATH (set JEXTRACT=/path/to/jextract); see docs/architecture.md" >&2
  exit 1
fi
header=$root/native/include/scythe.h
out=$root/bindings/src/main/java
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$jextract" --dump-includes "$tmp/all.txt" "$header" >/dev/null
grep -E "^--include-[a-z]+ +[A-Za-z_0-9]+ +# header: .*/native/include/scythe\.h$" "$tmp/all.txt" \
  | awk '{print $1, $2}' | sort > "$tmp/includes.txt"
# Opaque handles have no layout to bind; they travel as plain addresses.
grep -v -E '^--include-struct (scythe_job|scythe_loop|scythe_token)$' "$tmp/includes.txt" > "$tmp/args.txt"
[[ -s $tmp/args.txt ]] || { echo "gen-bindings: found no scythe symbols in $header" >&2; exit 1; }

rm -rf "$out/dev/scythe/ffi"
"$jextract" --output "$out" -t dev.scythe.ffi --header-class-name scythe_h "@$tmp/args.txt" "$header"
echo "gen-bindings: wrote $(find "$out/dev/scythe/ffi" -name '*.java' | wc -l) files to $out/dev/scythe/ffi"
