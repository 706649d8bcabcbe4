#!/usr/bin/env python3
"""Tests of read_traces.py, measure.py and baseline_classify.py on small fixtures of our own.

The fixtures below are invented, written in the formats of the real transcripts (Claude Code
JSONL with a replayed line and a forked subagent, a Codex rollout with both tool generations,
a Gemini CLI chat, a mini-swe-agent and an older SWE-agent trajectory).

    python3 -m unittest discover -s tests/real -p 'test_*.py'
"""

import io
import json
import os
import sqlite3
import sys
import tempfile
import textwrap
import unittest
from contextlib import redirect_stdout
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import baseline_classify  # noqa: E402
import measure  # noqa: E402
import read_traces  # noqa: E402

BASELINE = f"{sys.executable} {HERE / 'baseline_classify.py'}"


def _jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _claude_line(kind, uuid, content, session="s-1", **extra):
    return {
        "type": kind,
        "uuid": uuid,
        "sessionId": session,
        "timestamp": "2026-01-05T10:00:00Z",
        "message": {"role": kind, "content": content},
        **extra,
    }


def _use(cid, name, tool_input):
    return {"type": "tool_use", "id": cid, "name": name, "input": tool_input}


def _result(cid, text, is_error=False):
    return {"type": "tool_result", "tool_use_id": cid, "content": text, "is_error": is_error}


