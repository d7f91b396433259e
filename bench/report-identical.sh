#!/usr/bin/env bash
# Checks that `pcap --analyze` writes byte-identical output before and after a
# change (the report code was rewritten for speed; its text must not move).
#
#   bash bench/report-identical.sh save  DIR [BIN]   # reference outputs into DIR
#   bash bench/report-identical.sh check DIR [BIN]   # same runs, `cmp` against DIR
#
# BIN defaults to target/release/teredo-tool. Every capture in testdata/
# (recursively), the lab captures in /work/shared/captures, the third-party
# captures in /work/shared/captures/real (read in place) and, when present,
# the 100k-packet generated capture, each in table (plain and coloured),
# json, ndjson and json/table with --summary; then pairs of files (frame
# numbers become "FILE:FRAME"). Exit status and stderr are compared too.
set -uo pipefail
cd "$(dirname "$0")/.."
mode=${1:?save or check}
ref=${2:?directory}
bin=${3:-target/release/teredo-tool}
gen=${GEN:-/tmp/teredo-tool-bench/gen-1000000-1-first100000.pcap}

caps=()
while IFS= read -r f; do caps+=("$f"); done < <(find testdata -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.gz' \) | sort)
for f in /work/shared/captures/*.pcapng /work/shared/captures/real/*.pcap /work/shared/captures/real/*.pcapng; do
    [ -f "$f" ] && caps+=("$f")
done
[ -f "$gen" ] && caps+=("$gen")

case $mode in
save) out=$ref; mkdir -p "$out" ;;
check) out=$(mktemp -d) ;;
*) echo "mode: save or check" >&2; exit 2 ;;
esac

modes=("table:" "color:--color always" "json:--format json" "ndjson:--format ndjson"
    "jsonsum:--format json --summary" "tablesum:--summary")
n=0
run() { # NAME ARGS... (files last)
    local name=$1; shift
    "$bin" pcap --analyze -q "$@" > "$out/$name.out" 2> "$out/$name.err"
    echo $? > "$out/$name.rc"
    n=$((n + 1))
}
key() { echo "$1" | tr '/' '_'; }
for f in "${caps[@]}"; do
    for m in "${modes[@]}"; do
        # shellcheck disable=SC2086
        run "$(key "$f").${m%%:*}" ${m#*:} "$f"
    done
done
# Two files at once: each capture with the next one, and the last with itself.
for i in "${!caps[@]}"; do
    a=${caps[$i]}
    b=${caps[$(((i + 1) % ${#caps[@]}))]}
    for m in "table:" "json:--format json" "ndjson:--format ndjson"; do
        # shellcheck disable=SC2086
        run "pair-$(key "$a")+$(key "$b").${m%%:*}" ${m#*:} "$a" "$b"
    done
done

if [ "$mode" = save ]; then
    echo "saved $n runs ($(du -sh "$out" | cut -f1)) in $out"
    exit 0
fi
bad=0
for f in "$ref"/*; do
    g="$out/$(basename "$f")"
    if ! cmp -s "$f" "$g"; then
        echo "DIFFERS: $(basename "$f")"
        bad=$((bad + 1))
    fi
done
[ "$(ls "$ref" | wc -l)" = "$(ls "$out" | wc -l)" ] || { echo "file count differs"; bad=$((bad + 1)); }
echo "$n runs, $(ls "$ref" | wc -l) files compared, $bad differ"
rm -rf "$out"
[ $bad = 0 ]
