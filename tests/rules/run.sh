#!/bin/sh
# Checks the bundled Prometheus rules: syntax, promtool unit tests (incl. the incident replay), the
# record-and-replay test of the real exporter (needs build/persistence_exporter: make rules builds it), runbooks.
set -u
cd "$(dirname "$0")/../.."
fail=0

if ! command -v promtool >/dev/null 2>&1; then
	echo "rules: promtool is missing (run deploy/install-deps.sh)" >&2
	exit 1
fi
promtool --version 2>&1 | head -n 1

echo "rules: promtool check rules"
promtool check rules rules/*.yml || fail=1

echo "rules: promtool test rules"
promtool test rules rules/tests/*.yml || fail=1

echo "rules: record and replay (the real exporter's output through the bundled rules)"
python3 tests/rules/replay.py || fail=1

echo "rules: runbook check"
python3 tests/rules/check_runbooks.py . || fail=1

echo "rules: shorten_for.py self-test"
tmp=$(mktemp -d)
if python3 tests/rules/shorten_for.py "$tmp" >/dev/null &&
	promtool check rules "$tmp"/*.yml >/dev/null &&
	! grep -Eq '^[[:space:]]*for:[[:space:]]*[1-9]' "$tmp"/*.yml &&
	grep -Eq '^[[:space:]]*for:[[:space:]]*[1-9]' rules/*.yml; then
	:
else
	echo "rules: shorten_for.py did not produce valid rules with for: 0s" >&2
	fail=1
fi
rm -rf "$tmp"

if [ "$fail" != 0 ]; then
	echo "rules: FAILED" >&2
	exit 1
fi
echo "rules: all checks passed"
