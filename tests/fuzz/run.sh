#!/bin/sh
# tests/fuzz/run.sh SECONDS [TARGET...]: build contra's libFuzzer targets in build-fuzz (clang++,
# -DCONTRA_FUZZ=ON, Release with -g, -j1), write the seed corpora, run each target for SECONDS
# seconds (nice), and print a table: target, seconds, executions, result.
#   Each target starts from its seeds (a fresh corpus in build-fuzz/fuzz/corpus/TARGET); crash
#   inputs go to build-fuzz/fuzz/artifacts/, logs to build-fuzz/fuzz/logs/TARGET.log.
#   Environment: CONTRA_FUZZ_BUILD (build folder), CXX (default clang++).
#   Exit status: 0 when every target ran its time without a failure, 1 otherwise.
set -eu
seconds=${1:-60}
[ $# -gt 0 ] && shift
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${CONTRA_FUZZ_BUILD:-$root/build-fuzz}
work=$build/fuzz
targets=${*:-"fuzz_safetensors fuzz_hf_config fuzz_bpe_merges fuzz_idx fuzz_caption_table fuzz_tar_shard fuzz_image fuzz_tokenizer"}

max_len() {  # bytes per input, sized to each format's seeds
    case $1 in
        fuzz_safetensors) echo 8192 ;;
        fuzz_hf_config) echo 4096 ;;
        fuzz_bpe_merges) echo 16384 ;;
        fuzz_idx) echo 4096 ;;
        fuzz_caption_table) echo 4096 ;;
        fuzz_tar_shard) echo 16384 ;;
        fuzz_image) echo 16384 ;;
        fuzz_tokenizer) echo 2048 ;;
        *) echo 4096 ;;
    esac
}
dict() {
    case $1 in
        fuzz_safetensors) echo "-dict=$root/tests/fuzz/dicts/safetensors.dict" ;;
        fuzz_hf_config) echo "-dict=$root/tests/fuzz/dicts/hf_config.dict" ;;
        *) echo "" ;;
    esac
}

mkdir -p "$build"
cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER="${CXX:-clang++}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS=-g \
      -DCONTRA_FUZZ=ON -DCONTRA_CUDA=OFF -DCONTRA_MPI=OFF -DCONTRA_NATIVE=OFF >"$build/fuzz-configure.log" 2>&1 ||
    { cat "$build/fuzz-configure.log"; exit 1; }
for t in fuzz_seeds $targets; do
    nice -n 10 cmake --build "$build" -j1 --target "$t"
done
bin=$build/bin

rm -rf "$work/seeds" "$work/corpus"
mkdir -p "$work/seeds" "$work/corpus" "$work/artifacts" "$work/logs"
"$bin/fuzz_seeds" "$work/seeds"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
table=$work/table.txt
printf '%-20s %8s %12s  %s\n' target seconds executions result >"$table"
status=0
for t in $targets; do
    mkdir -p "$work/corpus/$t" "$work/seeds/$t"
    log=$work/logs/$t.log
    start=$(date +%s)
    rc=0
    # shellcheck disable=SC2046
    nice -n 10 "$bin/$t" -max_total_time="$seconds" -max_len=$(max_len "$t") -rss_limit_mb=2048 -timeout=30 \
        -print_final_stats=1 -artifact_prefix="$work/artifacts/$t-" $(dict "$t") \
        "$work/corpus/$t" "$work/seeds/$t" >"$log" 2>&1 || rc=$?
    took=$(( $(date +%s) - start ))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    [ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9][0-9]*\).*/\1/p' "$log" | tail -n 1)
    if [ "$rc" -eq 0 ]; then
        result="ok, corpus $(ls "$work/corpus/$t" | wc -l) inputs"
    else
        status=1
        why=$(grep -m1 -E '^==[0-9]+==ERROR|runtime error:|^SUMMARY|uncaught exception|deadly signal|out-of-memory|timeout after' "$log" |
              sed 's/^==[0-9]*==//' | cut -c1-110)
        artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
        result="FAILED (rc $rc): ${why:-see $log} ${artifact:+-> $artifact}"
    fi
    printf '%-20s %8s %12s  %s\n' "$t" "$took" "${execs:-?}" "$result" >>"$table"
done
echo
cat "$table"
exit $status
