#!/usr/bin/env bash
# The dashboard page in headless Chromium, fed by the real server (run by .ci/run).
#
# Usage: tests/page/run.sh --python PY --server BIN --cli BIN --db DB --truth TRUTH --now NOW --out DIR
#   PY     a Python with the MCP SDK (mcp 2.x)
#   BIN    the self-healing-mcp and self-heal binaries
#   DB     a history planted by tests/fixtures/plant_history.py, TRUTH its truth file
#   NOW    the RFC 3339 instant the fixture was planted for (SELFHEAL_NOW)
#   DIR    gets recorded/ (the ui:// resource, the recorded tool results, full and summary,
#          report.html) and screenshots/ (one PNG per view, summary cases included)
#
# Installs Chromium with apt-get when `chromium` is not on PATH (as root, on Debian), and
# puppeteer-core (pinned) into $PAGE_CHECK_PREFIX (default target/page-check) unless that
# version is there already. Then tests/page/capture.py records the server's answers and
# tests/page/check.cjs checks what the page draws from them: the full results with their charts;
# the summary results without any chart, and fetched in full through a host that proxies
# tools/call (see check.cjs).
set -euo pipefail

PUPPETEER_VERSION=24.43.1
PREFIX=${PAGE_CHECK_PREFIX:-target/page-check}

usage() { echo "usage: $0 --python PY --server BIN --cli BIN --db DB --truth TRUTH --now NOW --out DIR" >&2; exit 2; }
PY="" SERVER="" CLI="" DB="" TRUTH="" NOW="" OUT=""
while [[ $# -gt 0 ]]; do
    [[ $# -ge 2 ]] || usage
    case $1 in
        --python) PY=$2 ;;
        --server) SERVER=$2 ;;
        --cli) CLI=$2 ;;
        --db) DB=$2 ;;
        --truth) TRUTH=$2 ;;
        --now) NOW=$2 ;;
        --out) OUT=$2 ;;
        *) usage ;;
    esac
    shift 2
done
for v in "$PY" "$SERVER" "$CLI" "$DB" "$TRUTH" "$NOW" "$OUT"; do [[ -n $v ]] || usage; done
command -v node >/dev/null || { echo "node is needed for the browser check" >&2; exit 2; }

if ! command -v chromium >/dev/null; then
    if ! command -v apt-get >/dev/null; then
        echo "chromium is not installed and apt-get is not available to install it;" \
            "install Chromium (so that \`chromium\` is on PATH) and run again" >&2
        exit 2
    fi
    if [[ $(id -u) -ne 0 ]]; then
        echo "chromium is not installed; run as root to let this step install it, or:" \
            "apt-get update && apt-get install -y --no-install-recommends chromium" >&2
        exit 2
    fi
    echo "installing chromium with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
CHROMIUM=$(command -v chromium)

installed_version() {
    local pkg="$PREFIX/node_modules/puppeteer-core/package.json"
    if [[ -f $pkg ]]; then
        node -e 'console.log(require(require("path").resolve(process.argv[1])).version)' "$pkg" || true
    fi
}
if [[ $(installed_version) != "$PUPPETEER_VERSION" ]]; then
    echo "installing puppeteer-core@$PUPPETEER_VERSION into $PREFIX"
    mkdir -p "$PREFIX"
    npm install --prefix "$PREFIX" --save-exact --no-audit --no-fund --loglevel=error \
        "puppeteer-core@$PUPPETEER_VERSION" >&2
    [[ $(installed_version) == "$PUPPETEER_VERSION" ]] || { echo "puppeteer-core did not install" >&2; exit 2; }
fi

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rm -rf "$OUT/recorded" "$OUT/screenshots"
mkdir -p "$OUT/recorded" "$OUT/screenshots"
echo "-- recording the server's answers (official Python SDK, MCP Apps extension declared)"
"$PY" "$HERE/capture.py" --server "$SERVER" --cli "$CLI" --db "$DB" --truth "$TRUTH" --now "$NOW" \
    --out "$OUT/recorded"
echo "-- the page in $("$CHROMIUM" --version 2>/dev/null || echo chromium)"
node "$HERE/check.cjs" --modules "$PREFIX/node_modules" --chromium "$CHROMIUM" \
    --recorded "$OUT/recorded" --out "$OUT/screenshots"
echo "screenshots: $OUT/screenshots"
