#!/bin/sh
# build-deb.sh OUTDIR [--version V] [--binary-only] [--no-lintian]
#
# Builds the Debian package (debian/) from a copy of this tree in OUTDIR/persistence-exporter/,
# so the work tree stays clean: dpkg-buildpackage leaves persistence-exporter_<version>.tar.xz,
# .dsc, _<arch>.deb, the -dbgsym .deb, .buildinfo and .changes in OUTDIR. Then lintian checks
# the .changes and fails on any error or warning (info tags are printed, not fatal).
#
# --version V   build version V instead of debian/changelog's: writes V to VERSION and adds a
#               changelog entry in the copy (the install test's upgrade package)
# --binary-only only the .deb files (dpkg-buildpackage -b)
# --no-lintian  skip lintian
#
# The copy holds the files git knows (tracked, or untracked and not ignored); outside a git
# checkout, everything but build/ and .git. `make deb` runs this; docs/packaging.md.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
out=
version=
bflag=
lint=1
while [ $# -gt 0 ]; do
	case $1 in
	--version) version=$2; shift ;;
	--binary-only) bflag=-b ;;
	--no-lintian) lint=0 ;;
	-*) echo "build-deb: unknown option $1" >&2; exit 2 ;;
	*) out=$1 ;;
	esac
	shift
done
[ -n "$out" ] || { echo "usage: build-deb.sh OUTDIR [--version V] [--binary-only] [--no-lintian]" >&2; exit 2; }
for tool in dpkg-buildpackage dh lintian; do
	command -v "$tool" >/dev/null || { echo "build-deb: $tool is missing (run deploy/install-deps.sh)" >&2; exit 1; }
done

mkdir -p "$out"
out=$(cd "$out" && pwd)
src=$out/persistence-exporter
rm -rf "$src"
rm -f "$out"/persistence-exporter_* "$out"/persistence-exporter-dbgsym_*
mkdir -p "$src"

# The build revision of the copy is this checkout's (the copy has no .git of its own).
revision=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$top" && git ls-files -z --cached --others --exclude-standard |
		xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
		tar --null -T - -cf -) | tar -xf - -C "$src"
else
	(cd "$top" && tar --exclude=./build --exclude=./.git -cf - .) | tar -xf - -C "$src"
fi

if [ -n "$version" ]; then
	printf '%s\n' "$version" >"$src/VERSION"
	maint=$(sed -n 's/^Maintainer: //p' "$src/debian/control")
	{
		printf 'persistence-exporter (%s) bookworm; urgency=medium\n\n' "$version"
		printf '  * Rebuild as version %s.\n\n' "$version"
		printf ' -- %s  %s\n\n' "$maint" "$(date -R)"
		cat "$top/debian/changelog"
	} >"$src/debian/changelog"
fi

want=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
have=$(cat "$src/VERSION")
if [ "$want" != "$have" ]; then
	echo "build-deb: debian/changelog is at $want but VERSION says $have; add a changelog entry" >&2
	exit 1
fi

# REVISION reaches the Makefile through the environment (debian/rules runs make).
(cd "$src" && REVISION=$revision dpkg-buildpackage -us -uc $bflag)

arch=$(dpkg --print-architecture)
deb=$out/persistence-exporter_${want}_$arch.deb
[ -f "$deb" ] || { echo "build-deb: $deb was not built" >&2; exit 1; }
if [ $lint = 1 ]; then
	changes=$(ls "$out"/persistence-exporter_"$want"_*.changes)
	echo "build-deb: lintian $changes"
	lintian --fail-on error,warning --info --display-info "$changes"
fi
echo "build-deb: $deb"
