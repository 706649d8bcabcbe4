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
# The improvement lifecycle writes into the run-history file, so the checks run on a fresh copy
# of DB (in a temporary directory, with INBOX_PATH there too); DB itself is left untouched.
#
# Checks: tools/list lists exactly the sixteen tools (seven analysis, nine lifecycle) with output
# schemas and readOnlyHint true for the analysis tools and list_improvements, get_improvement,
# get_healing_report, false for the rest; each analysis tool answers a valid tools/call with exit 0
# and structuredContent; every lifecycle tool is called for real in a walk on the fixture's top
# patterns (propose -> test simulation and canary -> apply at a past instant -> verify -> get ->
# list with paging -> a second proposal -> reject twice -> rollback -> healing report), each with
# exit 0, structuredContent and checks of what it says; bad inputs exit 5 with an isError result;
# resources/list, resources/templates/list, resources/read (JSON text; an unknown URI exits 1 with
# a JSON-RPC error), prompts/list and prompts/get of self_heal. Prints one line per check and
# finally `N passed, M failed`; exits 1 on any failure.
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
# The lifecycle writes into the run-history file: every run works on a fresh copy.
DB_SUM=$(sha256sum "$DB" | cut -d' ' -f1)
cp "$DB" "$WORK/history.sqlite"
for suffix in -wal -shm; do
    if [[ -f $DB$suffix ]]; then cp "$DB$suffix" "$WORK/history.sqlite$suffix"; fi
done
mkdir -p "$WORK/inbox"
SERVER_ENV=(-e "DATABASE_PATH=$WORK/history.sqlite" -e "INBOX_PATH=$WORK/inbox" -e "SELFHEAL_NOW=$NOW"
    -e "SELFHEAL_INDEX_DIR=$WORK/index" -e "RUST_LOG=warn,rmcp=error")

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
elif mode == "tools_exact":  # arg: ALL_NAMES;READ_ONLY_NAMES (comma-separated)
    want, read_only = (set(x.split(",")) for x in arg.split(";"))
    tools = (res or {}).get("tools") or []
    names = [t.get("name") for t in tools]
    if set(names) != want or len(names) != len(set(names)):
        print(f"missing {sorted(want - set(names))}, unexpected {sorted(set(names) - want)}, {len(names)} entries"); sys.exit(1)
    bad = [t["name"] for t in tools if not isinstance(t.get("outputSchema"), dict)]
    if bad:
        print(f"no outputSchema: {bad}"); sys.exit(1)
    wrong = {t["name"]: (t.get("annotations") or {}).get("readOnlyHint") for t in tools
             if (t.get("annotations") or {}).get("readOnlyHint") is not (t["name"] in read_only)}
    if wrong:
        print(f"readOnlyHint wrong (want true exactly for {sorted(read_only)}): {wrong}"); sys.exit(1)