def write_fixtures(root):
    """A traces tree with one source folder per format."""
    project = root / "claude-code" / "alice__dots" / ".claude" / "projects" / "-home-alice"
    build = _claude_line("assistant", "u2", [_use("t1", "Bash", {"command": "cd app && cargo test"})])
    _jsonl(
        project / "s-1.jsonl",
        [
            _claude_line("user", "u1", [{"type": "text", "text": "make the tests pass"}]),
            build,
            _claude_line("user", "u3", [_result("t1", "Exit code 101\nerror[E0308]: mismatched types", True)]),
            _claude_line("assistant", "u4", [_use("t2", "Edit", {"file_path": "a.rs", "old_string": "x"})]),
            _claude_line("user", "u5", [_result("t2", "<tool_use_error>String to replace not found in file.</tool_use_error>", True)]),
            _claude_line("assistant", "u6", [_use("t3", "Bash", {"command": "rm -rf target"})]),
            _claude_line("user", "u7", [_result("t3", "The user doesn't want to proceed with this tool use.", True)]),
            # The same call replayed after a resume: counted once.
            {**build, "uuid": "u8"},
        ],
    )
    _jsonl(
        project / "s-1" / "subagents" / "agent-abc.jsonl",
        [
            {**build, "agentId": "abc", "isSidechain": True},  # a fork's copy of its parent
            _claude_line("assistant", "v1", [_use("t4", "Grep", {"pattern": "fn main"})], agentId="abc"),
            _claude_line("user", "v2", [_result("t4", "src/main.rs")], agentId="abc"),
        ],
    )
    _jsonl(project / "s-2.jsonl", [{"type": "summary", "summary": "nothing here"}])

    rollout = root / "codex" / "bob__svc" / ".codex" / "sessions" / "2026" / "01" / "05" / "rollout-1.jsonl"

    def item(payload):
        return {"timestamp": "2026-01-05T10:00:00Z", "type": "response_item", "payload": payload}

    _jsonl(
        rollout,
        [
            {"type": "session_meta", "payload": {"id": "c-1", "cwd": "/w"}},
            item({"type": "function_call", "name": "shell", "call_id": "k1",
                  "arguments": json.dumps({"command": ["bash", "-lc", "rg -n todo src"]})}),
            item({"type": "function_call_output", "call_id": "k1",
                  "output": json.dumps({"output": "", "metadata": {"exit_code": 1, "duration_seconds": 0.1}})}),
            item({"type": "function_call", "name": "exec_command", "call_id": "k2",
                  "arguments": json.dumps({"cmd": "ls nope"})}),
            item({"type": "function_call_output", "call_id": "k2",
                  "output": "Chunk ID: 1\nWall time: 0.0100 seconds\nProcess exited with code 2\n"
                            "Original token count: 9\nOutput:\nls: cannot access 'nope': No such file or directory\n"}),
            item({"type": "custom_tool_call", "name": "apply_patch", "call_id": "k3", "status": "completed",
                  "input": "*** Begin Patch\n*** Update File: f.txt\n@@\n-old\n+new\n*** End Patch"}),
            item({"type": "custom_tool_call_output", "call_id": "k3",
                  "output": "apply_patch verification failed: Failed to find expected lines in f.txt:\nold"}),
            item({"type": "function_call", "name": "update_plan", "call_id": "k4", "arguments": "{}"}),
            item({"type": "function_call_output", "call_id": "k4", "output": "Plan updated"}),
        ],
    )

    chats = root / "gemini-cli" / "carol__web" / ".gemini" / "tmp" / "h" / "chats"
    chats.mkdir(parents=True)
    (chats / "session-1.json").write_text(json.dumps({
        "sessionId": "g-1",
        "messages": [
            {"type": "user", "content": "read the config"},
            {"type": "gemini", "content": "", "toolCalls": [
                {"id": "r1", "name": "read_file", "args": {"file_path": "a.cfg"}, "status": "success",
                 "result": [{"functionResponse": {"id": "r1", "name": "read_file", "response": {"output": "k=v"}}}]},
                {"id": "r2", "name": "run_shell_command", "args": {"command": "npm install"}, "status": "cancelled",
                 "result": [{"functionResponse": {"id": "r2", "name": "run_shell_command",
                             "response": {"error": "[Operation Cancelled] Reason: User cancelled the operation."}}}]},
            ]},
        ],
    }), encoding="utf-8")
    (chats / "session-2.json").write_text(json.dumps({
        "sessionId": "g-2", "messages": [{"type": "user", "content": "hello"}]}), encoding="utf-8")

    def fence(cmd):
        return f"THOUGHT: next.\n\n```bash\n{cmd}\n```"

    mini = root / "swe-agent" / "dave__bench" / "trajs" / "demo__demo-1" / "demo__demo-1.traj.json"
    mini.parent.mkdir(parents=True)
    mini.write_text(json.dumps({
        "instance_id": "demo__demo-1",
        "info": {"exit_status": "Submitted"},
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "<pr_description>fix it</pr_description>"},
            {"role": "assistant", "content": fence("ls")},
            {"role": "user", "content": "<returncode>0</returncode>\n<output>\nsetup.py\n</output>"},
            {"role": "assistant", "content": fence("grep -n bug setup.py")},
            {"role": "user", "content": "<returncode>1</returncode>\n<output>\n</output>"},
            {"role": "assistant", "content": fence("ls") + "\n" + fence("pwd")},
            {"role": "user", "content": "Please always provide EXACTLY ONE action in triple backticks."},
            {"role": "assistant", "content": fence("pytest tests")},
            {"role": "user", "content": "The last command <command>pytest tests</command> timed out and has been killed.\n"
                                        "The output of the command was:\n <output>\n....\n</output>"},
            {"role": "assistant", "content": fence("echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && git diff")},
            {"role": "user", "content": "diff --git a/setup.py b/setup.py"},
        ],
    }), encoding="utf-8")
    old = root / "swe-agent" / "erin__agent" / "trajectories" / "t" / "repo-1.traj"
    old.parent.mkdir(parents=True)
    old.write_text(json.dumps({
        "trajectory": [
            {"action": "find_file x.py\n", "observation": "Found 1 matches", "execution_time": 0.25},
            {"action": "submit\n", "observation": "diff --git a/x.py b/x.py"},
        ],
        "info": {"exit_status": "submitted"},
    }), encoding="utf-8")


