#!/bin/sh
# tests/man/check.sh BUILD_DIR: the man pages in docs/man/ keep up with the binaries.
# - every --flag printed by `persistence_exporter --help` appears in persistence_exporter.1;
# - every subcommand and --flag printed by `persistencectl --help` appears in persistencectl.8,
#   each subcommand as a section heading (.SS NAME);
# - both pages render without a groff or man warning (what lintian checks too).
# Part of `make lint`. A new flag or subcommand fails it until the page says what it does.
set -u
cd "$(dirname "$0")/../.."
b=${1:-build}
fail=0

# Prints the page's text with roff's "\-" as "-", so flags can be searched literally.
page_text()
{
	sed 's/\\-/-/g; s/\\&//g' "$1"
}

# check_flags BINARY PAGE: every --flag of BINARY --help appears in PAGE.
check_flags()
{
	if ! help=$("$1" --help 2>&1); then
		echo "man: $1 --help failed" >&2
		fail=1
		return
	fi
	text=$(page_text "$2")
	for f in $(printf '%s\n' "$help" | grep -oE -- '--[a-z][a-z0-9.-]*[a-z0-9]' | sort -u); do
		if ! printf '%s\n' "$text" | grep -qF -- "$f"; then
			echo "man: $2 does not document $f (from $1 --help)" >&2
			fail=1
		fi
	done
}

for bin in "$b/persistence_exporter" "$b/persistencectl"; do
	if [ ! -x "$bin" ]; then
		echo "man: $bin is missing (build first: make)" >&2
		exit 1
	fi
done

check_flags "$b/persistence_exporter" docs/man/persistence_exporter.1
check_flags "$b/persistencectl" docs/man/persistencectl.8

# Subcommands: the words after "persistencectl " at the start of the usage lines.
text=$(page_text docs/man/persistencectl.8)
for cmd in $("$b/persistencectl" --help | sed -n 's/^ *persistencectl \([a-z][a-z0-9-]*\).*/\1/p' | sort -u); do
	if ! printf '%s\n' "$text" | grep -qx "\.SS $cmd"; then
		echo "man: docs/man/persistencectl.8 has no section '.SS $cmd' for the subcommand $cmd" >&2
		fail=1
	fi
done

for page in docs/man/persistence_exporter.1 docs/man/persistencectl.8; do
	out=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null)
	if [ -n "$out" ]; then
		printf 'man: %s renders with warnings:\n%s\n' "$page" "$out" >&2
		fail=1
	fi
done

[ $fail = 0 ] && echo "man: ok (every flag and subcommand documented)"
exit $fail
