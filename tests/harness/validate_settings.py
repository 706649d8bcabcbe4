#!/usr/bin/env python3
"""Schema check: is every settings file ``self-heal install`` writes valid for its harness?

For each harness with a published schema (committed under ``tests/data/schemas/``, sources in
its README), in a throw-away HOME and project, for both scopes (``--project DIR`` and
``--user``) and both starting points (nothing there, and a realistic settings file the user
already had), it runs::

    self-heal --db <tmp>/h.db install <harness> --project <tmp>/project --yes   # or --user
    self-heal --db <tmp>/h.db install <harness> ... --yes                       # again
    self-heal --db <tmp>/h.db uninstall <harness> ... --yes

and checks, one line each (``PASS ...`` / ``FAIL ...: detail``):

- the pre-existing file itself is valid (so a failure below is self-heal's, not the fixture's);
- ``install`` exits 0 and writes the file;
- the written file parses the way the harness parses it (Claude Code and Copilot: JSON;
  Gemini CLI: JSON after ``strip-json-comments``, i.e. ``//`` and ``/* */`` comments outside
  strings become whitespace; Codex: TOML) and validates against the harness's schema (every
  error is printed with its JSON path);
- installing again changes no byte;
- ``uninstall`` exits 0 and leaves every pre-existing file byte-identical (and what it
  leaves behind from an empty start still validates).

Files: Claude Code ``.claude/settings.json`` (SchemaStore ``claude-code-settings.json``;
``.mcp.json`` has no published schema, so only its parse and uninstall are checked); Gemini
CLI ``.gemini/settings.json`` (its ``schemas/settings.schema.json``); Codex
``.codex/config.toml`` (its ``codex-rs/core/config.schema.json``, and the ``[hooks]`` table
also against SchemaStore's ``codex-hooks.json``, the same shape in ``hooks.json``). Copilot
CLI (``.github/hooks/self-heal.json``) and OpenCode (a ``.js`` plugin, no ``opencode.json``)
have no published schema for what self-heal writes, so they are not checked here.

Needs the ``jsonschema`` package (``pip install jsonschema``); Python 3.11+ (``tomllib``).
Exit status: 0 when every check passed, 1 when one failed, 2 when it could not run.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python < 3.11
    tomllib = None

try:
    import jsonschema
except ImportError:
    jsonschema = None

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SCHEMAS = REPO / "tests" / "data" / "schemas"
sys.dont_write_bytecode = True

# ---------------------------------------------------------------------------------------
# Pre-existing settings files: what a user plausibly has before installing self-heal. Each is
# checked against the schema before it is used.

CLAUDE_SETTINGS = """{
  "$schema": "https://json.schemastore.org/claude-code-settings.json",
  "model": "claude-sonnet-4-5",
  "permissions": {
    "allow": ["Bash(npm run test:*)", "Bash(git diff:*)", "Read(./src/**)"],
    "deny": ["Read(./.env)", "Read(./secrets/**)"],
    "defaultMode": "acceptEdits"
  },
  "env": {
    "NODE_ENV": "development"
  },
  "hooks": {
    "PostToolUse": [
      {
        "matcher": "Edit|Write",
        "hooks": [
          {
            "type": "command",
            "command": "npx prettier --write \\"$CLAUDE_PROJECT_DIR\\"/src",
            "timeout": 30
          }
        ]
      }
    ]
  },
  "includeCoAuthoredBy": false
}
"""

CLAUDE_MCP = """{
  "mcpServers": {
    "github": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-github"],
      "env": {
        "GITHUB_PERSONAL_ACCESS_TOKEN": "${GITHUB_TOKEN}"
      }
    }
  }
}
"""

GEMINI_SETTINGS = """{
  // Project settings for Gemini CLI (JSON with comments).
  "general": {
    "vimMode": false, // keep the default editor keys
    "preferredEditor": "vscode"
  },
  /* The model and tools this team uses. A URL in a string is not a comment: http://x/y */
  "model": {
    "name": "gemini-2.5-pro"
  },
  "tools": {
    "sandbox": false
  },
  "context": {
    "fileName": ["GEMINI.md", "AGENTS.md"]
  },
  "hooks": {
    "BeforeTool": [
      {
        "matcher": "run_shell_command",
        "hooks": [
          {
            "name": "audit",
            "type": "command",
            "command": "./scripts/audit-shell.sh",
            "timeout": 3000
          }
        ]
      }
    ]
  }
}
"""

CODEX_CONFIG = """# Codex settings for this project.
model = "gpt-5-codex"
approval_policy = "on-request"
sandbox_mode = "workspace-write"

[features]
hooks = true

[sandbox_workspace_write]
network_access = false  # no network from the sandbox

[mcp_servers.docs]
command = "npx"
args = ["-y", "docs-mcp-server"]

# A hook the team already had.
[[hooks.PostToolUse]]
matcher = "apply_patch"

