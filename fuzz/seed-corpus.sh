#!/bin/sh
# Build the seed corpora from the project's own captures (testdata/): whole files for
# `capture_reader`, single frames (plus fragment sets) for `dissect`. Optionally adds a small
# generated capture (gencap, 3000 packets, seed 7) for a realistic traffic mix.
#   fuzz/seed-corpus.sh            (from the repository root or from fuzz/)
set -eu
cd "$(dirname "$0")"
root=..
mkdir -p corpus/capture_reader corpus/dissect
extra=""
if [ "${NO_GENCAP:-0}" != 1 ]; then
    (cd "$root" && cargo run --quiet --release --example gencap -- --packets 3000 --seed 7 -o fuzz/corpus/gencap-3000.pcap \
        && cargo run --quiet --release --example gencap -- --packets 40 --seed 7 -o fuzz/corpus/capture_reader/gencap-40.pcap)
    gzip -c corpus/capture_reader/gencap-40.pcap > corpus/capture_reader/gencap-40.pcap.gz
    extra="corpus/gencap-3000.pcap"
fi
for f in "$root"/testdata/*.pcap* "$root"/testdata/generated/*.pcap*; do
    cp "$f" corpus/capture_reader/
done
# shellcheck disable=SC2086
(cd "$root" && cargo run --quiet --release --example fuzz_seeds -- fuzz/corpus/dissect testdata/*.pcap* testdata/generated/*.pcap* ${extra:+fuzz/$extra})
echo "seed corpus: $(ls corpus/capture_reader | wc -l) capture files, $(ls corpus/dissect | wc -l) frames"
