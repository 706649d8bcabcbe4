//! Shell tools and the program a shell command ran.
//!
//! Shell-only agents record every call as `Bash`, `bash`, `shell`, `exec_command`,
//! `run_shell_command`, …: one tool that runs `git`, `pytest`, `docker` and everything else.
//! Grouping their failures by tool alone would lump a failing test suite together with a
//! missing `gh`, so the analysis sub-groups shell failures by the **program** the command ran.
//!
//! [`command_of`] finds the command in a call's arguments (`command`, `cmd`, `script`, …; a
//! Codex-style argv such as `["bash", "-lc", "git fetch"]` gives its script). [`programs`]
//! lists the programs of a command line: for each simple command of a `&&` / `||` / `;` / `|`
//! list, the first word after environment assignments and wrappers (`sudo`, `env`, `timeout 5`,
//! `nohup`, `time`, …), with `cd …` and other shell built-ins that only prepare the real work
//! skipped; runners name what they run (`python -m pytest` → `pytest`, `npx tsc` → `tsc`,
//! `uv run ruff` → `ruff`); paths become their base name and names are lower-cased.
//! [`program_of`] picks the program a failure belongs to: the one the error message names
//! (`sed: can't read …`, `bash: python: command not found`), else the last one that can fail
//! on its own — in `a && b` output comes from `a` and then the error from `b`; trivial
//! commands (`echo`, `true`, `sleep`) and the filters a pipeline ends with (`| tail -3`) are
//! passed over. Here-document bodies are data, not commands.

use serde_json::Value;

/// Whether a tool runs shell commands (its failures are sub-grouped by program).
pub fn is_shell_tool(tool: &str) -> bool {
    const NAMES: [&str; 17] = [
        "bash",
        "sh",
        "zsh",
        "shell",
        "exec_command",
        "run_shell_command",
        "execute_command",
        "run_command",
        "run_terminal_cmd",
        "run_in_terminal",
        "shell_command",
        "local_shell",
        "terminal",
        "execute_bash",
        "bash_command",
        "run_bash",
        "command",
    ];
    let lower = tool.to_ascii_lowercase();
    NAMES.contains(&lower.as_str())
}

/// Whether a tool runs code the agent wrote in an interpreter or notebook (`python_exec`,
/// `execute_code`, `code_interpreter`, `jupyter_run_cell`, …): not a shell, but an error in
/// its output is the program's, as for a shell command.
pub fn is_code_tool(tool: &str) -> bool {
    const PARTS: [&str; 8] = [
        "python",
        "ipython",
        "jupyter",
        "notebook",
        "code_interpreter",
        "execute_code",
        "run_code",
        "repl",
    ];
    let lower = tool.to_ascii_lowercase();
    PARTS.iter().any(|p| lower.contains(p))
}

/// The command line of a shell call, from its arguments (a JSON object, or a bare string).
pub fn command_of(arguments: &Value) -> Option<String> {
    match arguments {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => argv_script(items),
        Value::Object(map) => {
            for key in [
                "command", "cmd", "script", "commands", "code", "input", "args",
            ] {
                match map.get(key) {
                    Some(Value::String(s)) if !s.trim().is_empty() => return Some(s.clone()),
                    Some(Value::Array(items)) => {
                        if let Some(s) = argv_script(items) {
                            return Some(s);
                        }
                    }
                    _ => {}
                }
            }
            None
        }
        _ => None,
    }
}

/// An argv: the script of `sh -c SCRIPT` / `bash -lc SCRIPT`, else the words joined.
fn argv_script(items: &[Value]) -> Option<String> {
    let words: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
    if words.is_empty() {
        return None;
    }
    let shell = base_name(words[0]);
    if matches!(shell.as_str(), "bash" | "sh" | "zsh" | "dash" | "ksh")
        && let Some(pos) = words
            .iter()
            .position(|w| w.starts_with('-') && w.contains('c'))
        && let Some(script) = words.get(pos + 1)
    {
        return Some((*script).to_string());
    }
    Some(words.join(" "))
}