[[hooks.PostToolUse.hooks]]
type = "command"
command = "./scripts/format.sh"
timeout = 30
"""

# ---------------------------------------------------------------------------------------


def strip_json_comments(text):
    """What Gemini CLI does before JSON.parse (strip-json-comments 3.1.1, whitespace mode):
    ``//`` and ``/* */`` comments outside strings become spaces, newlines are kept."""
    out = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        c = text[i]
        if in_string:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_string = False
            i += 1
        elif c == '"':
            in_string = True
            out.append(c)
            i += 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join(ch if ch in "\r\n" else " " for ch in text[i:j]))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def parse_json(text):
    return json.loads(text)


def parse_jsonc(text):
    return json.loads(strip_json_comments(text))


def parse_toml(text):
    return tomllib.loads(text)


# One entry per harness: the files install writes (relative to the project or the home), each
# with its parser and the schema checks [(label, schema file, function data -> instance)].
WHOLE = lambda data: data  # noqa: E731

HARNESSES = {
    "claude-code": {
        "files": {
            ".claude/settings.json": {
                "parse": parse_json,
                "schemas": [("claude-code-settings.json", "claude-code-settings.json", WHOLE)],
                "existing": CLAUDE_SETTINGS,
            },
            # Written for a project only; no published schema for .mcp.json.
            ".mcp.json": {"parse": parse_json, "schemas": [], "existing": CLAUDE_MCP, "project_only": True},
        },
    },
    "gemini": {
        "files": {
            ".gemini/settings.json": {
                "parse": parse_jsonc,
                "schemas": [("gemini-cli-settings.json", "gemini-cli-settings.json", WHOLE)],
                "existing": GEMINI_SETTINGS,
            },
        },
    },
    "codex": {
        "files": {
            ".codex/config.toml": {
                "parse": parse_toml,
                "schemas": [
                    ("codex-config.json", "codex-config.json", WHOLE),
                    ("codex-hooks.json ([hooks] table)", "codex-hooks.json",
                     lambda data: {"hooks": data["hooks"]} if "hooks" in data else None),
                ],
                "existing": CODEX_CONFIG,
            },
        },
    },
}


class Tally:
    def __init__(self):
        self.passed = 0
        self.failures = []

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"PASS {name}", flush=True)
        else:
            self.failures.append(name)
            print(f"FAIL {name}" + (f": {detail}" if detail else ""), flush=True)
        return ok


_schema_cache = {}


def validator(schema_file):
    if schema_file not in _schema_cache:
        schema = json.loads((SCHEMAS / schema_file).read_text(encoding="utf-8"))
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        # No format checking: the harnesses do not check formats either, and these schemas
        # use non-standard ones (uint64, int32).
        _schema_cache[schema_file] = cls(schema)
    return _schema_cache[schema_file]


def json_path(path):
    out = "$"
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


def schema_errors(schema_file, instance):
    errs = sorted(validator(schema_file).iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
    lines = []
    for e in errs:
        msg = e.message if len(e.message) <= 400 else e.message[:400] + "…"
        lines.append(f"at {json_path(e.absolute_path)}: {msg} (schema {'/'.join(map(str, e.absolute_schema_path))})")
    return lines


def run_cli(cli, args, env):
    for attempt in range(30):  # the binary may be being rebuilt: wait for it a little
        if os.access(cli, os.X_OK):
            break
        time.sleep(1)
    return subprocess.run([cli, *args], env=env, capture_output=True, text=True, timeout=120)


def case(tally, cli, work, harness, scope, start):
    spec = HARNESSES[harness]
    tag = f"{harness} --{scope} ({start})"
    root = work / f"{harness}-{scope}-{start}"
    home, project = root / "home", root / "project"
    home.mkdir(parents=True)
    project.mkdir()
    base = project if scope == "project" else home
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_PATH", "INBOX_PATH", "SELFHEAL_HOOK_LOG")}
    env.update(HOME=str(home), XDG_STATE_HOME=str(root / "state"), XDG_CONFIG_HOME=str(home / ".config"),
               NO_COLOR="1")
    where = ["--project", str(project)] if scope == "project" else ["--user"]
    db = ["--db", str(root / "h.db")]

    files = {rel: f for rel, f in spec["files"].items() if scope == "project" or not f.get("project_only")}
    before = {}
    if start == "existing":
        for rel, f in files.items():
            path = base / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f["existing"], encoding="utf-8")
            before[rel] = path.read_bytes()
            data = f["parse"](f["existing"])
            for label, schema_file, pick in f["schemas"]:
                inst = pick(data)
                if inst is None:
                    continue
                errs = schema_errors(schema_file, inst)
                tally.check(f"{tag}: the pre-existing {rel} is valid for {label}", not errs, "; ".join(errs))

    r = run_cli(cli, [*db, "install", harness, *where, "--yes"], env)
    if not tally.check(f"{tag}: install exits 0", r.returncode == 0,
                       f"exit {r.returncode}: {(r.stderr or r.stdout).strip()[-600:]}"):
        return

    written = {}
    for rel, f in files.items():
        path = base / rel
        if not tally.check(f"{tag}: install wrote {rel}", path.is_file(), "no such file"):
            continue
        written[rel] = raw = path.read_bytes()
        try:
            data = f["parse"](raw.decode("utf-8"))
        except Exception as e:  # noqa: BLE001 - any parse error is the finding
            tally.check(f"{tag}: {rel} parses as the harness parses it", False, f"{type(e).__name__}: {e}")
            continue
        tally.check(f"{tag}: {rel} parses as the harness parses it", True)
        if not f["schemas"]:
            print(f"SKIP {tag}: {rel}: no published schema", flush=True)
        for label, schema_file, pick in f["schemas"]:
            inst = pick(data)
            if inst is None:
                tally.check(f"{tag}: {rel} has the hooks table checked by {label}", False, "no [hooks] table")
                continue
            errs = schema_errors(schema_file, inst)
            tally.check(f"{tag}: {rel} is valid for {label}", not errs,
                        f"{len(errs)} error(s):\n    " + "\n    ".join(errs) if errs else "")

    r = run_cli(cli, [*db, "install", harness, *where, "--yes"], env)
    same = r.returncode == 0 and all((base / rel).read_bytes() == raw for rel, raw in written.items())
    tally.check(f"{tag}: installing again changes nothing", same,
                f"exit {r.returncode}: {(r.stderr or r.stdout).strip()[-400:]}" if r.returncode else "a file changed")

    r = run_cli(cli, [*db, "uninstall", harness, *where, "--yes"], env)
    if not tally.check(f"{tag}: uninstall exits 0", r.returncode == 0,
                       f"exit {r.returncode}: {(r.stderr or r.stdout).strip()[-600:]}"):
        return
    for rel, f in files.items():
        path = base / rel
        if rel in before:
            now = path.read_bytes() if path.is_file() else None
            detail = "file removed" if now is None else first_difference(before[rel], now)
            tally.check(f"{tag}: uninstall leaves the pre-existing {rel} byte-identical", now == before[rel], detail)
        elif path.is_file():
            # What an uninstall leaves from an empty start must still be a valid file.
            try:
                data = f["parse"](path.read_text(encoding="utf-8"))
            except Exception as e:  # noqa: BLE001
                tally.check(f"{tag}: {rel} left by uninstall parses", False, f"{type(e).__name__}: {e}")
                continue
            for label, schema_file, pick in f["schemas"]:
                inst = pick(data)
                if inst is None:
                    continue
                errs = schema_errors(schema_file, inst)
                tally.check(f"{tag}: {rel} left by uninstall is valid for {label}", not errs, "; ".join(errs))


