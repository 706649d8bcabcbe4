#!/usr/bin/env bash
# Drive the self-healing-mcp server binary with the MCP Inspector CLI (an outside client).
#
# Usage: tests/clients/inspector_check.sh BIN DB NOW
#   BIN  the server binary (e.g. target/release/self-healing-mcp)
#   DB   a run-history SQLite file (e.g. planted by tests/fixtures/plant_history.py)
#   NOW  an RFC 3339 instant passed as SELFHEAL_NOW
#
# The Inspector is pinned (@modelcontextprotocol/inspector@2.12.0: unpinned, npx picks an old
# CLI that exits 0 even on errors) and installed once into $INSPECTOR_PREFIX (default
# target/inspector); an existing install of that version is reused.
# Inspector CLI exit codes: 0 ok, 5 the tool result has isError (or the tool is unknown),
# 1 a JSON-RPC error.
#
# Checks: tools/list lists the seven analysis tools (with output schemas); each of them
# answers a valid tools/call with exit 0 and structuredContent; bad inputs exit 5 with an
# isError result. Prints one line per check and finally `N passed, M failed`; exits 1 on any
# failure.
set -euo pipefail

if [[ $# -ne 3 ]]; then
    echo "usage: $0 BIN DB NOW" >&2
    exit 2
fi
abspath() { (cd "$(dirname "$1")" && printf '%s/%s\n' "$(pwd)" "$(basename "$1")"); }
BIN=$(abspath "$1")
DB=$(abspath "$2")
NOW=$3
[[ -x $BIN ]] || { echo "not an executable: $BIN" >&2; exit 2; }
[[ -f $DB ]] || { echo "not a file: $DB" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 is needed to read the Inspector's JSON" >&2; exit 2; }

INSPECTOR_VERSION=2.12.0
PREFIX=${INSPECTOR_PREFIX:-target/inspector}
CALL_TIMEOUT=${INSPECTOR_CALL_TIMEOUT:-120}

installed_version() {
    local pkg="$PREFIX/node_modules/@modelcontextprotocol/inspector/package.json"
    if [[ -f $pkg ]]; then
        python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$pkg" || true
    fi
}
if [[ $(installed_version) != "$INSPECTOR_VERSION" ]]; then
    echo "installing @modelcontextprotocol/inspector@$INSPECTOR_VERSION into $PREFIX"
    mkdir -p "$PREFIX"
    npm install --prefix "$PREFIX" --save-exact --no-audit --no-fund --loglevel=error \
        "@modelcontextprotocol/inspector@$INSPECTOR_VERSION" >&2
    [[ $(installed_version) == "$INSPECTOR_VERSION" ]] || { echo "the Inspector did not install" >&2; exit 2; }
fi
INSPECTOR="$(abspath "$PREFIX")/node_modules/.bin/mcp-inspector"
[[ -x $INSPECTOR ]] || INSPECTOR="$(abspath "$PREFIX")/node_modules/.bin/inspector"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/inspector-check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# Keep the Inspector's catalog and client config out of $HOME.
export MCP_CATALOG_PATH="$WORK/catalog.json" MCP_CLIENT_CONFIG_PATH="$WORK/client.json"
SERVER_ENV=(-e "DATABASE_PATH=$DB" -e "SELFHEAL_NOW=$NOW" -e "SELFHEAL_INDEX_DIR=$WORK/index" -e "RUST_LOG=warn")

# show OUT: a one-line excerpt of what the Inspector printed (its JSON, else its stderr).
show() {
    if [[ -s $1 ]]; then
        tail -c 300 "$1" | tr '\n' ' '
    else
        grep -v -e 'unknown format' -e 'npm warn' "$1.err" 2>/dev/null | tail -c 300 | tr '\n' ' ' || true
    fi
}

PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "PASS $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $1${2:+: $2}"; }

# inspect OUT -- inspector arguments...: runs the CLI, JSON on OUT, stderr on OUT.err; returns its exit code.
inspect() {
    local out=$1
    shift
    local rc=0
    timeout "$CALL_TIMEOUT" "$INSPECTOR" --cli "$BIN" "${SERVER_ENV[@]}" --format json "$@" \
        >"$out" 2>"$out.err" || rc=$?
    return "$rc"
}

# json_check MODE FILE [ARG]: asserts on the Inspector's JSON output; prints a reason on failure.
json_check() {
    python3 - "$@" <<'PY'
import json, sys
mode, path = sys.argv[1], sys.argv[2]
arg = sys.argv[3] if len(sys.argv) > 3 else None
try:
    doc = json.load(open(path, encoding="utf-8"))
except Exception as e:
    print(f"output is not JSON ({e}): {open(path, encoding='utf-8', errors='replace').read()[:300]!r}")
    sys.exit(1)
res = doc.get("result") if isinstance(doc, dict) else None
if mode == "tools":
    want = set(arg.split(","))
    tools = (res or {}).get("tools") or []
    names = {t.get("name") for t in tools}
    if not want <= names:
        print(f"missing {sorted(want - names)}; listed {sorted(n for n in names if n)}"); sys.exit(1)
    bad = [t["name"] for t in tools if t.get("name") in want and not isinstance(t.get("outputSchema"), dict)]
    if bad:
        print(f"no outputSchema: {bad}"); sys.exit(1)
elif mode == "structured":
    if not isinstance(res, dict) or res.get("isError"):
        print(f"not a successful result: {json.dumps(doc)[:300]}"); sys.exit(1)
    if not isinstance(res.get("structuredContent"), dict):
        print(f"no structuredContent object: {json.dumps(res)[:300]}"); sys.exit(1)
elif mode == "is_error":
    if not isinstance(res, dict) or res.get("isError") is not True:
        print(f"not an isError result: {json.dumps(doc)[:300]}"); sys.exit(1)
    text = " ".join(b.get("text", "") for b in res.get("content") or [])
    if arg and arg.lower() not in text.lower():
        print(f"message does not mention {arg!r}: {text[:300]!r}"); sys.exit(1)
elif mode == "get":  # print structuredContent.<dotted path> (list indexes allowed)
    cur = (res or {}).get("structuredContent")
    for part in arg.split("."):
        cur = cur[int(part)] if isinstance(cur, list) else (cur or {}).get(part)
    if cur is None:
        sys.exit(1)
    print(cur)
else:
    sys.exit(f"unknown mode {mode}")
PY
}

TOOLS=detect_failure_patterns,get_pattern,analyze_run_health,compute_agent_metrics,compute_tool_reliability,get_health_dashboard,detect_stalled_runs

# ---- tools/list
rc=0
inspect "$WORK/list.json" --method tools/list || rc=$?
if [[ $rc -eq 0 ]]; then pass "tools/list: exit 0"; else fail "tools/list: exit 0" "exit $rc: $(show "$WORK/list.json")"; fi
if why=$(json_check tools "$WORK/list.json" "$TOOLS"); then pass "tools/list: lists the seven analysis tools with output schemas"; else fail "tools/list: lists the seven analysis tools with output schemas" "$why"; fi
rc=0
inspect "$WORK/strict.json" --method tools/list --strict || rc=$?
if [[ $rc -eq 0 ]]; then pass "tools/list --strict: no error-severity schema portability problem"; else fail "tools/list --strict: no error-severity schema portability problem" "exit $rc: $(grep -m3 -i error "$WORK/strict.json.err" || true)"; fi

# ---- valid calls: exit 0 and structuredContent
# call_ok LABEL NAME -- inspector arguments...
call_ok() {
    local label=$1 name=$2
    shift 2
    local out="$WORK/call-$name.json" rc=0
    inspect "$out" --method tools/call --tool-name "$name" "$@" || rc=$?
    if [[ $rc -eq 0 ]]; then pass "$label: exit 0"; else fail "$label: exit 0" "exit $rc: $(show "$out")"; fi
    local why
    if why=$(json_check structured "$out"); then pass "$label: structuredContent"; else fail "$label: structuredContent" "$why"; fi
}

call_ok "detect_failure_patterns {}" detect_failure_patterns --tool-args-json '{}'
PATTERN_ID=$(json_check get "$WORK/call-detect_failure_patterns.json" patterns.0.id || true)
RUN_ID=$(json_check get "$WORK/call-detect_failure_patterns.json" patterns.0.affected_run_ids.0 || true)
if [[ -n $PATTERN_ID && -n $RUN_ID ]]; then
    pass "detect_failure_patterns: found a pattern ($PATTERN_ID) and an affected run"
else
    fail "detect_failure_patterns: found a pattern and an affected run" "none in the default window; is the fixture planted for NOW=$NOW?"
    PATTERN_ID=${PATTERN_ID:-timeout:fetch_url}
    RUN_ID=${RUN_ID:-unknown}
fi
call_ok "detect_failure_patterns since=-30d min_occurrences=2 (key=value args)" detect_failure_patterns \
    --tool-arg since=-30d min_occurrences=2 confidence_threshold=0.5
if [[ $(json_check get "$WORK/call-detect_failure_patterns.json" filters.min_occurrences || true) == 2 ]]; then
    pass "detect_failure_patterns: key=value arguments reach the server (filters.min_occurrences is 2)"
else
    fail "detect_failure_patterns: key=value arguments reach the server (filters.min_occurrences is 2)" \
        "$(json_check get "$WORK/call-detect_failure_patterns.json" filters || true)"
fi
call_ok "get_pattern $PATTERN_ID" get_pattern --tool-arg "pattern_id=$PATTERN_ID"
call_ok "analyze_run_health $RUN_ID" analyze_run_health --tool-args-json "{\"run_id\":\"$RUN_ID\"}"
call_ok "compute_agent_metrics {}" compute_agent_metrics --tool-args-json '{}'
call_ok "compute_tool_reliability {}" compute_tool_reliability --tool-args-json '{"since":"-7d","limit":50}'
call_ok "get_health_dashboard detailed" get_health_dashboard --tool-args-json '{"detailed":true}'
call_ok "detect_stalled_runs {}" detect_stalled_runs --tool-args-json '{}'

# ---- bad inputs: exit 5 (isError) with a message that says what is accepted
# call_bad LABEL NEEDLE NAME -- inspector arguments...
N=0
call_bad() {
    local label=$1 needle=$2 name=$3
    shift 3
    N=$((N + 1))
    local out="$WORK/bad-$N.json" rc=0 why
    inspect "$out" --method tools/call --tool-name "$name" "$@" || rc=$?
    if [[ $rc -eq 5 ]]; then pass "bad input $label: exit 5"; else fail "bad input $label: exit 5" "exit $rc: $(show "$out")"; fi
    if why=$(json_check is_error "$out" "$needle"); then pass "bad input $label: isError result saying what is accepted"; else fail "bad input $label: isError result saying what is accepted" "$why"; fi
}

call_bad "detect since=yesterday" "accepted" detect_failure_patterns --tool-arg since=yesterday
call_bad "detect since=-7x" "accepted" detect_failure_patterns --tool-args-json '{"since":"-7x"}'
call_bad "detect since=7 (a number)" "string" detect_failure_patterns --tool-args-json '{"since":7}'
call_bad "detect min_occurrences=0" "1 to 1000000" detect_failure_patterns --tool-arg min_occurrences=0
call_bad "detect min_occurrences=\"three\"" "expected" detect_failure_patterns --tool-args-json '{"min_occurrences":"three"}'
call_bad "detect confidence_threshold=1.5" "0 to 1" detect_failure_patterns --tool-args-json '{"confidence_threshold":1.5}'
call_bad "detect unknown argument" "unknown field" detect_failure_patterns --tool-args-json '{"min_occurence":3}'
call_bad "get_pattern unknown id" "detect_failure_patterns" get_pattern --tool-arg pattern_id=nope:nothing
call_bad "get_pattern no-colon" "<error_type>:<tool_name>" get_pattern --tool-arg pattern_id=no-colon
call_bad "analyze_run_health unknown run" "runs.id" analyze_run_health --tool-arg run_id=does-not-exist

echo "$PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]] || exit 1