/// Words that prefix the real program and are skipped.
const WRAPPERS: [&str; 12] = [
    "sudo",
    "env",
    "time",
    "nohup",
    "nice",
    "exec",
    "command",
    "builtin",
    "stdbuf",
    "ionice",
    "doas",
    "caffeinate",
];
/// Built-ins that only prepare the work of the next command in a list.
const PREPARERS: [&str; 8] = [
    "cd", "pushd", "popd", "export", "set", "source", ".", "unset",
];
/// Commands that do not fail on their own account.
const TRIVIAL: [&str; 6] = ["echo", "printf", "true", ":", "sleep", "wait"];
/// Filters that end pipelines (`… 2>&1 | tail -3`); the exit status is theirs, the failure
/// is not.
const FILTERS: [&str; 12] = [
    "head", "tail", "grep", "sort", "uniq", "wc", "tee", "less", "more", "cut", "awk", "sed",
];

/// Runners whose next word is the program that does the work.
const RUNNERS: [&str; 8] = [
    "npx", "bunx", "pnpx", "uvx", "pipx", "xargs", "watch", "strace",
];

/// One program of a command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramCall {
    /// Base name, lower case.
    pub name: String,
    /// Whether it was invoked by a path (`bin/test`, `./run.sh`), not looked up by name.
    pub by_path: bool,
    /// Whether its output goes into a pipe (`a | b`: true for `a`).
    pub piped: bool,
    /// Whether the command discards its error output (`2>/dev/null`, `&>/dev/null`).
    pub quiet: bool,
}

/// The programs of a command line, in order (see the module docs).
pub fn programs(command: &str) -> Vec<String> {
    program_calls(command).into_iter().map(|p| p.name).collect()
}

/// The programs of a command line with how they were called, in order.
pub fn program_calls(command: &str) -> Vec<ProgramCall> {
    let parts = split_list(command);
    let mut out: Vec<ProgramCall> = parts
        .iter()
        .filter_map(|(simple, piped)| call_of(simple, *piped))
        .filter(|p| !PREPARERS.contains(&p.name.as_str()))
        .collect();
    if out.is_empty() {
        // Only preparers (e.g. a bare `cd dir`): report the first of them.
        if let Some(p) = parts.iter().find_map(|(s, piped)| call_of(s, *piped)) {
            out.push(p);
        }
    }
    out
}

fn call_of(simple: &str, piped: bool) -> Option<ProgramCall> {
    let (name, by_path) = simple_program(simple)?;
    Some(ProgramCall {
        name,
        by_path,
        piped,
        quiet: simple.contains("2>/dev/null")
            || simple.contains("2> /dev/null")
            || simple.contains("&>/dev/null")
            || simple.contains("&> /dev/null"),
    })
}

/// The simple commands of a command line that run a program (preparers such as `cd` and
/// `export` left out), in order, each as its words (shell quoting removed) with its program:
/// what a remedy's command head is read from.
pub fn simple_commands(command: &str) -> Vec<(Vec<String>, String)> {
    split_list(command)
        .into_iter()
        .filter_map(|(simple, _)| {
            let (name, _) = simple_program(&simple)?;
            (!PREPARERS.contains(&name.as_str())).then(|| (shell_words(&simple), name))
        })
        .collect()
}

/// The number at the start of `rest` (after spaces and a colon).
fn number_after(rest: &str) -> Option<i64> {
    let rest = rest.trim_start_matches([' ', ':']);
    let end = rest
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && c == '-')))
        .map_or(rest.len(), |(i, _)| i);
    rest[..end].parse().ok()
}

/// `Exit code N` at the start of a result (Claude Code's failed Bash calls).
pub fn leading_exit_code(text: &str) -> Option<i64> {
    number_after(text.trim_start().strip_prefix("Exit code")?)
}

