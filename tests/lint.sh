#!/bin/sh
# make lint: formatting, banned functions, rule and dashboard checks.
set -u
cd "$(dirname "$0")/.."
fail=0

files=$(ls exporter/*.c exporter/*.h exporter/*/*.c exporter/*/*.h tests/unit/*.c tests/unit/*.h tests/fuse/*.c 2>/dev/null)
if ! command -v clang-format >/dev/null; then
	echo "lint: clang-format is missing (run deploy/install-deps.sh)" >&2
	exit 1
fi
if ! clang-format --dry-run -Werror $files 2>/tmp/pe-lint.$$; then
	head -n 20 /tmp/pe-lint.$$ >&2
	echo "lint: formatting differs; run 'make format'" >&2
	fail=1
fi
rm -f /tmp/pe-lint.$$

# Banned: unbounded or error-blind libc calls.
banned='\b(sprintf|vsprintf|strcpy|strcat|atoi|atol|atof|strtok|gets|strncpy)[[:space:]]*\('
if grep -nE "$banned" exporter/*.c exporter/*.h exporter/*/*.c exporter/*/*.h; then
	echo "lint: banned function used (see above)" >&2
	fail=1
fi

if ls rules/*.yml >/dev/null 2>&1; then
	if ! promtool check rules rules/*.yml >/tmp/pe-lint.$$ 2>&1; then
		cat /tmp/pe-lint.$$ >&2
		fail=1
	fi
	rm -f /tmp/pe-lint.$$
fi
# Deployment examples: Prometheus scrape/rules snippet, Alertmanager routing (severity -> receiver).
if [ -f deploy/prometheus/prometheus-snippet.yml ]; then
	promtool check config deploy/prometheus/prometheus-snippet.yml >/tmp/pe-lint.$$ 2>&1 || { cat /tmp/pe-lint.$$ >&2; fail=1; }
fi
am=deploy/alertmanager/alertmanager-example.yml
if [ -f $am ]; then
	amtool check-config $am >/tmp/pe-lint.$$ 2>&1 || { cat /tmp/pe-lint.$$ >&2; fail=1; }
	for want in "pager severity=critical alertname=PVEBackupJobOverdue" "ticket severity=warning" "blackhole severity=info"; do
		set -- $want
		got=$(amtool config routes test --config.file=$am "$2" ${3:-} 2>/dev/null)
		[ "$got" = "$1" ] || { echo "lint: $am routes '$2 ${3:-}' to '$got', want '$1'" >&2; fail=1; }
	done
fi
rm -f /tmp/pe-lint.$$
if [ -x tests/dashboards/lint.py ] || [ -f tests/dashboards/lint.py ]; then
	python3 tests/dashboards/lint.py || fail=1
	python3 tests/dashboards/test_lint.py 2>/tmp/pe-lint.$$ || { cat /tmp/pe-lint.$$ >&2; fail=1; }
	rm -f /tmp/pe-lint.$$
fi
[ $fail = 0 ] && echo "lint: ok"
exit $fail
