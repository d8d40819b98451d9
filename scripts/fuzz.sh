#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz, libFuzzer) of tx decoding, the ABCI
# handlers (CheckTx, PrepareProposal/ProcessProposal, FinalizeBlock+Commit),
# genesis parsing and the compute input decoders. Targets are in fuzz/.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#       Builds, then runs each target (all by default) for SECONDS_PER_TARGET
#       (default 30, as CI runs it). Fails if any target crashes, panics,
#       aborts, times out, allocates over the bound or exceeds its RSS limit.
#   scripts/fuzz.sh 3600
#       The longer run: an hour per target, before a release or after
#       touching a decoder or a message handler.
#   scripts/fuzz.sh --seeds
#       Rewrites the committed seed corpus fuzz/corpus/<target>/ from the
#       harness (fuzz/src/lib.rs); deterministic, so unchanged seeds stay.
#
# New inputs the fuzzer finds go to fuzz/target/corpus/<target>/ (not
# committed); reproducers of failures to fuzz/artifacts/<target>/. Replay one
# (DEAI_FUZZ_DEBUG=1 also prints each tx's result in abci_finalize_block),
# and minimize it, with the binaries this script built:
#   fuzz/target/x86_64-unknown-linux-gnu/release/<target> fuzz/artifacts/<target>/<file>
#   fuzz/target/x86_64-unknown-linux-gnu/release/<target> -minimize_crash=1 -runs=100000 \
#     -artifact_prefix=fuzz/artifacts/<target>/ fuzz/artifacts/<target>/<file>
# Once the bug is fixed, add the minimized input to fuzz/corpus/<target>/ as
# a regression seed. (`cargo fuzz run/tmin` work too, given -s none and the
# ROCKSDB_LIB_DIR this script sets; without it they rebuild RocksDB.)
#
# Stable Rust has no sanitizers, so targets are built with `-s none`:
# coverage instrumentation and debug assertions only. The allocation bound
# is enforced by the harness's allocator instead (fuzz/src/lib.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

CARGO_FUZZ_VERSION=0.13.2
TARGETS=(tx_decode compute_input genesis abci_check_tx abci_process_proposal abci_finalize_block)

seeds=0
secs=30
if [ "${1:-}" = "--seeds" ]; then
  seeds=1
  shift
elif [ -n "${1:-}" ]; then
  secs="$1"
  shift
fi
if [ "$#" -gt 0 ]; then
  TARGETS=("$@")
fi

# cargo-fuzz, built once into a cache kept between runs.
cache="${DEAI_CACHE_DIR:-$HOME/.cache/deai}/cargo-fuzz-$CARGO_FUZZ_VERSION"
if [ ! -x "$cache/bin/cargo-fuzz" ]; then
  cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION" --root "$cache"
fi
export PATH="$cache/bin:$PATH"

# The fuzz crate is a workspace of its own, yet must build every crate at the
# version the root Cargo.lock pins (the RocksDB archive below must match its
# bindings), so its lock file is the root one; fuzz/Cargo.toml pins the rest.
cp Cargo.lock fuzz/Cargo.lock

# Link the RocksDB archive the workspace build already compiled: building it
# again from source takes about 15 minutes on 2 cores. librocksdb-sys links a
# prebuilt library from ROCKSDB_LIB_DIR; its bindings must be those of the same
# version, so take the archive built from the version fuzz/Cargo.lock pins.
# It is copied because the workspace build may replace it while we link.
rocksdb_version=$(awk '/^name = "librocksdb-sys"$/ { getline; gsub(/"/, "", $3); print $3 }' fuzz/Cargo.lock)
archive=""
for output in "${CARGO_TARGET_DIR:-target}"/*/build/librocksdb-sys-*/output; do
  [ -f "$output" ] || continue
  if grep -q "librocksdb-sys-$rocksdb_version\$" "$output" && [ -f "$(dirname "$output")/out/librocksdb.a" ]; then
    archive="$(dirname "$output")/out/librocksdb.a"
  fi
done
if [ -n "$archive" ]; then
  mkdir -p fuzz/target/rocksdb
  cmp -s "$archive" fuzz/target/rocksdb/librocksdb.a || cp "$archive" fuzz/target/rocksdb/librocksdb.a
  export ROCKSDB_LIB_DIR="$PWD/fuzz/target/rocksdb" ROCKSDB_STATIC=1
else
  echo "fuzz: no librocksdb.a $rocksdb_version from the workspace build (run cargo build first); building RocksDB from source" >&2
fi

# `-s none`: no sanitizer (they need nightly). Release with debug assertions.
# The instrumented build keeps to fuzz/target, whatever CARGO_TARGET_DIR says.
start=$(date +%s)
env -u CARGO_TARGET_DIR cargo fuzz build -s none
echo "fuzz: build took $(( $(date +%s) - start )) s"

bin_dir="fuzz/target/$(rustc -vV | sed -n 's/^host: //p')/release"
if [ "$seeds" = 1 ]; then
  for t in "${TARGETS[@]}"; do
    DEAI_FUZZ_WRITE_SEEDS=fuzz/corpus "$bin_dir/$t"
    echo "fuzz: seeds of $t: $(ls fuzz/corpus/"$t" | wc -l) files"
  done
  exit 0
fi

# libFuzzer's -malloc_limit_mb needs a sanitizer runtime: without one it is
# the harness's allocator that refuses single allocations over 256 MiB.
# -rss_limit_mb catches growth in many small allocations; -timeout, hangs.
libfuzzer_flags=(
  -max_total_time="$secs"
  -rss_limit_mb=2048
  -malloc_limit_mb=256
  -timeout=25
  -print_final_stats=1
)

failed=()
logs=fuzz/target/logs
mkdir -p "$logs"
for t in "${TARGETS[@]}"; do
  mkdir -p "fuzz/target/corpus/$t" "fuzz/corpus/$t" "fuzz/artifacts/$t"
  log="$logs/$t.log"
  start_mark="$logs/$t.start"
  touch "$start_mark"
  # The binaries run directly rather than through `cargo fuzz run`, which
  # would rebuild first. The first corpus directory receives new inputs;
  # the committed seeds are only read.
  if "$bin_dir/$t" -artifact_prefix="fuzz/artifacts/$t/" "${libfuzzer_flags[@]}" \
       "fuzz/target/corpus/$t" "fuzz/corpus/$t" >"$log" 2>&1; then
    status=ok
  else
    status=FAILED
    failed+=("$t")
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*' "$log" | tail -1 || true)
  echo "fuzz $t: $status, ${runs:-?} runs in ${secs} s (${rate:-?}/s), ${cov:-no coverage line}, peak RSS ${rss:-?} MB"
  if [ "$status" = FAILED ]; then
    grep -v '^WARNING: Failed to find function' "$log" | tail -n 40 | sed "s/^/  $t| /"
    echo "  reproducer(s): $(find "fuzz/artifacts/$t" -type f -newer "$start_mark" | tr '\n' ' ')"
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (full logs in $logs/)"
  exit 1
fi
echo "fuzz: all ${#TARGETS[@]} targets ran ${secs} s each without a failure"
