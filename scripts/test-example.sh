#!/usr/bin/env bash
# The C example against an installed libscythe: installs the Maven build's files to a temporary prefix
# (scripts/install-native.sh), compiles native/examples/spawn_cancel.c with the flags pkg-config gives for it, runs it
# with the installed guard, checks what it printed and its status, checks the installed library's soname, and removes
# the prefix. Needs the library built first (scripts/mvn -B -ntp -pl native package). Last line:
# "example: N passed, N failed"; exits nonzero if any check failed.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
example=$root/native/examples/spawn_cancel.c
cc=${CC:-cc}
passed=0 failed=0
pass() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
finish() {
  echo "example: $passed passed, $failed failed"
  exit $(( failed > 0 ))
}

prefix=$(mktemp -d "${TMPDIR:-/tmp}/scythe-example.XXXXXX") || { fail "mktemp"; finish; }
trap 'rm -rf -- "$prefix"' EXIT

if ! "$root/scripts/install-native.sh" "$prefix"; then
  fail "scripts/install-native.sh $prefix"
  finish
fi
pass "installed to a temporary prefix"

major=$(sed -n 's/^#define SCYTHE_ABI_MAJOR \([0-9][0-9]*\)$/\1/p' "$prefix/include/scythe.h")
soname=""
if command -v readelf >/dev/null 2>&1; then
  soname=$(readelf -d "$prefix/lib/libscythe.so" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
elif command -v objdump >/dev/null 2>&1; then
  soname=$(objdump -p "$prefix/lib/libscythe.so" | awk '$1 == "SONAME" {print $2}')
else
  echo "note: neither readelf nor objdump: the soname is not checked"
fi
if [[ -n $major && $soname == "libscythe.so.$major" && -e $prefix/lib/$soname ]]; then
  pass "soname $soname, installed as a link"
elif command -v readelf >/dev/null 2>&1 || command -v objdump >/dev/null 2>&1; then
  fail "soname: the library says '${soname:-none}', expected libscythe.so.${major:-?}"
fi

pcdir=$prefix/lib/pkgconfig
if command -v pkg-config >/dev/null 2>&1; then
  flags=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs scythe) || { fail "pkg-config --cflags --libs scythe"; finish; }
  flags=${flags% }
  guard=$(PKG_CONFIG_PATH=$pcdir pkg-config --variable=guard scythe)
else
  # Without pkg-config: the same flags from the .pc file's own variables (as the installer wrote them).
  echo "note: no pkg-config here: reading $pcdir/scythe.pc by hand"
  pcvar() { sed -n "s/^$1=//p" "$pcdir/scythe.pc"; }
  pc_prefix=$(pcvar prefix)
  flags="-I$pc_prefix/include -L$pc_prefix/lib -lscythe"
  guard=$pc_prefix/libexec/scythe/scythe-guard
fi
[[ -x $guard ]] && pass "guard installed at the .pc file's guard path" || fail "no executable guard at '$guard'"

bin=$prefix/spawn_cancel
# $flags unquoted: it is a list of flags.
# shellcheck disable=SC2086
if "$cc" -std=c11 -Wall -Wextra -Werror "$example" $flags -Wl,-rpath,"$prefix/lib" -o "$bin"; then
  pass "compiled with -std=c11 -Wall -Wextra -Werror $flags"
else
  fail "compile $example"
  finish
fi
needed=$( (readelf -d "$bin" 2>/dev/null || objdump -p "$bin" 2>/dev/null) | grep -o 'libscythe[^] ]*' | head -1)
[[ -z $needed || $needed == "libscythe.so.$major" ]] && pass "the program needs ${needed:-(not checked)}" ||
  fail "the program needs $needed, not libscythe.so.$major"

out=$(timeout 60 "$bin" "$guard" 2>&1)
status=$?
printf '%s\n' "$out" | sed 's/^/  | /'
(( status == 0 )) && pass "exit status 0" || fail "exit status $status"
check_line() { # PATTERN DESCRIPTION
  grep -Eq "$1" <<<"$out" && pass "$2" || fail "$2: no line matching /$1/"
}
check_line '^libscythe [0-9]+\.[0-9]+\.[0-9]+, ABI [0-9]+\.[0-9]+ ' "prints the loaded library's versions"
check_line '^guard: pid [1-9][0-9]*$' "started the installed guard"
check_line "^sh: EXITED, exit code 3\$" "sh -c 'exit 3' exited with 3"
check_line '^sleep: CANCELLED, reason 1, signal 15,' "sleep 30 ended CANCELLED with reason 1 (SIGTERM)"
check_line '^spawn_cancel: ok$' "the example says ok"
# Nothing of it left: the sleep was killed and reaped, and the guard left with the example's process (its lifeline
# broke). Their pids from the output; a process counts by its command line, so a recycled pid does not.
alive() { [[ -r /proc/$1/cmdline ]] && tr '\0' ' ' </proc/"$1"/cmdline | grep -q "^$2"; }
sleep_pid=$(sed -n 's/^spawned: sleep 30 (pid \([0-9]*\).*/\1/p' <<<"$out")
guard_pid=$(sed -n 's/^guard: pid \([0-9]*\)$/\1/p' <<<"$out")
for _ in 1 2 3 4 5 6 7 8 9 10; do
  { [[ -n $guard_pid ]] && alive "$guard_pid" scythe-guard; } || break
  sleep 0.1
done
if [[ -n $sleep_pid ]] && alive "$sleep_pid" "sleep 30"; then fail "sleep 30 (pid $sleep_pid) still runs"
else pass "sleep 30 is gone"; fi
if [[ -n $guard_pid ]] && alive "$guard_pid" scythe-guard; then fail "the guard (pid $guard_pid) still runs"
else pass "the guard is gone"; fi

finish