elif mode == "assert":  # arg: a Python expression over sc (structuredContent), res, doc, text, instant, ...
    from datetime import datetime, timedelta, timezone
    def instant(t):
        if not isinstance(t, str):
            return None
        try:
            d = datetime.fromisoformat(t.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        return (d if d.tzinfo else d.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    def sub(want, got):  # want is a subsequence of got
        it = iter(got)
        return all(any(x == y for y in it) for x in want)
    res = res if isinstance(res, dict) else {}
    sc = res.get("structuredContent") if isinstance(res.get("structuredContent"), dict) else {}
    text = " ".join(b.get("text", "") for b in res.get("content") or [] if isinstance(b, dict))
    env = dict(sc=sc, res=res, doc=doc, text=text, instant=instant, timedelta=timedelta, sub=sub, json=json,
               abs=abs, all=all, any=any, len=len, set=set, sorted=sorted, isinstance=isinstance,
               str=str, int=int, float=float, dict=dict, list=list)
    try:
        ok = eval(arg, {"__builtins__": {}, **env})
    except Exception as e:
        ok, why = False, f"{type(e).__name__}: {e}"
    else:
        why = "false"
    if not ok:
        print(f"{why}; structuredContent {json.dumps(sc)[:400] if sc else json.dumps(res)[:400]}"); sys.exit(1)
elif mode == "resource_json":  # arg: the URI; prints nothing, fails unless one text content that is a JSON object
    contents = (res or {}).get("contents") or []
    if len(contents) != 1 or contents[0].get("uri") != arg or not isinstance(contents[0].get("text"), str):
        print(f"not one text content for {arg}: {json.dumps(res)[:300]}"); sys.exit(1)
    try:
        body = json.loads(contents[0]["text"])
    except ValueError as e:
        print(f"text is not JSON ({e}): {contents[0]['text'][:300]!r}"); sys.exit(1)
    if not isinstance(body, dict):
        print(f"text is JSON but not an object: {contents[0]['text'][:300]!r}"); sys.exit(1)
    if len(sys.argv) > 4:  # an extra expression over body
        ok = eval(sys.argv[4], {"__builtins__": {}, "body": body, "set": set, "len": len, "any": any, "all": all,
                                "sorted": sorted, "isinstance": isinstance, "dict": dict, "list": list})
        if not ok:
            print(f"{sys.argv[4]} is false for {contents[0]['text'][:400]!r}"); sys.exit(1)
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
LIFECYCLE_TOOLS=propose_improvement,test_improvement,apply_improvement,verify_improvement,rollback_improvement,reject_improvement,list_improvements,get_improvement,get_healing_report
READ_ONLY_LIFECYCLE=list_improvements,get_improvement,get_healing_report

# ---- tools/list
rc=0
inspect "$WORK/list.json" --method tools/list || rc=$?
if [[ $rc -eq 0 ]]; then pass "tools/list: exit 0"; else fail "tools/list: exit 0" "exit $rc: $(show "$WORK/list.json")"; fi
if why=$(json_check tools_exact "$WORK/list.json" "$TOOLS,$LIFECYCLE_TOOLS;$TOOLS,$READ_ONLY_LIFECYCLE"); then
    pass "tools/list: exactly the sixteen tools, with output schemas and readOnlyHint true only for the readers"
else
    fail "tools/list: exactly the sixteen tools, with output schemas and readOnlyHint true only for the readers" "$why"
fi
rc=0
inspect "$WORK/strict.json" --method tools/list --strict || rc=$?
if [[ $rc -eq 0 ]]; then
    pass "tools/list --strict: no error-severity schema portability problem"
else
    fail "tools/list --strict: no error-severity schema portability problem" \
        "exit $rc: $(grep -A1 '^Error: ' "$WORK/strict.json.err" | grep -v '^--' | paste -d' ' - - | sed 's/  */ /g' | tr '\n' ';' || true) $(grep -m1 'errors, .* warnings' "$WORK/strict.json.err" || true)"
fi

# ---- valid calls: exit 0 and structuredContent
# call_ok LABEL NAME -- inspector arguments...: the result is left in $WORK/call-NAME.json (also
# named by $LAST).
call_ok() {
    local label=$1 name=$2
    shift 2
    local out="$WORK/call-$name.json" rc=0
    LAST=$out
    inspect "$out" --method tools/call --tool-name "$name" "$@" || rc=$?
    if [[ $rc -eq 0 ]]; then pass "$label: exit 0"; else fail "$label: exit 0" "exit $rc: $(show "$out")"; fi
    local why
    if why=$(json_check structured "$out"); then pass "$label: structuredContent"; else fail "$label: structuredContent" "$why"; fi
}

call_ok "detect_failure_patterns {}" detect_failure_patterns --tool-args-json '{}'
PATTERN_ID=$(json_check get "$WORK/call-detect_failure_patterns.json" patterns.0.id || true)
RUN_ID=$(json_check get "$WORK/call-detect_failure_patterns.json" patterns.0.affected_runs.0 || true)
PATTERN2=$(json_check get "$WORK/call-detect_failure_patterns.json" patterns.1.id || true)
if [[ -n $PATTERN_ID && -n $RUN_ID ]]; then
    pass "detect_failure_patterns: found a pattern ($PATTERN_ID) and an affected run"
else
    fail "detect_failure_patterns: found a pattern and an affected run" "none in the default window; is the fixture planted for NOW=$NOW?"
    PATTERN_ID=${PATTERN_ID:-timeout:fetch_url}
    PATTERN2=${PATTERN2:-connection_refused:query_db}
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
call_bad "get_pattern no-colon" "<class>:<tool>" get_pattern --tool-arg pattern_id=no-colon
call_bad "analyze_run_health unknown run" "runs.id" analyze_run_health --tool-arg run_id=does-not-exist

# ---- the improvement lifecycle, walked for real (each Inspector call is a new server process;
# the state lives in the copied run-history file)

# expect LABEL FILE EXPR: a check on a result's JSON (see json_check assert).
expect() {
    local why
    if why=$(json_check assert "$2" "$3"); then pass "$1"; else fail "$1" "$why"; fi
}
# at OFFSET_DAYS: NOW shifted by whole days, as RFC 3339 UTC.
at() {
    python3 - "$NOW" "$1" <<'PY'
import sys
from datetime import datetime, timedelta, timezone
t = datetime.fromisoformat(sys.argv[1].replace("Z", "+00:00")).astimezone(timezone.utc)
print((t.replace(microsecond=0) + timedelta(days=int(sys.argv[2]))).strftime("%Y-%m-%dT%H:%M:%SZ"))
PY
}
APPLIED_AT=$(at -3)
FUTURE=$(at 1)
if [[ $PATTERN2 == "$PATTERN_ID" || -z $PATTERN2 ]]; then
    fail "detect_failure_patterns: a second pattern for the lifecycle" "got ${PATTERN2:-none}"
fi

call_ok "propose_improvement $PATTERN_ID" propose_improvement --tool-arg "pattern_id=$PATTERN_ID"
ID1=$(json_check get "$WORK/call-propose_improvement.json" improvement_id || true)
ID1=${ID1:-imp-missing-1}
expect "propose: an imp- id, for the asked pattern, status proposed, with actions and evidence" "$LAST" \
    "sc['improvement_id'].startswith('imp-') and sc['pattern_id'] == '$PATTERN_ID' and sc['status'] == 'proposed' and len(sc['actions']) > 0 and sc['evidence']['occurrences'] >= 3"

call_ok "test_improvement $ID1 (simulation, the default)" test_improvement --tool-arg "improvement_id=$ID1"
expect "test simulation: simulated_success_rate >= baseline_success_rate, assumptions non-empty, status tested" "$LAST" \
    "sc['test_mode'] == 'simulation' and 0 <= sc['baseline_success_rate'] <= sc['simulated_success_rate'] <= 1 and len(sc['assumptions']) > 0 and sc['status'] == 'tested'"
call_ok "test_improvement $ID1 mode=canary (no tagged runs)" test_improvement --tool-args-json "{\"improvement_id\":\"$ID1\",\"mode\":\"canary\"}"
expect "test canary: tagging_plan present, tagged_runs 0, needs_canary, status stays tested" "$LAST" \
    "sc['test_mode'] == 'canary' and isinstance(sc['tagging_plan'], str) and '$ID1' in sc['tagging_plan'] and sc['tagged_runs'] == 0 and sc['recommendation'] == 'needs_canary' and sc['status'] == 'tested'"

call_ok "apply_improvement $ID1 applied_at=$APPLIED_AT" apply_improvement --tool-args-json \
    "{\"improvement_id\":\"$ID1\",\"changes_made\":\"inspector_check: raised the fetch timeout\",\"applied_at\":\"$APPLIED_AT\",\"commit_hash\":\"0123abcd\"}"
expect "apply: status applied at the given instant, verification 7 days later, note in the inbox" "$LAST" \
    "sc['status'] == 'applied' and instant(sc['applied_at']) == instant('$APPLIED_AT') and instant(sc['verification_scheduled']) == instant('$APPLIED_AT') + timedelta(days=7) and sc['note']['written'] is True and sc['note']['path'].startswith('$WORK/inbox/')"
if compgen -G "$WORK/inbox/*.md" >/dev/null && grep -q -F "$ID1" "$WORK"/inbox/*.md; then
    pass "apply: the inbox note names the improvement"
else
    fail "apply: the inbox note names the improvement" "$(ls -A "$WORK/inbox")"
fi

call_ok "verify_improvement $ID1" verify_improvement --tool-arg "improvement_id=$ID1"
expect "verify: a verdict among verified/no_significant_change/regressed/insufficient_data, with metrics on both sides" "$LAST" \
    "sc['verification_status'] in ('verified', 'no_significant_change', 'regressed', 'insufficient_data') and sc['metrics']['before_calls'] > 0 and sc['metrics']['after_calls'] > 0 and sc['metrics']['after_failures'] <= sc['metrics']['after_calls'] and instant(sc['after_window']['from']) == instant('$APPLIED_AT') and sc['status'] == ('verified' if sc['verification_status'] == 'verified' else 'applied')"

call_ok "get_improvement $ID1" get_improvement --tool-arg "improvement_id=$ID1"
expect "get_improvement: the record as applied, audit trail propose, test, apply, verify" "$LAST" \
    "sc['id'] == '$ID1' and sc['pattern_id'] == '$PATTERN_ID' and instant(sc['applied_at']) == instant('$APPLIED_AT') and sc['commit_hash'] == '0123abcd' and [a['action'] for a in sc['audit']][:1] == ['propose'] and sub(['propose', 'test', 'apply', 'verify'], [a['action'] for a in sc['audit']])"

call_ok "list_improvements {}" list_improvements --tool-args-json '{}'
expect "list_improvements: contains $ID1" "$LAST" "'$ID1' in [i['id'] for i in sc['improvements']]"

call_ok "propose_improvement $PATTERN2 (a second proposal)" propose_improvement --tool-arg "pattern_id=$PATTERN2"
ID2=$(json_check get "$WORK/call-propose_improvement.json" improvement_id || true)
ID2=${ID2:-imp-missing-2}
expect "propose (second): a new id for the other pattern" "$LAST" "sc['improvement_id'] != '$ID1' and sc['pattern_id'] == '$PATTERN2'"

call_ok "list_improvements limit=1" list_improvements --tool-arg limit=1
CURSOR=$(json_check get "$LAST" next_cursor || true)
PAGE1=$(json_check get "$LAST" improvements.0.id || true)
expect "list_improvements limit=1: one item and a next_cursor (two exist)" "$LAST" \
    "len(sc['improvements']) == 1 and isinstance(sc.get('next_cursor'), str)"
call_ok "list_improvements limit=1 with the next_cursor" list_improvements --tool-args-json "{\"limit\":1,\"cursor\":\"${CURSOR:-none}\"}"
expect "list_improvements next page: the other improvement, and no further cursor" "$LAST" \
    "len(sc['improvements']) == 1 and sorted(['$PAGE1', sc['improvements'][0]['id']]) == sorted(['$ID1', '$ID2']) and sc.get('next_cursor') is None"

# ---- bad lifecycle inputs: exit 5 with an isError result
call_bad "get_improvement unknown id" "list_improvements" get_improvement --tool-arg improvement_id=imp-20000101-000000
call_bad "verify_improvement before apply" "cannot verify" verify_improvement --tool-arg "improvement_id=$ID2"
call_bad "apply_improvement twice" "cannot apply" apply_improvement --tool-args-json "{\"improvement_id\":\"$ID1\",\"changes_made\":\"again\"}"
call_bad "apply_improvement applied_at in the future ($FUTURE)" "future" apply_improvement \
    --tool-args-json "{\"improvement_id\":\"$ID2\",\"changes_made\":\"x\",\"applied_at\":\"$FUTURE\"}"
call_bad "verify_improvement measurement_window_days=0" "1 to 90" verify_improvement \
    --tool-args-json "{\"improvement_id\":\"$ID1\",\"measurement_window_days\":0}"
call_bad "test_improvement mode=bogus" "simulation, canary, shadow" test_improvement \
    --tool-args-json "{\"improvement_id\":\"$ID2\",\"mode\":\"bogus\"}"
call_bad "list_improvements status=nope" "accepted" list_improvements --tool-arg status=nope
call_bad "reject_improvement of an applied improvement" "cannot reject" reject_improvement --tool-arg "improvement_id=$ID1"

call_ok "reject_improvement $ID2" reject_improvement --tool-args-json "{\"improvement_id\":\"$ID2\",\"reason\":\"inspector_check\"}"
expect "reject: status rejected, changed true" "$LAST" "sc['status'] == 'rejected' and sc['changed'] is True"
call_ok "reject_improvement $ID2 again" reject_improvement --tool-arg "improvement_id=$ID2"
expect "reject again: still rejected, changed false" "$LAST" "sc['status'] == 'rejected' and sc['changed'] is False"

call_ok "rollback_improvement $ID1" rollback_improvement --tool-args-json "{\"improvement_id\":\"$ID1\",\"reason\":\"inspector_check\"}"
expect "rollback: status rolled_back, changed true" "$LAST" "sc['status'] == 'rolled_back' and sc['changed'] is True"

call_ok "get_healing_report {}" get_healing_report --tool-args-json '{}'
expect "get_healing_report: improvements_by_state counts one rolled_back and one rejected" "$LAST" \
    "{c['status']: c['count'] for c in sc['improvements_by_state'] if c['count']} == {'rolled_back': 1, 'rejected': 1}"

# ---- resources
# inspect_ok LABEL OUT -- inspector arguments...: exit 0 expected.
inspect_ok() {
    local label=$1 out=$2 rc=0
    shift 2
    inspect "$out" "$@" || rc=$?
    if [[ $rc -eq 0 ]]; then pass "$label: exit 0"; else fail "$label: exit 0" "exit $rc: $(show "$out")"; fi
    return "$rc"
}
if inspect_ok "resources/list" "$WORK/resources.json" --method resources/list; then
    expect "resources/list: exactly the three resources" "$WORK/resources.json" \
        "sorted(r['uri'] for r in res['resources']) == ['selfheal://dashboard', 'selfheal://improvements', 'selfheal://patterns']"
fi
if inspect_ok "resources/templates/list" "$WORK/templates.json" --method resources/templates/list; then
    expect "resources/templates/list: exactly the two templates" "$WORK/templates.json" \
        "sorted(t['uriTemplate'] for t in res['resourceTemplates']) == ['selfheal://improvements/{improvement_id}', 'selfheal://patterns/{pattern_id}']"
fi
# read_ok URI WHAT EXPR: reads URI, expects one text content that parses as a JSON object (body)
# for which the Python expression EXPR holds; WHAT describes EXPR.
N_READ=0
read_ok() {
    local uri=$1 what=$2 expr=$3 why
    N_READ=$((N_READ + 1))
    local out="$WORK/read-$N_READ.json"
    if inspect_ok "resources/read $uri" "$out" --method resources/read --uri "$uri"; then
        if why=$(json_check resource_json "$out" "$uri" "$expr"); then
            pass "resources/read $uri: JSON object text, $what"
        else
            fail "resources/read $uri: JSON object text, $what" "$why"
        fi
    fi
}
read_ok selfheal://dashboard "a dashboard" "'overall_health_score' in body and 'recent_improvements' in body"
read_ok selfheal://patterns "listing $PATTERN_ID" "'$PATTERN_ID' in [p['id'] for p in body['patterns']]"
read_ok selfheal://improvements "exactly the two improvements" \
    "sorted(i['id'] for i in body['improvements']) == sorted(['$ID1', '$ID2'])"
read_ok "selfheal://improvements/$ID1" "that improvement, rolled back, audit ending in rollback" \
    "body['id'] == '$ID1' and body['status'] == 'rolled_back' and body['audit'][-1]['action'] == 'rollback'"
read_ok "selfheal://patterns/$PATTERN_ID" "that pattern" "body['pattern']['id'] == '$PATTERN_ID'"
for uri in selfheal://nope selfheal://improvements/imp-20000101-000000; do
    rc=0
    inspect "$WORK/read-unknown.json" --method resources/read --uri "$uri" || rc=$?
    if [[ $rc -eq 1 ]] && grep -q '"error"' "$WORK/read-unknown.json" "$WORK/read-unknown.json.err"; then
        pass "resources/read $uri: exit 1 with a JSON-RPC error (no hang)"
    else
        fail "resources/read $uri: exit 1 with a JSON-RPC error (no hang)" "exit $rc: $(show "$WORK/read-unknown.json")"
    fi
done

# ---- prompts
if inspect_ok "prompts/list" "$WORK/prompts.json" --method prompts/list; then
    expect "prompts/list: self_heal with an optional pattern_id" "$WORK/prompts.json" \
        "[(a['name'], a.get('required', False)) for p in res['prompts'] if p['name'] == 'self_heal' for a in p.get('arguments') or []] == [('pattern_id', False)]"
fi
PROMPT_TEXT="' '.join(m['content']['text'] for m in res['messages'] if m['role'] == 'user')"
if inspect_ok "prompts/get self_heal" "$WORK/prompt.json" --method prompts/get --prompt-name self_heal; then
    expect "prompts/get self_heal: a user message naming detect_failure_patterns and verify_improvement" "$WORK/prompt.json" \
        "res['messages'][0]['role'] == 'user' and 'detect_failure_patterns' in $PROMPT_TEXT and 'verify_improvement' in $PROMPT_TEXT"
fi
if inspect_ok "prompts/get self_heal pattern_id=$PATTERN_ID" "$WORK/prompt-p.json" --method prompts/get \
    --prompt-name self_heal --prompt-args "pattern_id=$PATTERN_ID"; then
    expect "prompts/get self_heal pattern_id: a user message naming the pattern, detect_failure_patterns and verify_improvement" \
        "$WORK/prompt-p.json" \
        "res['messages'][0]['role'] == 'user' and '$PATTERN_ID' in $PROMPT_TEXT and 'detect_failure_patterns' in $PROMPT_TEXT and 'verify_improvement' in $PROMPT_TEXT"
fi

if [[ $(sha256sum "$DB" | cut -d' ' -f1) == "$DB_SUM" ]]; then
    pass "the given fixture file is untouched (the lifecycle wrote to a copy)"
else
    fail "the given fixture file is untouched (the lifecycle wrote to a copy)"
fi

echo "$PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]] || exit 1
