#!/usr/bin/env python3
"""Codex CLI (``@openai/codex``), offline against ``standin_responses.OpenAIResponses``.

The interface is ``common.py``'s. Checked 2026-12-07 with the real 0.169.0:

- ``setup`` writes ``$CODEX_HOME/config.toml`` (``CODEX_HOME=<home>/.codex``) with
  ``model = "gpt-5.5"`` and a ``[model_providers.standin]`` (``wire_api = "responses"``, no
  retries). The model must be one of the binary's bundled models (``gpt-5.5``): with an
  unknown slug Codex warns "Model metadata for `m` not found", uses fallback metadata and
  offers **no** ``apply_patch`` tool (``[features] apply_patch_freeform = true`` does not bring
  it back).
- Tools of one request (``gpt-5.5``): functions ``exec_command``, ``write_stdin``,
  ``request_user_input``, ``view_image``, ``get_goal``, ``create_goal``, ``update_goal``; the
  custom (freeform) tool ``apply_patch`` (a Lark grammar; its input is the patch text);
  ``tool_search`` and ``web_search``. There is no read tool: the scenario's reads are
  ``cat`` through ``exec_command``.
- ``run`` is ``codex exec --skip-git-repo-check --dangerously-bypass-approvals-and-sandbox
  --dangerously-bypass-hook-trust PROMPT < /dev/null`` in the project.
- ``records`` are the rollouts ``$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<ts>-<id>.jsonl``
  whose ``session_meta`` names the project as ``cwd``.
- Hooks: see ``write_hook`` and ``tests/data/codex-0.169.0/README.md``.

``python3 tests/harness/agents/codex.py --work DIR [--fixture]`` installs the pinned Codex
under ``target/harness/codex-0.169.0``, runs the common scenario once in ``DIR`` (the stand-in's
record is ``DIR/requests.jsonl``) and prints what happened; ``--fixture`` also writes
``tests/data/codex-0.169.0/`` (the rollout and the hook inputs, normalised).
"""

import argparse
import hashlib
import json
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
import common  # noqa: E402
from standin_responses import OpenAIResponses  # noqa: E402

NAME = "codex"
PACKAGE = "@openai/codex"
VERSION = "0.169.0"
BIN = "codex"
PROTOCOL = OpenAIResponses

MODEL = "gpt-5.5"  # a bundled model: its metadata makes Codex offer apply_patch
KEY_VAR = "STANDIN_API_KEY"
SHELL_TOOL = "exec_command"
PATCH_TOOL = "apply_patch"
# What a hook sees as ``tool_name`` (and its matcher is matched against).
HOOK_SHELL_NAME = "Bash"
HOOK_PATCH_NAME = "apply_patch"
PATCH = (
    "*** Begin Patch\n"
    f"*** Update File: {common.NOTES}\n"
    "@@\n"
    f"-{common.OLD}\n"
    f"+{common.NEW}\n"
    "*** End Patch\n"
)


def install(prefix, version=VERSION):
    return common.npm_install(prefix, PACKAGE, version, BIN)


def codex_home(home):
    return Path(home) / ".codex"


def config_text(base_url):
    base_url = base_url.rstrip("/")
    if not base_url.endswith("/v1"):
        base_url += "/v1"
    return (
        f'model = "{MODEL}"\n'
        'model_provider = "standin"\n'
        "\n"
        "[model_providers.standin]\n"
        'name = "standin"\n'
        f'base_url = "{base_url}"\n'
        f'env_key = "{KEY_VAR}"\n'
        'wire_api = "responses"\n'
        "request_max_retries = 0\n"
        "stream_max_retries = 0\n"
    )


def setup(home, project, base_url):
    """Writes ``<home>/.codex/config.toml``; the environment to run Codex with."""
    ch = codex_home(home)
    ch.mkdir(parents=True, exist_ok=True)
    (ch / "config.toml").write_text(config_text(base_url), encoding="utf-8")
    env = common.base_env(home)
    env.update(CODEX_HOME=str(ch), **{KEY_VAR: "standin-key"})
    return env


