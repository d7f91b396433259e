#!/usr/bin/env bash
# The project's test command (README, "Run the tests"; CI runs exactly this).
# Installs the Debian packages the tests need when run as root, then runs the
# whole suite. Without libpcap (not root, nothing installed) the suite runs
# without the `live` feature and says so; with CI=true it never does.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/install-deps.sh
features=()
have_libpcap() {
    { ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null; } | grep -q 'libpcap\.so ' ||
        ls /usr/lib/*/libpcap.so /usr/lib/libpcap.so /usr/local/lib/libpcap.so >/dev/null 2>&1
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
