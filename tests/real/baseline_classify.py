#!/usr/bin/env python3
"""A naive keyword classifier with the input and output of `self-heal classify`.

It reads JSONL requests `{tool, message, error_type?, duration_ms?, input?, exit_code?,
interrupted?}` on stdin and prints one JSON object per line, in order: `outcome`, `class`,
`confidence`, `signals`, `program`, `template`. Its rules are the obvious ones (first matching
phrase wins, no weighing of signals, no reduction of long outputs), so it is a floor to compare
the real classifier with, and the command that checks measure.py while `self-heal classify`
does not exist:

    measure.py --traces DIR --skip-import --classify-cmd "python3 tests/real/baseline_classify.py"

`template` is always null: this baseline does not mine templates.
"""

import json
import re
import shlex
import sys

SHELL_TOOLS = {"bash", "shell", "exec_command", "run_shell_command", "shell_command", "local_shell"}

REJECTED = [
    "doesn't want to proceed with this tool use",
    "rejected by user",
    "user denied",
    "permission for this tool use was denied",
    "user rejected tool use",
]
CANCELLED = [
    "cancelled: parallel tool call",
    "[request interrupted by user",
    "[operation cancelled]",
    "operation was aborted",
]
# Programs whose exit status 1 is an answer ("nothing found", "they differ", "false").
ANSWERING = {"grep", "egrep", "fgrep", "rg", "ag", "diff", "cmp", "test", "[", "which"}

CLASSES = [
    ("timeout", [r"timed out", r"\btimeout\b", r"deadline exceeded"]),
    ("connection_refused", [r"connection refused", r"econnrefused"]),
    ("network_error", [r"could not resolve host", r"name resolution", r"network is unreachable",
                       r"connection reset", r"\benotfound\b"]),
    ("oom", [r"out of memory", r"\boom\b", r"cannot allocate memory", r"memoryerror"]),
    ("rate_limited", [r"\b429\b", r"rate limit", r"too many requests"]),
    ("dependency_failure", [r"command not found", r"no module named", r"modulenotfounderror",
                            r"not installed"]),
    ("stale_state", [r"has not been read", r"modified since read", r"string to replace not found",
                     r"verification failed", r"failed to find expected lines",
                     r"0 occurrences found"]),
    ("invalid_input", [r"inputvalidationerror", r"unrecognized (argument|option)",
                       r"invalid (option|argument|parameter)", r"unexpected parameter",
                       r"required property", r"usage:", r"\b400\b"]),
    ("permission_denied", [r"permission denied", r"\b403\b", r"forbidden", r"eacces",
                           r"password is required"]),
    ("not_found", [r"no such file", r"does not exist", r"\b404\b", r"not found", r"enoent",
                   r"cannot access"]),
    ("server_crashed", [r"segmentation fault", r"core dumped", r"panicked at"]),
    ("command_failed", [r"traceback \(most recent call last\)", r"\berror\b", r"failed",
                        r"exit code [1-9]"]),
]

ENV_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
WRAPPERS = {"sudo", "env", "nohup", "time", "exec", "command", "xargs", "nice"}


def command_text(tool_input):
    """The shell command of a call's input, whatever the tool's argument shape."""
    if isinstance(tool_input, str):
        return tool_input
    if isinstance(tool_input, dict):
        for key in ("command", "cmd", "script"):
            value = tool_input.get(key)
            if isinstance(value, list):
                # ["bash", "-lc", "<script>"]: the script is what ran.
                if len(value) >= 3 and value[1] in ("-lc", "-c"):
                    return str(value[2])
                return " ".join(str(v) for v in value)
            if isinstance(value, str):
                return value
    return ""


def program_of(command):
    """First program of a command line, past env assignments, sudo, `cd … &&`, `timeout N`."""
    for segment in re.split(r"&&|\|\||;|\n", command):
        try:
            words = shlex.split(segment, comments=True)
        except ValueError:
            words = segment.split()
        while words and (ENV_ASSIGN.match(words[0]) or words[0] in WRAPPERS):
            words = words[1:]
            while words and words[0].startswith("-"):
                words = words[1:]
        if words and words[0] == "timeout":
            words = [w for w in words[1:] if not w.startswith("-")][1:]
        if not words or words[0] in ("cd", "pushd", "export", "set", "source", "."):
            continue
        return words[0].rsplit("/", 1)[-1].lower()
    return None


def classify(req):
    tool = str(req.get("tool", ""))
    message = str(req.get("message", ""))
    low = message.lower()
    exit_code = req.get("exit_code")
    signals = []
    program = program_of(command_text(req.get("input"))) if tool.lower() in SHELL_TOOLS else None

    outcome, cls, confidence = "failure", None, 0.5
    if any(p in low for p in REJECTED):
        outcome, confidence = "rejected", 0.9
        signals.append("rejection phrase")
    elif req.get("interrupted") or any(p in low for p in CANCELLED):
        outcome, confidence = "cancelled", 0.9
        signals.append("cancellation phrase" if not req.get("interrupted") else "interrupted")
    elif exit_code == 1 and program in ANSWERING and len(message.strip()) < 200:
        outcome, confidence = "benign", 0.7
        signals.append(f"{program} exit 1")
    if outcome == "failure":
        recorded = req.get("error_type")
        if recorded:
            cls, confidence = str(recorded), 0.9
            signals.append("recorded error_type")
        elif exit_code == 124:
            cls, confidence = "timeout", 0.7
            signals.append("exit 124")
        elif exit_code == 137:
            cls, confidence = "oom", 0.5
            signals.append("exit 137")
        else:
            for name, patterns in CLASSES:
                hit = next((p for p in patterns if re.search(p, low)), None)
                if hit:
                    cls = name
                    signals.append(f"phrase /{hit}/")
                    break
            if cls is None:
                cls, confidence = "Unknown", 0.1
    return {
        "outcome": outcome,
        "class": cls,
        "confidence": confidence,
        "signals": signals,
        "program": program,
        "template": None,
    }


def main():
    for n, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            req = json.loads(line)
        except json.JSONDecodeError:
            print(f"line {n}: not JSON", file=sys.stderr)
            return 1
        if not isinstance(req, dict):
            print(f"line {n}: not a JSON object", file=sys.stderr)
            return 1
        print(json.dumps(classify(req)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
