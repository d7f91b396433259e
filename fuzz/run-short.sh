#!/bin/sh
# Short fuzz run for CI: each target for FUZZ_SECONDS (default 25) from the seed corpus.
# Exits non-zero when a target crashes (the crashing input is left in fuzz/artifacts/TARGET/).
# Installs cargo-fuzz only when it is missing. Needs a C++ compiler (libFuzzer is built from source).
#   fuzz/run-short.sh [TARGET...]
set -eu
cd "$(dirname "$0")"
secs="${FUZZ_SECONDS:-25}"
export RUSTC_BOOTSTRAP=1   # cargo-fuzz needs -Z flags; the stable toolchain accepts them this way
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install --locked cargo-fuzz
fi
[ -d corpus/dissect ] && [ -d corpus/capture_reader ] || ./seed-corpus.sh
targets="${*:-dissect capture_reader}"
status=0
for t in $targets; do
    echo "== fuzz $t for ${secs}s"
    # -a: debug assertions and overflow checks, so arithmetic overflow is a crash too
    if ! cargo fuzz run -O -a "$t" "corpus/$t" -- -max_total_time="$secs" -max_len=4096 -print_final_stats=1; then
        echo "fuzz target $t FAILED: see fuzz/artifacts/$t/" >&2
        status=1
    fi
done
exit $status