/// The exit code a harness wrote into a shell call's output text, when the harness records it
/// only there: Gemini CLI's `Exit Code: N` line (the last one: the command's own output comes
/// before it), Codex's `Process exited with code N` header line, Claude Code's leading
/// `Exit code N`, Copilot CLI's closing `<shellId: N completed with exit code M>`.
pub fn exit_code_in_output(text: &str) -> Option<i64> {
    if let Some(code) = leading_exit_code(text) {
        return Some(code);
    }
    if let Some(code) = text
        .lines()
        .take(8)
        .find_map(|l| l.strip_prefix("Process exited with code "))
    {
        return number_after(code);
    }
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    if last.starts_with("<shellId:")
        && let Some(at) = last.rfind(" with exit code ")
    {
        return number_after(&last[at + " with exit code ".len()..]);
    }
    text.lines()
        .rev()
        .find_map(|l| l.trim_start().strip_prefix("Exit Code:"))
        .and_then(number_after)
}

/// Whether a call failed. For a shell call whose exit code is known, the exit code decides:
/// every harness but Claude Code reports a command that exits 127 as a *successful* call.
/// Otherwise the harness's own word does.
pub fn call_failed(tool: &str, reported_failed: bool, exit_code: Option<i64>) -> bool {
    match exit_code {
        Some(code) if is_shell_tool(tool) => code != 0,
        _ => reported_failed,
    }
}

/// The program a failure of `command` belongs to (see the module docs).
pub fn program_of(command: &str, message: &str) -> Option<String> {
    program_of_calls(&program_calls(command), message)
}

/// [`program_of`] for a command line already split into its [`program_calls`].
pub fn program_of_calls(found: &[ProgramCall], message: &str) -> Option<String> {
    // zsh's `which x` answers `x not found`, naming x although x never ran (`which gh && gh
    // --version`): the lookup is the program that answered.
    let which_answered = found.iter().any(|p| p.name == "which")
        && message.lines().any(|l| !l.trim().is_empty())
        && message.lines().all(|l| {
            let l = l.trim();
            l.is_empty()
                || l.strip_suffix(" not found")
                    .is_some_and(|x| !x.contains(' '))
        });
    if which_answered {
        return Some("which".to_string());
    }
    if found.len() > 1 {
        for line in message.lines().take(200) {
            let line = line.trim_start();
            for p in found {
                if names_program(line, &p.name) {
                    return Some(p.name.clone());
                }
            }
        }
    }
    blamed(found).map(|p| p.name.clone())
}

/// The last program that can fail on its own account (see the module docs).
fn blamed(found: &[ProgramCall]) -> Option<&ProgramCall> {
    let mut candidates: Vec<&ProgramCall> = found
        .iter()
        .filter(|p| !TRIVIAL.contains(&p.name.as_str()))
        .collect();
    // A filter at the end of a pipeline passes the blame to what feeds it.
    while candidates.len() > 1
        && candidates
            .last()
            .is_some_and(|p| FILTERS.contains(&p.name.as_str()))
        && candidates
            .get(candidates.len() - 2)
            .is_some_and(|p| p.piped)
    {
        candidates.pop();
    }
    candidates.last().copied().or_else(|| found.last())
}

/// Whether an error line is written by (or about) program `p`: `p: …`, `p error …`,
/// `bash: p: command not found`, `bash: line 1: p: command not found`.
fn names_program(line: &str, p: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    if p.starts_with("python") && lower.starts_with("traceback (most recent call last)") {
        return true;
    }
    if let Some(rest) = lower.strip_prefix(p)
        && (rest.starts_with(':') || rest.starts_with(" error") || rest.starts_with("error"))
    {
        return true;
    }
    lower.contains(&format!(": {p}: command not found"))
        || lower.contains(&format!(": {p}: not found"))
        || lower.contains(&format!("no {p} in ("))
}