def steps(project):
    """The common scenario in Codex's tools (no read tool: reads are ``cat``)."""
    def sh(cmd):
        return {"tool": SHELL_TOOL, "args": {"cmd": cmd}, "label": cmd}

    return [
        sh(common.FAILING),
        sh(common.PASSING),
        sh(f"cat {common.MISSING}"),
        sh(f"cat {common.NOTES}"),
        {"tool": PATCH_TOOL, "args": {"input": PATCH}, "label": "apply_patch notes.txt"},
    ]


def run(exe, env, project, prompt, timeout=120):
    cmd = [str(exe), "exec", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox",
           "--dangerously-bypass-hook-trust", prompt]
    return subprocess.run(cmd, cwd=project, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout)


def _session_cwd(path):
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                obj = json.loads(line)
                if obj.get("type") == "session_meta":
                    return obj.get("payload", {}).get("cwd")
    except (OSError, ValueError):
        pass
    return None


def records(home, project):
    """The rollouts under ``$CODEX_HOME/sessions`` whose session ran in ``project``, oldest
    first."""
    root = codex_home(home) / "sessions"
    found = sorted(root.glob("*/*/*/rollout-*.jsonl"))
    project = str(Path(project).resolve())
    return [p for p in found if _session_cwd(p) in (None, project)]


def save_fixture(home, project, dest):
    """The rollouts, normalised, into ``dest/sessions/YYYY/MM/DD/`` (a CODEX_HOME layout)."""
    dest = Path(dest)
    root = codex_home(home) / "sessions"
    out = []
    for path in records(home, project):
        target = dest / "sessions" / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(common.normalise(path.read_text(encoding="utf-8"), home, project), encoding="utf-8")
        out.append(target)
    return out


# --- hooks ------------------------------------------------------------------------------------

HOOK_SCRIPT = r'''import json, os, sys
data = sys.stdin.read()
with open(os.environ.get("HOOK_LOG") or {log!r}, "a", encoding="utf-8") as f:
    f.write(data.strip().replace("\n", " ") + "\n")
try:
    event = json.loads(data).get("hook_event_name", "PostToolUse")
except ValueError:
    event = "PostToolUse"
print(json.dumps({{"hookSpecificOutput": {{"hookEventName": event,
                                           "additionalContext": "SELFHEAL-CTX-MARKER " + event}}}}))
'''


def hook_script(path, log):
    """Writes a hook that appends its stdin JSON to ``log`` and answers ``additionalContext``
    ``SELFHEAL-CTX-MARKER <event>``; the command to register."""
    path = Path(path)
    path.write_text(HOOK_SCRIPT.format(log=str(log)), encoding="utf-8")
    return f"python3 {shlex.quote(str(path))}"


EVENT_KEYS = {"PreToolUse": "pre_tool_use", "PostToolUse": "post_tool_use", "SessionStart": "session_start",
              "UserPromptSubmit": "user_prompt_submit", "Stop": "stop"}


def hooks_toml(command, events=("PreToolUse", "PostToolUse"), matcher=".*", timeout=30):
    out = []
    for event in events:
        out.append(f"[[hooks.{event}]]")
        if matcher is not None:
            out.append(f"matcher = {json.dumps(matcher)}")
        out += [f"[[hooks.{event}.hooks]]", 'type = "command"', f"command = {json.dumps(command)}",
                f"timeout = {timeout}", ""]
    return "\n".join(out)


