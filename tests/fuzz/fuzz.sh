#!/usr/bin/env bash
# fuzz.sh - build the libFuzzer targets with clang and run each for a bounded time
#
# usage: tests/fuzz/fuzz.sh [TARGET ...]        (default: every fuzz_*.c here)
#   FUZZ_SECONDS  seconds per target [60]      FUZZ_JOBS  parallel targets [1]
#   FUZZ_BUILDDIR where the instrumented build lives [<top>/build/fuzz]
#   FUZZ_CC       [clang]
#
# The parsers are compiled with -fsanitize=fuzzer-no-link,address,undefined:
# the tree is copied (tracked + untracked, not ignored files: the developer's
# in-source build is not disturbed) into FUZZ_BUILDDIR/src, configured there
# with clang, and only the libraries are built.  Each target then runs
# on a working corpus (FUZZ_BUILDDIR/corpus/T, seeded from
# tests/fuzz/corpus/T and tests/fuzz/regress/T).  A crash stops the run with
# exit 1 and leaves its input as FUZZ_BUILDDIR/crash-T-*: fix the bug and
# copy the input into tests/fuzz/regress/T/ so make check replays it.
set -euo pipefail

FUZZ_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$FUZZ_DIR/../.." && pwd)
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_JOBS=${FUZZ_JOBS:-1}
FUZZ_CC=${FUZZ_CC:-clang}
B=${FUZZ_BUILDDIR:-$TOP/build/fuzz}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"

# the daemon's internal libraries, in link order (gatewayd/Makefile.am)
GW_LIBS="libgwweb.a libgwscan.a libgwreceiver.a libgwrouter.a libgwworker.a libgwmaster.a libgwcommon.a"

log() { printf 'fuzz: %s\n' "$*" >&2; }

command -v "$FUZZ_CC" >/dev/null || { log "$FUZZ_CC not found (apt-get install clang)"; exit 1; }

# copy_tree - the source files of the tree into $B/src, keeping mtimes
copy_tree() {
	mkdir -p "$B/src"
	if git -C "$TOP" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		(cd "$TOP" && git ls-files -z -co --exclude-standard) |
		    (cd "$TOP" && tar --null -T - -cf -) | tar -xpf - -C "$B/src"
	else
		(cd "$TOP" && tar --exclude=./build -cf - .) | tar -xpf - -C "$B/src"
	fi
}

# build_libs - configure with clang (once) and build the libraries
build_libs() {
	if [ ! -f "$B/src/config.status" ]; then
		log "configuring an instrumented build in $B/src"
		(cd "$B/src" && ./autogen.sh >/dev/null 2>&1 &&
		 ./configure -q CC="$FUZZ_CC" \
		     CFLAGS="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link $SAN")
	fi
	make -s -C "$B/src" config.h >/dev/null
	make -s -C "$B/src/include" >/dev/null
	make -s -C "$B/src/spool" libspool.a >/dev/null 2>&1 || make -C "$B/src/spool" libspool.a
	for l in $GW_LIBS; do
		make -s -C "$B/src/gatewayd" "$l" >/dev/null 2>&1 || make -C "$B/src/gatewayd" "$l"
	done
}

# libs - every *_LIBS the configured gatewayd/Makefile links with
libs() {
	# the values configure substituted (pkg-config), not automake's own lists
	grep -E '^[A-Z0-9_]+_LIBS = ' "$B/src/gatewayd/Makefile" | grep -v -E '\$\(|\\$|\.a( |$)' |
	    sed 's/^[A-Z0-9_]* = //' | tr '\n' ' '
	sed -n 's/^LIBS = \(.*\)$/\1/p' "$B/src/gatewayd/Makefile"
}

# build_target T - link fuzz_T
build_target() {
	local t=$1 s=$B/src
	# shellcheck disable=SC2046
	"$FUZZ_CC" -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer $SAN \
	    -I"$s" -I"$s/include" -I"$s/spool" \
	    $(for d in lib scan master receiver router recognizer worker ctl web; do
	    	printf -- '-I%s ' "$s/gatewayd/$d"; done) \
	    $(sed -n 's/^GMIME_CFLAGS = //p' "$s/gatewayd/Makefile") \
	    -o "$B/fuzz_$t" "$s/tests/fuzz/fuzz_$t.c" \
	    $(for l in $GW_LIBS; do printf '%s ' "$s/gatewayd/$l"; done) \
	    "$s/spool/libspool.a" $(libs)
}

# run_target T - fuzz T for FUZZ_SECONDS; 0 if no crash
run_target() {
	local t=$1 c=$B/corpus/$1 rc=0
	mkdir -p "$c"
	log "$t: ${FUZZ_SECONDS}s"
	(cd "$B" && "./fuzz_$t" -max_total_time="$FUZZ_SECONDS" -timeout=10 \
	    -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
	    -artifact_prefix="$B/crash-$t-" "$c" "$FUZZ_DIR/corpus/$t" \
	    $( [ -d "$FUZZ_DIR/regress/$t" ] && echo "$FUZZ_DIR/regress/$t" ) \
	    > "$B/fuzz_$t.log" 2>&1) || rc=$?
	if [ "$rc" -ne 0 ]; then
		log "$t: FAILED (exit $rc), last lines of $B/fuzz_$t.log:"
		tail -n 40 "$B/fuzz_$t.log" >&2
		return 1
	fi
	log "$t: ok, $(grep -o 'stat::number_of_executed_units: [0-9]*' "$B/fuzz_$t.log" | awk '{print $2}') runs"
}

targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
	for f in "$FUZZ_DIR"/fuzz_*.c; do
		t=$(basename "$f" .c); targets+=("${t#fuzz_}")
	done
fi
mkdir -p "$B"
copy_tree
build_libs
for t in "${targets[@]}"; do
	[ -f "$FUZZ_DIR/fuzz_$t.c" ] || { log "no target $t"; exit 1; }
	build_target "$t"
done
status=0
if [ "$FUZZ_JOBS" -gt 1 ]; then
	pids=()
	for t in "${targets[@]}"; do run_target "$t" & pids+=($!); done
	for p in "${pids[@]}"; do wait "$p" || status=1; done
else
	for t in "${targets[@]}"; do run_target "$t" || status=1; done
fi
exit "$status"