/// Splits a command line into simple commands at `&&`, `||`, `;`, `|`, `&` and newlines,
/// respecting quotes and skipping here-document bodies. Each part says whether it is piped
/// into the next.
fn split_list(command: &str) -> Vec<(String, bool)> {
    let mut parts: Vec<(String, bool)> = Vec::new();
    let mut cur = String::new();
    let mut chars = command.chars().peekable();
    let mut quote: Option<char> = None;
    let mut heredoc: Option<String> = None;
    let mut line = String::new();
    while let Some(c) = chars.next() {
        // Inside a here-document body: skip whole lines until the delimiter.
        if let Some(delim) = &heredoc {
            if c == '\n' {
                if line.trim() == delim {
                    heredoc = None;
                }
                line.clear();
            } else {
                line.push(c);
            }
            continue;
        }
        if let Some(q) = quote {
            cur.push(c);
            if c == q {
                quote = None;
            } else if c == '\\'
                && q == '"'
                && let Some(n) = chars.next()
            {
                cur.push(n);
            }
            continue;
        }
        match c {
            '\'' | '"' | '`' => {
                quote = Some(c);
                cur.push(c);
            }
            '\\' => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            '&' | '|' | ';' | '\n' => {
                if c == '\n' {
                    heredoc = heredoc_delimiter(&cur);
                }
                let doubled = matches!(c, '&' | '|') && chars.peek() == Some(&c);
                if doubled {
                    chars.next();
                }
                // `2>&1` and `&>` are redirections, not separators.
                if c == '&' && !doubled && (cur.ends_with('>') || chars.peek() == Some(&'>')) {
                    cur.push(c);
                    continue;
                }
                let piped = c == '|' && !doubled;
                parts.push((std::mem::take(&mut cur), piped));
            }
            _ => cur.push(c),
        }
        if parts.len() > 64 {
            break;
        }
    }
    parts.push((cur, false));
    parts.retain(|(p, _)| !p.trim().is_empty());
    parts
}

/// The delimiter of a here-document started on this line (`<<EOF`, `<<'EOF'`, `<<-"EOF"`).
fn heredoc_delimiter(line: &str) -> Option<String> {
    let pos = line.find("<<")?;
    let rest = line[pos + 2..].trim_start_matches('-').trim_start();
    if rest.starts_with('<') {
        return None; // a here-string (`<<<`)
    }
    let word: String = rest
        .chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, ';' | '&' | '|' | '>' | '<' | ')'))
        .filter(|c| !matches!(c, '\'' | '"'))
        .collect();
    (!word.is_empty()).then_some(word)
}

/// The program of one simple command, and whether it was given by a path.
fn simple_program(simple: &str) -> Option<(String, bool)> {
    let words = shell_words(simple);
    let mut i = 0;
    while i < words.len() {
        let w = words[i].as_str();
        let bare = w.trim_start_matches(['(', '{', '!']);
        if bare.is_empty() || matches!(bare, "then" | "do" | "else" | "if" | "while" | "until") {
            i += 1;
            continue;
        }
        // Environment assignments: NAME=value.
        if let Some((name, _)) = bare.split_once('=')
            && !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            i += 1;
            continue;
        }
        let name = base_name(bare);
        if name == "command" && words.get(i + 1).is_some_and(|w| w == "-v" || w == "-V") {
            return Some((name, false));
        }
        if WRAPPERS.contains(&name.as_str()) {
            i += 1;
            // Skip the wrapper's options (and `timeout`'s duration).
            while i < words.len() && words[i].starts_with('-') {
                i += 1;
            }
            continue;
        }
        if name == "timeout" {
            i += 1;
            while i < words.len()
                && (words[i].starts_with('-')
                    || words[i].chars().next().is_some_and(|c| c.is_ascii_digit()))
            {
                i += 1;
            }
            continue;
        }
        if RUNNERS.contains(&name.as_str()) {
            let mut j = i + 1;
            while j < words.len() && words[j].starts_with('-') {
                j += 1;
            }
            if j < words.len() {
                return Some((base_name(&words[j]), false));
            }
            return Some((name, false));
        }
        if matches!(
            name.as_str(),
            "uv" | "poetry" | "pipenv" | "pdm" | "hatch" | "rye"
        ) && words.get(i + 1).is_some_and(|w| w == "run")
            && let Some(next) = words.get(i + 2)
        {
            return Some((base_name(next), false));
        }
        if name == "bundle"
            && words.get(i + 1).is_some_and(|w| w == "exec")
            && let Some(next) = words.get(i + 2)
        {
            return Some((base_name(next), false));
        }
        if name.starts_with("python")
            && let Some(pos) = words[i + 1..].iter().position(|w| w == "-m")
            && let Some(module) = words.get(i + 2 + pos)
        {
            return Some((base_name(module), false));
        }
        return Some((name, bare.contains('/') || bare.contains('\\')));
    }
    None
}

