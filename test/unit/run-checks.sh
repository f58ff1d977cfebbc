#!/usr/bin/env bash
# Runs the unit test programs and libFuzzer targets built in build/ and
# prints one TAP stream: every "ok"/"not ok" line renumbered in order, a
# "not ok" for any program that crashes or exits non-zero without saying
# why, "ok N - fuzz <target>" per fuzzer run, and a final plan line.
#   run-checks.sh FUZZ_SECONDS "unit programs" "fuzz targets"
set -u
cd "$(dirname "$0")"
secs="$1"; tests="$2"; fuzzers="$3"
n=0; failed=0
emit() {	# emit ok|not-ok description
    n=$((n + 1))
    if [ "$1" = ok ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}
for t in $tests; do
    out="$(ASAN_OPTIONS=detect_leaks=0 build/"$t" 2>&1)"; rc=$?
    bad_before=$failed
    while IFS= read -r line; do
        case "$line" in
            "ok "*)     emit ok "$t: ${line#* - }" ;;
            "not ok "*) emit notok "$t: ${line#* - }" ;;
            "1.."*)     ;;
            *)          echo "$line" ;;
        esac
    done <<<"$out"
    if [ $rc -ne 0 ] && [ $failed -eq $bad_before ]; then
        emit notok "$t exited with status $rc"
    fi
done
for f in $fuzzers; do
    seeds="corpus/${f#fuzz_}"; work="build/corpus-${f#fuzz_}"
    mkdir -p "$work"
    [ -d "$seeds" ] || seeds=""
    log="build/$f.log"
    if ASAN_OPTIONS=detect_leaks=1 build/"$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -max_len=4096 -print_final_stats=1 -artifact_prefix="build/$f-" "$work" $seeds >"$log" 2>&1; then
        runs=$(grep -aoE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$')
        emit ok "fuzz ${f#fuzz_} (${runs:-?} runs in ${secs}s)"
    else
        emit notok "fuzz ${f#fuzz_}"
        tail -40 "$log" | sed 's/^/# /'
    fi
done
echo "1..$n"
[ $failed -eq 0 ]