def hook_trust_hash(event, matcher, command, timeout):
    """What Codex 0.169.0 stores as ``trusted_hash`` for one command hook (and reports as
    ``currentHash`` in ``codex app-server`` ``hooks/list``): ``sha256:`` and the hex SHA-256 of
    the compact, key-sorted JSON ``{"event_name": "post_tool_use", "hooks": [{"async": false,
    "command": ..., "timeout": N, "type": "command"}], "matcher": ...}`` (no ``matcher`` key
    when the group has none). Checked against ``hooks/list`` for both events."""
    identity = {"event_name": EVENT_KEYS[event],
                "hooks": [{"async": False, "command": command, "timeout": timeout, "type": "command"}]}
    if matcher is not None:
        identity["matcher"] = matcher
    raw = json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(raw.encode("utf-8")).hexdigest()


def hook_state_toml(config_path, command, events, matcher, timeout, first_group=0):
    """``[hooks.state."<config path>:<event>:<group>:0"] trusted_hash = ...`` for the groups
    ``hooks_toml`` writes (each event's group ``first_group``, its one handler ``0``)."""
    out = []
    for event in events:
        key = f"{config_path}:{EVENT_KEYS[event]}:{first_group}:0"
        out += [f"[hooks.state.{json.dumps(key)}]",
                f"trusted_hash = {json.dumps(hook_trust_hash(event, matcher, command, timeout))}", ""]
    return "\n".join(out)


def write_hook(home, project, command, events=("PreToolUse", "PostToolUse"), matcher=".*", scope="project",
               trust=False, timeout=30):
    """Registers ``command`` for ``events`` on the tool calls whose hook ``tool_name`` matches
    the regex ``matcher`` (``Bash`` is the shell; ``apply_patch`` the edit, which ``Edit`` and
    ``Write`` match too; ``exec_command`` matches nothing). Appends to files that hold no
    hooks yet (group index 0).

    ``scope="project"`` (works in 0.169.0): the hooks go to ``<project>/.codex/config.toml``
    and the project is marked trusted in ``$CODEX_HOME/config.toml`` (``[projects."<abs
    path>"] trust_level = "trusted"``, what ``codex exec --trust`` writes); without that
    entry the whole project layer is ignored, with a warning on stderr ("Untrusted
    project-local configuration is disabled"), even with ``--dangerously-bypass-hook-trust``.
    ``scope="user"``: the hooks go to ``$CODEX_HOME/config.toml``.

    Either way a hook runs only when trusted: ``run`` passes ``--dangerously-bypass-hook-trust``;
    ``trust=True`` instead writes ``[hooks.state."<config path>:<event>:0:0"] trusted_hash``
    into ``$CODEX_HOME/config.toml`` (``hook_trust_hash``), which lets a plain ``codex exec``
    run them. An untrusted hook is skipped without a word. Returns the file the hooks are in."""
    block = hooks_toml(command, events, matcher, timeout)
    user_cfg = codex_home(home) / "config.toml"
    user_cfg.parent.mkdir(parents=True, exist_ok=True)
    user_cfg = user_cfg.parent.resolve() / user_cfg.name
    additions = []
    if scope == "user":
        cfg = user_cfg
        additions.append(block)
    else:
        project = Path(project).resolve()
        cfg = project / ".codex" / "config.toml"
        cfg.parent.mkdir(parents=True, exist_ok=True)
        with open(cfg, "a", encoding="utf-8") as f:
            f.write(block)
        trust_entry = f'[projects.{json.dumps(str(project))}]\ntrust_level = "trusted"\n'
        text = user_cfg.read_text(encoding="utf-8") if user_cfg.exists() else ""
        if trust_entry not in text:
            additions.append(trust_entry)
    if trust:
        additions.append(hook_state_toml(cfg, command, events, matcher, timeout))
    if additions:
        with open(user_cfg, "a", encoding="utf-8") as f:
            f.write("\n" + "\n".join(additions))
    return cfg


# --- the scenario, once -----------------------------------------------------------------------


def model_calls(record_path, start=0):
    """The tool calls the stand-in answered (``label`` per reply), in order."""
    from standin import read_records
    return [r["reply"] for r in read_records(record_path, start) if r.get("path", "").startswith("/v1/responses")]