LABELS = [
    ("claude-code/alice__dots", "claude-code:s-1", "t1", "Bash", "failure", "command_failed", "cargo"),
    ("claude-code/alice__dots", "claude-code:s-1", "t2", "Edit", "failure", "stale_state", None),
    ("claude-code/alice__dots", "claude-code:s-1", "t3", "Bash", "rejected", None, "rm"),
    ("codex/bob__svc", "codex:c-1", "k1", "shell", "benign", None, "rg"),
    ("codex/bob__svc", "codex:c-1", "k2", "exec_command", "failure", "not_found", "ls"),
    ("codex/bob__svc", "codex:c-1", "k3", "apply_patch", "failure", "stale_state", None),
    ("gemini-cli/carol__web", "gemini-cli:g-1", "r2", "run_shell_command", "cancelled", None, "npm"),
    ("swe-agent/dave__bench", "swe-agent:demo__demo-1", "demo__demo-1#1", "bash", "benign", None, "grep"),
    ("swe-agent/dave__bench", "swe-agent:demo__demo-1", "demo__demo-1#2", "bash", "failure", "timeout", "pytest"),
]


def write_labels(path, overrides=None):
    rows = []
    for source, run, cid, tool, outcome, cls, program in LABELS:
        row = {"source": source, "run": run, "call_id": cid, "tool": tool, "outcome": outcome,
               "class": cls, "program": program, "note": "fixture"}
        row.update((overrides or {}).get(cid, {}))
        rows.append(row)
    _jsonl(path, rows)


# A stand-in for the self-heal binary: `init`, `import` (through read_traces, dropping the last
# call of every Codex run so that the comparison has a difference to find) and `classify`.
FAKE_CLI = textwrap.dedent(
    """\
    #!{python}
    import json, sqlite3, subprocess, sys
    from pathlib import Path
    sys.path.insert(0, {here!r})
    import read_traces
    args = sys.argv[1:]
    if args[:1] == ["help"]:
        sys.exit(0 if args[1:2] in (["import"], ["classify"]) else 2)
    db = args[args.index("--db") + 1] if "--db" in args else None
    if "init" in args:
        con = sqlite3.connect(db)
        con.execute("CREATE TABLE IF NOT EXISTS runs (id TEXT PRIMARY KEY)")
        con.execute("CREATE TABLE IF NOT EXISTS run_events (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                    "run_id TEXT, step_index INTEGER, event_type TEXT, event_data TEXT, timestamp TEXT)")
        con.commit()
    elif "import" in args:
        folder = Path(args[-1])
        root = folder.parent.parent
        source = folder.parent.name + "/" + folder.name
        reading = read_traces.read_traces(root)
        con = sqlite3.connect(db)
        for run in reading.runs:
            if run.source == source:
                con.execute("INSERT OR IGNORE INTO runs (id) VALUES (?)", (run.run,))
        calls = [c for c in reading.calls if c.source == source]
        if source.startswith("codex/"):
            calls = calls[:-1]
        for i, c in enumerate(calls):
            start = {{"name": c.tool, "call_id": c.call_id, "arguments": c.input}}
            done = {{"name": c.tool, "call_id": c.call_id, "is_error": c.flagged, "result": c.result}}
            if c.exit_code is not None:
                done["exit_code"] = c.exit_code
            for kind, data in (("tool_start", start), ("tool_complete", done)):
                con.execute("INSERT INTO run_events (run_id, step_index, event_type, event_data, timestamp) "
                            "VALUES (?, ?, ?, ?, '2026-01-05T10:00:00Z')", (c.run, i, kind, json.dumps(data)))
        con.commit()
        print(json.dumps({{"imported": len(calls)}}))
    elif "classify" in args:
        sys.exit(subprocess.run([sys.executable, {baseline!r}]).returncode)
    else:
        sys.exit(2)
    """
)