def first_difference(a, b):
    la, lb = a.decode("utf-8", "replace").splitlines(), b.decode("utf-8", "replace").splitlines()
    for i, (x, y) in enumerate(zip(la, lb)):
        if x != y:
            return f"line {i + 1}: was {x!r}, now {y!r}"
    return f"{len(a)} bytes before, {len(b)} after (lines {len(la)} vs {len(lb)})"


def self_test(tally):
    """The comment stripper against the cases strip-json-comments documents."""
    cases = [
        ('{"a": 1 // c\n}', {"a": 1}),
        ('{/* c */"a": "http://x//y"}', {"a": "http://x//y"}),
        ('{"a": "q\\"//not"}', {"a": 'q"//not'}),
        ('{"a": "/* no */"}', {"a": "/* no */"}),
    ]
    ok = all(parse_jsonc(t) == want for t, want in cases)
    tally.check("self-test: JSON-with-comments stripping", ok)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n", 2)[2])
    ap.add_argument("--cli", default=str(REPO / "target" / "debug" / "self-heal"),
                    help="self-heal binary (default %(default)s)")
    ap.add_argument("--only", help=f"comma-separated harnesses (default all: {','.join(HARNESSES)})")
    ap.add_argument("--work", type=Path, help="work directory (kept)")
    args = ap.parse_args(argv)

    if jsonschema is None:
        print("validate_settings.py needs the jsonschema package, which this Python lacks:\n"
              f"    {sys.executable} -m pip install jsonschema\n"
              "(CI installs it into target/ci-venv and runs this script with that venv's python)",
              file=sys.stderr)
        return 2
    if tomllib is None:
        print("validate_settings.py needs Python 3.11+ (tomllib)", file=sys.stderr)
        return 2
    names = list(HARNESSES)
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        bad = [n for n in names if n not in HARNESSES]
        if bad:
            ap.error(f"unknown harness(es) {bad}; known: {', '.join(HARNESSES)}")
    cli = str(Path(args.cli).resolve())
    if args.work:
        work = args.work.resolve()
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
    else:
        work = Path(tempfile.mkdtemp(prefix="validate-settings-")).resolve()
    print(f"validate_settings: self-heal {cli}; work {work}; jsonschema {_jsonschema_version()}", flush=True)

    tally = Tally()
    self_test(tally)
    try:
        for harness in names:
            for scope in ("project", "user"):
                for start in ("empty", "existing"):
                    case(tally, cli, work, harness, scope, start)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)

    print(f"validate_settings: {tally.passed} passed, {len(tally.failures)} failed", flush=True)
    return 1 if tally.failures else 0


def _jsonschema_version():
    try:
        from importlib.metadata import version
        return version("jsonschema")
    except Exception:  # noqa: BLE001
        return "?"


if __name__ == "__main__":
    sys.exit(main())
