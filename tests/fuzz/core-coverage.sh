#!/bin/bash
# core-coverage.sh BUILD SECONDS - what fuzz-core reaches of the portable
# core: the fuzzer built again with clang's source coverage, run for
# SECONDS from the seed corpus, then llvm-cov's line and branch figures
# for the core's files (kmod/), never pass/fail. `make fuzz-core-cov`.
set -euo pipefail
build=${1:?usage: core-coverage.sh BUILD SECONDS}
secs=${2:-60}
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$build/fuzz/core-cov
rm -rf "$out"
mkdir -p "$out/corpus"
cd "$top"
sim_src=$(make -s --no-print-directory print-SIM_SRC)
clang -std=gnu11 -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer \
	-fprofile-instr-generate -fcoverage-mapping \
	-Ikmod -Idaemon -Idaemon/vmm -Idaemon/vmm/sim \
	-o "$out/fuzz-core" tests/fuzz/fuzz-core.c $sim_src -lcrypto
LLVM_PROFILE_FILE="$out/fuzz.profraw" "$out/fuzz-core" -max_total_time="$secs" \
	-max_len=2048 -print_final_stats=1 "$out/corpus" tests/fuzz/corpus/core \
	>"$out/fuzz.log" 2>&1
grep -E 'stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added' "$out/fuzz.log" |
	sed 's/^/# /'
llvm-profdata merge -sparse -o "$out/fuzz.profdata" "$out/fuzz.profraw"
core=$(printf '%s\n' $sim_src | grep '^kmod/')
llvm-cov report "$out/fuzz-core" -instr-profile="$out/fuzz.profdata" $core |
	sed 's/^/# /'
