#!/usr/bin/env bash
# The project's test command (README, "Run the tests"; CI runs exactly this).
# Installs the Debian packages the tests need when run as root, then runs the
# whole suite. Without libpcap (not root, nothing installed) the suite runs
# without the `live` feature and says so; with CI=true it never does.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/install-deps.sh
features=()
# (No `grep -q` on ldconfig's output: under pipefail, grep quitting at the first match can
# kill ldconfig with SIGPIPE and fail the pipeline. And one path at a time: `ls A B C`
# fails when any of them is missing.)
have_libpcap() {
    local f
    for f in /usr/lib/*/libpcap.so /lib/*/libpcap.so /usr/lib/libpcap.so /usr/local/lib/libpcap.so; do
        [ -e "$f" ] && return 0
    done
    { ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null || true; } | grep 'libpcap\.so ' >/dev/null
}
if ! have_libpcap; then
    if [ "${CI:-}" = true ]; then
        echo "tests/run.sh: libpcap-dev is missing under CI=true" >&2
        exit 1
    fi
    echo "tests/run.sh: libpcap-dev is not installed: testing without the 'live' feature" >&2
    features=(--no-default-features)
fi
exec cargo test --locked "${features[@]}"
