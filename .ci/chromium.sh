#!/usr/bin/env bash
# Debian's Chromium for the timeline page's browser tests (tests/test_timeline_browser.py).
#
# Source it from .ci/run (after the venv is activated, before pytest):
#     source .ci/chromium.sh
# or run it (`bash .ci/chromium.sh`) and eval the line it prints.
#
# What it does, idempotently:
#   1. installs Debian's `chromium` and `chromium-driver` packages when no chromium binary is
#      found (apt-get update; apt-get install -y chromium chromium-driver) -- needs root;
#   2. checks that the browser starts headless (--version);
#   3. exports QQGATE_CHROMIUM=<its path> and QQGATE_REQUIRE_BROWSER=1, so that the browser
#      tests fail instead of skipping when the browser is missing, and prints the export line.
# The Python side (playwright, in the test extra) drives this binary; it downloads no browser.
# Any failure prints "chromium.sh: ..." on stderr and returns/exits 1.

_qqgate_chromium_setup() {
    local bin=""
    _qqgate_chromium_bin() {
        local c
        for c in chromium chromium-browser; do
            if command -v "$c" >/dev/null 2>&1; then command -v "$c"; return 0; fi
        done
        return 1
    }
    bin="$(_qqgate_chromium_bin || true)"
    if [ -z "$bin" ]; then
        if [ "$(id -u)" != 0 ]; then
            echo "chromium.sh: Chromium is not installed and this is not root (apt-get needs root)" >&2
            return 1
        fi
        echo "chromium.sh: installing Debian's chromium and chromium-driver packages" >&2
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || {
            echo "chromium.sh: apt-get update failed" >&2; return 1; }
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null || {
            echo "chromium.sh: apt-get install chromium chromium-driver failed" >&2; return 1; }
        bin="$(_qqgate_chromium_bin || true)"
        if [ -z "$bin" ]; then
            echo "chromium.sh: chromium installed but not found on PATH" >&2; return 1
        fi
    fi
    if ! "$bin" --headless --no-sandbox --disable-gpu --version >/dev/null 2>&1; then
        echo "chromium.sh: $bin does not start (--version failed)" >&2; return 1
    fi
    export QQGATE_CHROMIUM="$bin" QQGATE_REQUIRE_BROWSER=1
    echo "export QQGATE_CHROMIUM=$QQGATE_CHROMIUM QQGATE_REQUIRE_BROWSER=1"
}

if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
    _qqgate_chromium_setup || return 1
else
    set -uo pipefail
    _qqgate_chromium_setup || exit 1
fi
