#!/bin/sh
# run.sh - runs each libFuzzer harness (built by `make fuzz`) for FUZZ_SECONDS; prints exec/s, executions and crashes per harness.
# Usage: tests/fuzz/run.sh target...     (FUZZ_SECONDS, default 30; FUZZ_MERGE=1 minimises the corpus afterwards)
set -u
cd "$(dirname "$0")/../.."
secs=${FUZZ_SECONDS:-30}
bin=build/fuzz/fuzz
fail=0
summary=""
# CPU seconds of this shell's finished children (the machine is shared: wall-clock exec/s depends on the load).
# (times must run in this shell, not in a $(...) subshell, which has no children of its own)
times_file=$(mktemp)
trap 'rm -f "$times_file"' EXIT
child_cpu() {
	awk 'NR == 2 { split($1, u, "m"); split($2, s, "m"); printf "%.2f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$times_file"
}
for t in "$@"; do
	out=tests/fuzz/out/$t
	mkdir -p "$out/new" "$out/artifacts" tests/fuzz/corpus/$t
	log=$out/fuzz.log
	echo "== fuzz_$t for ${secs}s"
	times >"$times_file"
	cpu0=$(child_cpu)
	SRCDIR=$PWD "$bin/fuzz_$t" -max_total_time="$secs" -print_final_stats=1 -timeout=25 -rss_limit_mb=4096 \
		-max_len=65536 -artifact_prefix="$out/artifacts/" "$out/new" tests/fuzz/corpus/$t >"$log" 2>&1
	rc=$?
	times >"$times_file"
	cpu=$(awk -v a="$(child_cpu)" -v b="$cpu0" 'BEGIN { printf "%.1f", a - b }')
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	crashes=$(ls "$out/artifacts" 2>/dev/null | wc -l)
	if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
		fail=1
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -n 5
		echo "   artifacts in $out/artifacts (log: $log)"
	fi
	if [ "${FUZZ_MERGE:-0}" = 1 ]; then
		rm -rf "$out/merged" && mkdir -p "$out/merged"
		SRCDIR=$PWD "$bin/fuzz_$t" -merge=1 "$out/merged" tests/fuzz/corpus/$t "$out/new" >>"$log" 2>&1 &&
			rm -rf tests/fuzz/corpus/$t && mv "$out/merged" tests/fuzz/corpus/$t
	fi
	summary="$summary
fuzz_$t: ${rate:-0} exec/s ($(awk -v n="${execs:-0}" -v c="$cpu" 'BEGIN { printf "%.0f", (c > 0 ? n / c : 0) }') per CPU second), ${execs:-0} executions in ${cpu} CPU s, $crashes crash artifacts, exit $rc"
done
echo "== summary$summary"
exit $fail