class Fixtures(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.root = Path(self._tmp.name) / "traces"
        write_fixtures(self.root)
        self.labels = Path(self._tmp.name) / "labels.jsonl"
        write_labels(self.labels)

    def tearDown(self):
        self._tmp.cleanup()

    def measure_json(self, *argv):
        out = io.StringIO()
        with redirect_stdout(out):
            code = measure.main(["--traces", str(self.root), "--labels", str(self.labels), "--json", *argv])
        self.assertEqual(code, 0)
        return json.loads(out.getvalue())


class ReadTraces(Fixtures):
    def test_counts_per_source(self):
        reading = read_traces.read_traces(self.root)
        self.assertEqual(
            read_traces.counts_by_source(reading),
            {
                "claude-code/alice__dots": {"runs": 2, "calls": 4, "flagged": 3},
                "codex/bob__svc": {"runs": 1, "calls": 4, "flagged": 3},
                "gemini-cli/carol__web": {"runs": 2, "calls": 2, "flagged": 1},
                "swe-agent/dave__bench": {"runs": 1, "calls": 4, "flagged": 2},
                "swe-agent/erin__agent": {"runs": 1, "calls": 2, "flagged": 0},
            },
        )
        self.assertEqual(reading.copied_calls["claude-code/alice__dots"], 1)

    def test_ids_flags_and_fields(self):
        calls = {(c.run, c.call_id): c for c in read_traces.read_traces(self.root).calls}
        self.assertIn(("claude-code:abc", "t4"), calls)  # the subagent is its own run
        self.assertEqual(calls[("claude-code:s-1", "t1")].exit_code, 101)
        k2 = calls[("codex:c-1", "k2")]
        self.assertEqual((k2.exit_code, k2.duration_ms, k2.flagged), (2, 10, True))
        self.assertTrue(k2.result.startswith("ls: cannot access"))
        self.assertEqual(calls[("codex:c-1", "k3")].flag, "apply_patch verification failed")
        self.assertFalse(calls[("codex:c-1", "k4")].flagged)
        self.assertTrue(calls[("gemini-cli:g-1", "r2")].interrupted)
        timeout = calls[("swe-agent:demo__demo-1", "demo__demo-1#2")]
        self.assertEqual((timeout.flagged, timeout.input), (True, {"command": "pytest tests"}))
        self.assertIn(("swe-agent:repo-1", "repo-1#1"), calls)
        self.assertEqual(calls[("swe-agent:repo-1", "repo-1#0")].duration_ms, 250)

    def test_readme_table(self):
        (self.root / "README.md").write_text(
            "| folder | agent | format | sources | runs | tool calls | failed |\n|---|---|---|---|---|---|---|\n"
            "| `codex/` | Codex | rollouts | 1 | 1 | 4 | 2 |\n",
            encoding="utf-8",
        )
        self.assertEqual(read_traces.readme_table(self.root),
                         {"codex": {"sources": 1, "runs": 1, "calls": 4, "flagged": 2}})

    def test_absent_folder_reads_nothing(self):
        out = io.StringIO()
        with redirect_stdout(out):
            self.assertEqual(read_traces.main(["--traces", str(self.root / "absent")]), 0)
        self.assertIn("absent", out.getvalue())


class Baseline(unittest.TestCase):
    def test_program_of(self):
        cases = {
            "cd app && FOO=1 sudo -E timeout 5 /usr/bin/python3 x.py": "python3",
            "git status": "git",
            "export X=1; npm test": "npm",
            "": None,
        }
        for command, program in cases.items():
            self.assertEqual(baseline_classify.program_of(command), program, command)

    def test_command_text_of_codex_shell(self):
        self.assertEqual(baseline_classify.command_text({"command": ["bash", "-lc", "ls -la"]}), "ls -la")


class Measure(Fixtures):
    def test_score_counts_precision_recall_and_confusion(self):
        labels = measure.load_labels(self.labels)
        answers = [{"outcome": lab["outcome"], "class": lab["class"], "program": lab["program"]} for lab in labels]
        answers[0] = {"outcome": "failure", "class": "Unknown", "program": "cd"}
        answers[2] = {"outcome": "failure", "class": "permission_denied", "program": "rm"}
        s = measure.score(labels, answers)
        self.assertEqual(s["outcome"]["rejected"], {"labelled": 1, "predicted": 0, "correct": 0,
                                                    "precision": None, "recall": 0.0})
        self.assertEqual(s["outcome"]["failure"]["precision"], 5 / 6)
        self.assertEqual(s["class_agreement"]["agreed"], 4)
        self.assertEqual(s["unknown_share"], 1 / 5)
        self.assertEqual(s["program_agreement"], {"labelled": 7, "agreed": 6, "share": 6 / 7})
        self.assertEqual([c["call_id"] for c in s["confusion"]], ["t1", "t3"])
        self.assertEqual(s["confusion"][0]["wrong"], ["class", "program"])

    def test_classifier_alone_on_the_reading(self):
        write_labels(self.labels, {"t1": {"class": "dependency_failure"}})
        result = self.measure_json("--skip-import", "--classify-cmd", BASELINE)
        self.assertEqual(result["label_coverage"]["flagged_without_label"], 0)
        cls = result["classify"]
        self.assertEqual(cls["input_from"], {"database": 0, "reading": 9, "missing": 0})
        s = cls["score"]
        self.assertEqual(s["calls"], 9)
        for name in ("rejected", "cancelled", "benign"):
            self.assertEqual(s["outcome"][name]["recall"], 1.0, name)
        self.assertEqual([c["call_id"] for c in s["confusion"]], ["t1"])

    def test_cli_without_the_commands_says_so(self):
        cli = Path(self._tmp.name) / "old-cli"
        cli.write_text(f"#!{sys.executable}\nimport sys\nsys.exit(2)\n", encoding="utf-8")
        cli.chmod(0o755)
        result = self.measure_json("--cli", str(cli))
        self.assertIn("no `import` command", result["import"]["skipped"])
        self.assertIn("no `classify` command", result["classify"]["skipped"])

    def test_import_compared_per_source_and_classified_from_the_database(self):
        cli = Path(self._tmp.name) / "fake-cli"
        cli.write_text(FAKE_CLI.format(python=sys.executable, here=str(HERE),
                                       baseline=str(HERE / "baseline_classify.py")), encoding="utf-8")
        cli.chmod(0o755)
        result = self.measure_json("--cli", str(cli))
        sources = result["import"]["sources"]
        self.assertEqual(result["import"]["problems"], {})
        self.assertEqual(sources["claude-code/alice__dots"]["database"], {"runs": 2, "calls": 4, "flagged": 3})
        codex = sources["codex/bob__svc"]
        self.assertEqual(codex["database"], {"runs": 1, "calls": 3, "flagged": 3})
        self.assertEqual(codex["calls_only_in_reading"], 1)
        self.assertEqual(sources["swe-agent/erin__agent"]["runs_only_in_database"], 0)
        self.assertEqual(result["classify"]["input_from"], {"database": 9, "reading": 0, "missing": 0})
        self.assertEqual(result["classify"]["score"]["confusion"], [])

    def test_absent_traces_measure_nothing(self):
        out = io.StringIO()
        with redirect_stdout(out):
            code = measure.main(["--traces", os.path.join(self._tmp.name, "absent"), "--cli", "self-heal"])
        self.assertEqual(code, 0)
        self.assertIn("nothing measured", out.getvalue())

    def test_database_with_anonymous_calls(self):
        db = Path(self._tmp.name) / "anon.db"
        con = sqlite3.connect(db)
        con.execute("CREATE TABLE runs (id TEXT PRIMARY KEY)")
        con.execute("CREATE TABLE run_events (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT, "
                    "step_index INTEGER, event_type TEXT, event_data TEXT, timestamp TEXT)")
        con.execute("INSERT INTO runs VALUES ('r')")
        for kind, data in [("tool_start", {"name": "x"}), ("tool_complete", {"name": "x", "is_error": 1}),
                           ("tool_complete", "not json")]:
            con.execute("INSERT INTO run_events (run_id, step_index, event_type, event_data, timestamp) "
                        "VALUES ('r', 0, ?, ?, '')", (kind, data if isinstance(data, str) else json.dumps(data)))
        con.commit()
        con.close()
        snap = measure.db_snapshot(db)
        self.assertEqual(snap["r"]["order"], ["#anonymous-0", "#anonymous-1"])
        self.assertTrue(measure.truthy(snap["r"]["calls"]["#anonymous-0"]["complete"]["is_error"]))


if __name__ == "__main__":
    unittest.main()
