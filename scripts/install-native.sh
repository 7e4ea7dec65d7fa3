#!/usr/bin/env bash
# Installs libscythe for C hosts (and Rust or Python bindings that link it) under a prefix:
#   PREFIX/include/scythe.h
#   PREFIX/lib/libscythe.so.X.Y.Z, with libscythe.so.<ABI major> (the soname) and libscythe.so (for -lscythe)
#   PREFIX/libexec/scythe/scythe-guard   (for scythe_guard_start; pkg-config --variable=guard scythe)
#   PREFIX/lib/pkgconfig/scythe.pc       (from native/scythe.pc.in)
# Usage: install-native.sh PREFIX
# It builds nothing: it installs the host architecture's files of the Maven build
# (native/target/classes/META-INF/native/linux-ARCH/), and refuses files older than the C sources
# (SCYTHE_INSTALL_STALE=1 installs them anyway). Running it again installs the same files again.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
native=$root/native
header=$native/include/scythe.h
arch=$(uname -m)
built=$native/target/classes/META-INF/native/linux-$arch

die() { echo "install-native: $*" >&2; exit 1; }

(( $# == 1 )) && [[ -n $1 ]] || { echo "usage: install-native.sh PREFIX" >&2; exit 2; }
[[ $1 != *[[:space:]]* ]] || die "PREFIX '$1' contains white space, which pkg-config files cannot hold"
prefix=$(realpath -m -- "$1") # absolute: the .pc file names it

lib=$built/libscythe.so
guard=$built/scythe-guard
if [[ ! -f $lib || ! -f $guard ]]; then
  die "no built library for linux-$arch in $built; build it first with
  scripts/mvn -B -ntp -pl native package     (the library, the guard and the C tests)
or, for the library and the guard alone,
  scripts/build-native.sh library"
fi
newer=$(find "$native/src" "$native/include" "$native/guard" -newer "$lib" -name '*.[ch]' 2>/dev/null | head -1)
if [[ -n $newer && -z ${SCYTHE_INSTALL_STALE:-} ]]; then
  die "$lib is older than ${newer#"$root"/}: rebuild it (scripts/build-native.sh library), or set
SCYTHE_INSTALL_STALE=1 to install it anyway"
fi

# The versions come from the header being installed: the release version names the file, the ABI major the soname.
macro() {
  local v
  v=$(sed -n "s/^#define $1 \\([0-9][0-9]*\\)\$/\\1/p" "$header")
  [[ -n $v ]] || die "no '#define $1 <number>' in $header"
  echo "$v"
}
version=$(macro SCYTHE_VERSION_MAJOR).$(macro SCYTHE_VERSION_MINOR).$(macro SCYTHE_VERSION_PATCH)
soname=libscythe.so.$(macro SCYTHE_ABI_MAJOR)

# The soname the library was linked with: what a program linked against it will ask the dynamic linker for.
actual=""
if command -v readelf >/dev/null 2>&1; then
  actual=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
elif command -v objdump >/dev/null 2>&1; then
  actual=$(objdump -p "$lib" | awk '$1 == "SONAME" {print $2}')
fi
if [[ -z $actual ]]; then
  echo "install-native: warning: cannot read the soname of $lib (no readelf or objdump, or none set)" >&2
elif [[ $actual != "$soname" ]]; then
  echo "install-native: warning: $lib has soname $actual, not $soname: programs linked against it will look for" \
       "$actual (rebuild with scripts/build-native.sh library)" >&2
fi

template=$native/scythe.pc.in
[[ -f $template ]] || die "missing $template"
pc=$(<"$template")
pc=${pc//@PREFIX@/"$prefix"}
pc=${pc//@VERSION@/"$version"}

install -d "$prefix/include" "$prefix/lib/pkgconfig" "$prefix/libexec/scythe" ||
  die "cannot create directories under $prefix"
install -m 0644 "$header" "$prefix/include/scythe.h"
install -m 0755 "$lib" "$prefix/lib/libscythe.so.$version"
ln -sfn "libscythe.so.$version" "$prefix/lib/$soname"
ln -sfn "$soname" "$prefix/lib/libscythe.so"
install -m 0755 "$guard" "$prefix/libexec/scythe/scythe-guard"
printf '%s\n' "$pc" >"$prefix/lib/pkgconfig/scythe.pc.tmp"
mv -f "$prefix/lib/pkgconfig/scythe.pc.tmp" "$prefix/lib/pkgconfig/scythe.pc"

if command -v pkg-config >/dev/null 2>&1; then
  got=$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --modversion scythe) ||
    die "pkg-config cannot read $prefix/lib/pkgconfig/scythe.pc"
  [[ $got == "$version" ]] || die "pkg-config reads version $got from scythe.pc, expected $version"
fi

echo "install-native: installed libscythe $version (soname $soname, linux-$arch) under $prefix:"
echo "  $prefix/include/scythe.h"
echo "  $prefix/lib/libscythe.so.$version, $soname -> libscythe.so.$version, libscythe.so -> $soname"
echo "  $prefix/libexec/scythe/scythe-guard"
echo "  $prefix/lib/pkgconfig/scythe.pc"
echo "install-native: compile with: cc prog.c \$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags --libs scythe)"
