// self-heal for OpenCode: after every tool call, ask `self-heal hook` for guidance and append
// it to the tool's output, which is what the model reads next.
//
// `self-heal install opencode` writes this file to `.opencode/plugin/self-heal.js` with one line
// before it, `const SELF_HEAL_ARGV = ["/path/to/self-heal", "--db", "/path/db", "hook"];`.
// The rest never changes. The hook gets one JSON object on stdin (the shape of the other
// harnesses' PostToolUse hooks) and may answer
// `{"hookSpecificOutput": {"additionalContext": "…"}}` on stdout. Anything going wrong (no
// binary, a crash, no answer within 5 s, bad JSON) leaves the tool's output as it was.
//
// Checked with OpenCode 1.18.33: `tool.execute.after` gets `({tool, sessionID, callID, args},
// {title, metadata, output})` for calls that return, including a shell command that exits
// non-zero (`metadata.exit`); it does not fire for a tool that throws.

import { spawn } from "node:child_process";

const TIMEOUT_MS = 5000;
const MAX_OUTPUT_CHARS = 4000;

function askSelfHeal(argv, request) {
  return new Promise((resolve) => {
    let done = false;
    let stdout = "";
    let timer;
    const finish = (value) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(value);
    };
    try {
      if (!Array.isArray(argv) || argv.length === 0) return finish("");
      const child = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "pipe", "ignore"] });
      timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {}
        finish("");
      }, TIMEOUT_MS);
      child.on("error", () => finish(""));
      child.stdout.setEncoding("utf8");
      child.stdout.on("data", (chunk) => {
        stdout += chunk;
      });
      child.on("close", (code) => finish(code === 0 ? stdout : ""));
      child.stdin.on("error", () => {});
      child.stdin.end(JSON.stringify(request));
    } catch {
      finish("");
    }
  });
}

function additionalContext(stdout) {
  try {
    const answer = JSON.parse(stdout.trim() || "null");
    const text = answer?.hookSpecificOutput?.additionalContext;
    return typeof text === "string" ? text.trim() : "";
  } catch {
    return "";
  }
}

export const SelfHealPlugin = async ({ directory, worktree } = {}) => {
  const argv = typeof SELF_HEAL_ARGV === "undefined" ? [] : SELF_HEAL_ARGV;
  const cwd = directory || worktree || process.cwd();
  return {
    "tool.execute.after": async (input, output) => {
      try {
        const text = typeof output?.output === "string" ? output.output : "";
        const request = {
          hook_event_name: "PostToolUse",
          harness: "opencode",
          session_id: input?.sessionID,
          cwd,
          tool_name: input?.tool,
          tool_use_id: input?.callID,
          tool_input: input?.args ?? {},
          tool_response: {
            exit: output?.metadata?.exit ?? null,
            output: text.slice(0, MAX_OUTPUT_CHARS),
          },
        };
        const guidance = additionalContext(await askSelfHeal(argv, request));
        if (guidance && output && typeof output.output === "string") {
          output.output += "\n\n" + guidance;
        }
      } catch {
        // never let guidance break a tool call
      }
    },
  };
};