/// Splits a simple command into words, dropping quotes (no expansion).
fn shell_words(simple: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut has_word = false;
    for c in simple.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                has_word = true;
            }
            None if c.is_whitespace() => {
                if has_word || !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                    has_word = false;
                }
            }
            None => cur.push(c),
        }
        if words.len() > 32 {
            break;
        }
    }
    if has_word || !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// The base name of a program word, lower case: `/usr/bin/python3` → `python3`.
fn base_name(word: &str) -> String {
    let trimmed = word.trim_matches(|c: char| matches!(c, '(' | ')' | '{' | '}' | '"' | '\''));
    let base = trimmed.rsplit(['/', '\\']).next().unwrap_or(trimmed);
    let base: String = base.chars().take(40).collect();
    base.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    #[test]
    fn exit_codes_at_the_start() {
        assert_eq!(leading_exit_code("Exit code 128\nfatal: no"), Some(128));
        assert_eq!(leading_exit_code("Exit code: 2"), Some(2));
        assert_eq!(leading_exit_code("error: Exit code 1"), None);
    }

    #[test]
    fn exit_codes_wherever_the_harness_writes_them() {
        let table: [(&str, Option<i64>); 9] = [
            (
                "bash: pytest: command not found\n<shellId: 0 completed with exit code 127>",
                Some(127),
            ),
            ("Exit code 127\nbash: pytest: command not found", Some(127)),
            (
                "Chunk ID: 1\nWall time: 0.1 seconds\nProcess exited with code 2\nOutput:\nx",
                Some(2),
            ),
            (
                "<untrusted_context>\nOutput: bash: pytest: command not found\nExit Code: 127\n</untrusted_context>",
                Some(127),
            ),
            // The command printed an exit code of its own before the harness's line.
            (
                "Output: Exit Code: 0\nExit Code: 1\nSignal: (none)",
                Some(1),
            ),
            ("Exit Code: -1", Some(-1)),
            ("all tests passed", None),
            ("Output: fine\nExit Code: (none)", None),
            ("", None),
        ];
        for (text, want) in table {
            assert_eq!(exit_code_in_output(text), want, "{text:?}");
        }
    }

    #[test]
    fn the_exit_code_decides_for_shell_calls_only() {
        assert!(call_failed("bash", false, Some(127)));
        assert!(call_failed("run_shell_command", false, Some(1)));
        assert!(!call_failed("exec_command", true, Some(0)));
        assert!(call_failed("bash", true, None));
        assert!(!call_failed("read", false, Some(1)));
        assert!(call_failed("view", true, Some(0)));
    }

    use super::*;
    use serde_json::json;

    #[test]
    fn shell_tools_are_recognised() {
        for t in ["Bash", "bash", "shell", "exec_command", "run_shell_command"] {
            assert!(is_shell_tool(t), "{t}");
        }
        for t in ["Read", "read_file", "WebFetch", "bash_history"] {
            assert!(!is_shell_tool(t), "{t}");
        }
    }

    #[test]
    fn commands_are_found_in_arguments() {
        let cases = [
            (json!({"command": "git status"}), Some("git status")),
            (json!({"cmd": "ls -la", "workdir": "/x"}), Some("ls -la")),
            (
                json!({"command": ["bash", "-lc", "git fetch --all"]}),
                Some("git fetch --all"),
            ),
            (json!({"command": ["rg", "-n", "x"]}), Some("rg -n x")),
            (json!("pytest -q"), Some("pytest -q")),
            (json!({"path": "/a"}), None),
            (json!(null), None),
        ];
        for (args, expect) in cases {
            assert_eq!(command_of(&args).as_deref(), expect, "{args}");
        }
    }

    #[test]
    fn programs_of_command_lines() {
        let cases: [(&str, &[&str]); 17] = [
            ("git status", &["git"]),
            (
                "cd /repo && git add . && git commit -m 'x && y'",
                &["git", "git"],
            ),
            ("FOO=1 BAR=x sudo -E docker ps", &["docker"]),
            ("timeout 30 pytest -q tests/", &["pytest"]),
            ("python -m pytest -x", &["pytest"]),
            ("/usr/bin/python3 script.py", &["python3"]),
            ("npx tsc --noEmit", &["tsc"]),
            ("uv run ruff check .", &["ruff"]),
            ("which gh && gh --version", &["which", "gh"]),
            ("ls /usr/bin | grep -i teams", &["ls", "grep"]),
            ("cd dir", &["cd"]),
            ("python - <<'PY'\nimport os\nos.exit(1)\nPY", &["python"]),
            (
                "cat <<'EOF' > fix.py\nimport x && y\nEOF\npython3 fix.py",
                &["cat", "python3"],
            ),
            ("(cd x; make test)", &["make"]),
            ("echo \"a | b\" ; npm test", &["echo", "npm"]),
            ("./scripts/check.sh --json", &["check.sh"]),
            ("export A=1; cargo build", &["cargo"]),
        ];
        for (cmd, expect) in cases {
            assert_eq!(programs(cmd), expect, "{cmd}");
        }
    }

    #[test]
    fn the_program_named_by_the_error_wins() {
        let cases = [
            (
                "cd x && python - <<'PY'\nprint(1)\nPY",
                "bash: line 1: python: command not found",
                "python",
            ),
            (
                "which figlet && figlet -f slant x",
                "which: no figlet in (/usr/bin)",
                "which",
            ),
            (
                "ls x && sed -n 1p y",
                "sed: can't read y: No such file",
                "sed",
            ),
            ("git add . && git push", "fatal: rejected", "git"),
            ("make && ./run", "something else", "run"),
            (
                "gh repo view x && git push 2>&1",
                "fatal: could not read",
                "git",
            ),
            ("ping -c 1 host 2>&1 | tail -3", "100% packet loss", "ping"),
            ("make test; echo done", "FAILED", "make"),
            (
                "cat <<'EOF' > f.py\nprint(1)\nEOF\npython3 f.py",
                "Traceback (most recent call last):",
                "python3",
            ),
        ];
        for (cmd, msg, expect) in cases {
            assert_eq!(program_of(cmd, msg).as_deref(), Some(expect), "{cmd}");
        }
    }

    #[test]
    fn how_programs_were_called() {
        let calls = program_calls("bin/test x 2>/dev/null | grep -q y && echo 2>&1");
        let flags: Vec<(&str, bool, bool, bool)> = calls
            .iter()
            .map(|p| (p.name.as_str(), p.by_path, p.piped, p.quiet))
            .collect();
        assert_eq!(
            flags,
            [
                ("test", true, true, true),
                ("grep", false, false, false),
                ("echo", false, false, false)
            ]
        );
    }
}
