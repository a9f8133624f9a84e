#!/bin/bash
# replay.sh FUZZER CORPUS_DIR [SECONDS] - run every corpus input through a
# libFuzzer target once (as `make check` does), then fuzz for SECONDS more
# (default 0: replay only). Prints TAP lines for tests/run-suite.sh.
fuzzer=${1:?usage: replay.sh FUZZER CORPUS_DIR [SECONDS]}
corpus=${2:?usage: replay.sh FUZZER CORPUS_DIR [SECONDS]}
secs=${3:-0}
name=$(basename "$fuzzer")
n=$(find "$corpus" -type f | wc -l)

if "$fuzzer" -runs=0 "$corpus" >"/tmp/$name.replay.log" 2>&1; then
	echo "ok - $name: $n corpus inputs replay cleanly"
else
	echo "not ok - $name: corpus replay failed"
	tail -30 "/tmp/$name.replay.log"
fi
if [ "$secs" -gt 0 ]; then
	work=$(mktemp -d)
	if "$fuzzer" -max_total_time="$secs" -max_len=4096 "$work" "$corpus" \
		>"/tmp/$name.fuzz.log" 2>&1; then
		echo "ok - $name: ${secs}s of fuzzing found nothing"
	else
		echo "not ok - $name: fuzzing found a crash"
		tail -40 "/tmp/$name.fuzz.log"
	fi
	rm -rf "$work"
fi