def rollout_calls(path):
    """``(name, arguments or input, output)`` per call in a rollout, paired by ``call_id``."""
    calls, outputs = {}, {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            obj = json.loads(line)
            if obj.get("type") != "response_item":
                continue
            p = obj["payload"]
            if p.get("type") in ("function_call", "custom_tool_call"):
                calls[p["call_id"]] = (p["name"], p.get("arguments", p.get("input")))
            elif p.get("type") in ("function_call_output", "custom_tool_call_output"):
                outputs[p["call_id"]] = p.get("output")
    return [(name, args, outputs.get(cid)) for cid, (name, args) in calls.items()]


def main(argv=None):
    ap = argparse.ArgumentParser(description="Run the common scenario once with a real Codex CLI, offline.")
    ap.add_argument("--work", required=True, help="work directory (home/, project/, requests.jsonl, ...)")
    ap.add_argument("--fixture", action="store_true", help="write tests/data/codex-0.169.0/")
    ap.add_argument("--codex", help="a codex executable (default: install the pinned one)")
    ap.add_argument("--no-hooks", action="store_true", help="do not register the recording hook")
    args = ap.parse_args(argv)

    import standin_responses
    work = Path(args.work).resolve()
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    exe = Path(args.codex) if args.codex else install(common.default_prefix(NAME, VERSION))
    record = work / "requests.jsonl"
    home, project = work / "home", common.make_project(work / "project")
    server = standin_responses.StandIn({"steps": steps(project), "final_text": "done"}, str(record))
    try:
        env = setup(home, project, server.base_url)
        hook_log = work / "hook-inputs.jsonl"
        if not args.no_hooks:
            command = hook_script(work / "hook.py", hook_log)
            write_hook(home, project, command)
        t0 = time.monotonic()
        proc = run(exe, env, project, common.PROMPT)
        took = time.monotonic() - t0
    finally:
        server.close()
    print(f"codex exec: exit {proc.returncode} in {took:.2f} s")
    (work / "codex.stdout").write_text(proc.stdout, encoding="utf-8")
    (work / "codex.stderr").write_text(proc.stderr, encoding="utf-8")
    print("model answers:")
    for reply in model_calls(record):
        print("  ", json.dumps({k: reply.get(k) for k in ("step", "kind", "label", "text") if reply.get(k) is not None}))
    rollouts = records(home, project)
    print("records:")
    for p in rollouts:
        print("  ", p)
        for name, a, out in rollout_calls(p):
            first = (out or "").replace("\n", " | ")[:160]
            print(f"     {name} {json.dumps(a)[:80]} -> {first}")
    notes = (project / common.NOTES).read_text(encoding="utf-8")
    print(f"{common.NOTES}: {notes!r} ({'changed' if common.NEW in notes else 'NOT changed'})")
    if hook_log.exists():
        events = [json.loads(line) for line in hook_log.read_text(encoding="utf-8").splitlines() if line.strip()]
        print(f"hook inputs: {len(events)} ({', '.join(e.get('hook_event_name', '?') + ':' + str(e.get('tool_name')) for e in events)})")
    if args.fixture:
        dest = common.repo_root() / "tests" / "data" / f"{NAME}-{VERSION}"
        for old in (dest / "sessions",):
            if old.exists():
                shutil.rmtree(old)
        dest.mkdir(parents=True, exist_ok=True)
        written = save_fixture(home, project, dest)
        if hook_log.exists():
            text = common.normalise(hook_log.read_text(encoding="utf-8"), home, project)
            (dest / "hook-inputs.jsonl").write_text(text, encoding="utf-8")
            written.append(dest / "hook-inputs.jsonl")
        print("fixture:", *written, sep="\n   ")
    ok = proc.returncode == 0 and common.NEW in notes and rollouts
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
