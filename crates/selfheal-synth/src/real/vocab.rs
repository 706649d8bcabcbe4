//! What the `real` profile's tools print: for each program a shell tool runs, its commands,
//! their ordinary output, and how it fails (per cause class, with the commands that fail that
//! way and several message templates); for every other tool family, its failures, the
//! envelopes its harness wraps them in, extra lines it may add, and its successful results.
//!
//! Templates use `{name}` placeholders filled by `text::fill` (unknown names are kept as
//! written, so literal braces in code need no escaping). Texts are written the way the real
//! programs print them; none is taken from a recorded history.

use super::catalog::Class;
use super::catalog::Class::*;

/// One way a program or tool fails.
pub(crate) struct Fail {
    pub(crate) class: Class,
    /// Relative weight among the program's (or family's) failures.
    pub(crate) weight: u32,
    /// Exit status (shell programs; 0 for tool families).
    pub(crate) exit: i32,
    /// Commands that fail this way, with their output when a repeat succeeds (shell programs;
    /// empty: any of the program's commands).
    pub(crate) cmds: &'static [(&'static str, &'static str)],
    /// Message templates (the salient error, possibly several lines).
    pub(crate) lines: &'static [&'static str],
}

const fn f(
    class: Class,
    weight: u32,
    exit: i32,
    cmds: &'static [(&'static str, &'static str)],
    lines: &'static [&'static str],
) -> Fail {
    Fail {
        class,
        weight,
        exit,
        cmds,
        lines,
    }
}

/// A program shell tools run.
pub(crate) struct Prog {
    pub(crate) name: &'static str,
    /// Probability that a call of the program fails.
    pub(crate) fail_p: f64,
    /// Commands of successful calls and their output.
    pub(crate) cmds: &'static [(&'static str, &'static str)],
    /// Ordinary output printed before an error: these lines in order (a prefix of them)…
    pub(crate) noise: &'static [&'static str],
    /// …then any number of these (progress lines, listings, matches).
    pub(crate) repeat: &'static [&'static str],
    pub(crate) fails: &'static [Fail],
    /// Probability that a call is a benign non-zero exit (a search that found nothing).
    pub(crate) benign_p: f64,
    /// Commands of benign exits and what they print (exit status 1).
    pub(crate) benign: &'static [(&'static str, &'static str)],
}

/// A family of non-shell tools sharing arguments, results and failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fam {
    CcRead,
    CcEdit,
    CcWrite,
    CcGrep,
    CcGlob,
    CcWebFetch,
    WebSearch,
    Todo,
    Subagent,
    Patch,
    GemRead,
    GemWrite,
    GemReplace,
    GemGlob,
    GemGrep,
    GemWebFetch,
    SweEditor,
    McpRead,
    McpEdit,
    McpList,
    McpSearch,
    Db,
    Http,
    K8s,
    Deploy,
    S3,
    Slack,
    Email,
    PyExec,
    GitCommit,
    GitHub,
    Tests,
    Browser,
    Mcp,
    Jira,
}

/// A tool family's texts.
pub(crate) struct FamDef {
    pub(crate) fail_p: f64,
    pub(crate) fails: &'static [Fail],
    /// Envelopes around the error (`{core}` marks where it goes).
    pub(crate) envelopes: &'static [&'static str],
    /// Lines a harness may add after the error (0 to 3 of them).
    pub(crate) details: &'static [&'static str],
    /// Results of successful calls.
    pub(crate) ok: &'static [&'static str],
}

const NONE: &[(&str, &str)] = &[];

// ----------------------------------------------------------------------------- programs

const GIT_NOISE: &[&str] = &[
    "remote: Enumerating objects: {k}, done.",
    "remote: Counting objects: 100% ({k}/{k}), done.",
    "remote: Compressing objects: 100% ({k2}/{k2}), done.",
    "remote: Total {k} (delta {k3}), reused {k2} (delta 0), pack-reused 0",
    "Receiving objects: 100% ({k}/{k}), {kb} KiB | {d}.{d}{d} MiB/s, done.",
    "Resolving deltas: 100% ({k3}/{k3}), done.",
    "From github.com:{repo}",
    "   {hex7}..{hex7}  main       -> origin/main",
];

const GIT: Prog = Prog {
    name: "git",
    fail_p: 0.07,
    cmds: &[
        (
            "git status",
            "On branch {branch}\nYour branch is up to date with 'origin/{branch}'.\n\nChanges not staged for commit:\n  (use \"git add <file>...\" to update what will be committed)\n  (use \"git restore <file>...\" to discard changes in working directory)\n\tmodified:   {relpath}\n\tmodified:   {relpath2}\n\nno changes added to commit (use \"git add\" and/or \"git commit -a\")",
        ),
        (
            "git status --short",
            " M {relpath}\n M {relpath2}\n?? {reldir}/{file}.orig",
        ),
        (
            "git diff --stat",
            " {relpath}  | {n} ++++++++----\n {relpath2} | {n2} +++--\n 2 files changed, {n3} insertions(+), {n2} deletions(-)",
        ),
        (
            "git log --oneline -n {n}",
            "{hex7} {commitmsg}\n{hex7} Merge pull request #{n} from {repo}/{branch}\n{hex7} {commitmsg}\n{hex7} Bump version to {ver}",
        ),
        ("git add {relpath}", ""),
        (
            "git commit -m \"{commitmsg}\"",
            "[{branch} {hex7}] {commitmsg}\n {n} files changed, {n2} insertions(+), {n3} deletions(-)",
        ),
        (
            "git checkout -b {branch}",
            "Switched to a new branch '{branch}'",
        ),
        ("git rev-parse HEAD", "{hex40}"),
        (
            "git show --stat HEAD",
            "commit {hex40}\nAuthor: {user} <{user}@example.com>\nDate:   {date}\n\n    {commitmsg}\n\n {relpath} | {n} +++--\n 1 file changed, {n2} insertions(+), {n3} deletions(-)",
        ),
        ("git branch --show-current", "{branch}"),
    ],
    noise: GIT_NOISE,
    repeat: &[],
    fails: &[
        f(
            NotFound,
            30,
            128,
            &[
                ("git add {relpath}", ""),
                ("git checkout {branch}", "Switched to branch '{branch}'"),
                ("git show HEAD:{relpath}", "{codeblock}"),
                (
                    "git diff {hex7} -- {relpath}",
                    "diff --git a/{relpath} b/{relpath}\nindex {hex7}..{hex7} 100644\n--- a/{relpath}\n+++ b/{relpath}\n@@ -{line},{n} +{line},{n2} @@\n{codeline}",
                ),
            ],
            &[
                "fatal: pathspec '{relpath}' did not match any files",
                "error: pathspec '{branch}' did not match any file(s) known to git",
                "fatal: ambiguous argument '{relpath}': unknown revision or path not in the working tree.\nUse '--' to separate paths from revisions, like this:\n'git <command> [<revision>...] -- [<file>...]'",
                "fatal: path '{relpath}' does not exist in 'HEAD'",
                "fatal: bad revision '{hex7}'",
                "fatal: not a git repository (or any of the parent directories): .git",
            ],
        ),
        f(
            PermissionDenied,
            14,
            128,
            &[
                (
                    "git push origin {branch}",
                    "To github.com:{repo}.git\n   {hex7}..{hex7}  {branch} -> {branch}",
                ),
                (
                    "git fetch origin",
                    "From github.com:{repo}\n   {hex7}..{hex7}  main       -> origin/main",
                ),
                (
                    "git pull --rebase origin main",
                    "Successfully rebased and updated refs/heads/{branch}.",
                ),
            ],
            &[
                "git@github.com: Permission denied (publickey).\nfatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\nand the repository exists.",
                "remote: Permission to {repo}.git denied to {user}.\nfatal: unable to access 'https://github.com/{repo}.git/': The requested URL returned error: 403",
                "error: could not lock config file {root}/.git/config: Permission denied",
                "fatal: Unable to create '{root}/.git/index.lock': Permission denied",
                "error: insufficient permission for adding an object to repository database .git/objects\nfatal: failed to write object",
            ],
        ),
        f(
            NetworkError,
            12,
            128,
            &[
                (
                    "git push origin {branch}",
                    "To github.com:{repo}.git\n   {hex7}..{hex7}  {branch} -> {branch}",
                ),
                ("git fetch --all --prune", "Fetching origin"),
                (
                    "git pull --rebase origin main",
                    "Successfully rebased and updated refs/heads/{branch}.",
                ),
                (
                    "git clone git@github.com:{repo}.git",
                    "Cloning into '{proj}'...",
                ),
            ],
            &[
                "ssh: Could not resolve hostname github.com: Temporary failure in name resolution\nfatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\nand the repository exists.",
                "fatal: unable to access 'https://github.com/{repo}.git/': Could not resolve host: github.com",
                "error: RPC failed; curl 92 HTTP/2 stream {n} was not closed cleanly: CANCEL (err 8)\nerror: {bytes} bytes of body are still expected\nfetch-pack: unexpected disconnect while reading sideband packet\nfatal: early EOF\nfatal: fetch-pack: invalid index-pack output",
                "fatal: unable to access 'https://github.com/{repo}.git/': gnutls_handshake() failed: The TLS connection was non-properly terminated.",
                "kex_exchange_identification: read: Connection reset by peer\nConnection reset by {ip} port 22\nfatal: Could not read from remote repository.",
            ],
        ),
        f(
            StaleState,
            14,
            1,
            &[
                (
                    "git push origin {branch}",
                    "To github.com:{repo}.git\n   {hex7}..{hex7}  {branch} -> {branch}",
                ),
                (
                    "git checkout main",
                    "Switched to branch 'main'\nYour branch is up to date with 'origin/main'.",
                ),
                (
                    "git pull --rebase origin main",
                    "Successfully rebased and updated refs/heads/{branch}.",
                ),
            ],
            &[
                "To github.com:{repo}.git\n ! [rejected]        {branch} -> {branch} (fetch first)\nerror: failed to push some refs to 'github.com:{repo}.git'\nhint: Updates were rejected because the remote contains work that you do not\nhint: have locally. This is usually caused by another repository pushing to\nhint: the same ref. If you want to integrate the remote changes, use\nhint: 'git pull' before pushing again.",
                "To github.com:{repo}.git\n ! [rejected]        {branch} -> {branch} (non-fast-forward)\nerror: failed to push some refs to 'github.com:{repo}.git'\nhint: Updates were rejected because the tip of your current branch is behind\nhint: its remote counterpart. If you want to integrate the remote changes,\nhint: use 'git pull' before pushing again.",
                "error: Your local changes to the following files would be overwritten by checkout:\n\t{relpath}\n\t{relpath2}\nPlease commit your changes or stash them before you switch branches.\nAborting",
                "error: cannot pull with rebase: You have unstaged changes.\nerror: Please commit or stash them.",
            ],
        ),
        f(
            CommandFailed,
            16,
            1,
            &[
                (
                    "git commit -m \"{commitmsg}\"",
                    "[{branch} {hex7}] {commitmsg}\n {n} files changed, {n2} insertions(+), {n3} deletions(-)",
                ),
                (
                    "git merge origin/main",
                    "Updating {hex7}..{hex7}\nFast-forward\n {relpath} | {n} ++--\n 1 file changed, {n2} insertions(+), {n3} deletions(-)",
                ),
                (
                    "git rebase origin/main",
                    "Successfully rebased and updated refs/heads/{branch}.",
                ),
            ],
            &[
                "Auto-merging {relpath}\nCONFLICT (content): Merge conflict in {relpath}\nAutomatic merge failed; fix conflicts and then commit the result.",
                "husky - pre-commit script failed (code 1)\n{relpath}\n  {line}:{col}  error  '{ident}' is defined but never used  no-unused-vars\n\n✖ 1 problem (1 error, 0 warnings)",
                "error: could not apply {hex7}... {commitmsg}\nhint: Resolve all conflicts manually, mark them as resolved with\nhint: \"git add/rm <conflicted_files>\", then run \"git rebase --continue\".\nhint: You can instead skip this commit: run \"git rebase --skip\".\nhint: To abort and get back to the state before \"git rebase\", run \"git rebase --abort\".\nCould not apply {hex7}... {commitmsg}",
                "black....................................................................Failed\n- hook id: black\n- files were modified by this hook\n\nreformatted {relpath}\n\nAll done! ✨ 🍰 ✨\n1 file reformatted, {n} files left unchanged.",
            ],
        ),
        f(
            InvalidInput,
            6,
            129,
            &[
                ("git log --oneline --{flag}", "{hex7} {commitmsg}"),
                ("git branch -D", "Deleted branch {branch} (was {hex7})."),
            ],
            &[
                "error: unknown option `{flag}'\nusage: git log [<options>] [<revision-range>] [[--] <path>...]\n   or: git show [<options>] <object>...\n\n    -q, --[no-]quiet      suppress diff output",
                "fatal: branch name required",
                "error: switch `m' requires a value",
            ],
        ),
        f(
            Timeout,
            4,
            -1,
            &[
                ("git fetch --all --prune", "Fetching origin"),
                (
                    "git clone https://github.com/{repo}.git",
                    "Cloning into '{proj}'...",
                ),
            ],
            &[],
        ),
    ],
    benign_p: 0.0,
    benign: NONE,
};

const PYTEST_NOISE: &[&str] = &[
    "============================= test session starts ==============================",
    "platform linux -- Python 3.12.{d}, pytest-8.3.{d}, pluggy-1.5.0",
    "rootdir: {root}",
    "configfile: pyproject.toml",
    "plugins: anyio-4.{d}.0, cov-5.0.0, asyncio-0.23.{d}",
    "collected {k} items",
    "",
];
const PYTEST_REPEAT: &[&str] = &[
    "tests/{testfile} {dots} [ {pct}%]",
    "tests/test_{word}.py {dots} [ {pct}%]",
    "tests/integration/test_{word}.py {dots} [ {pct}%]",
];

const PYTEST: Prog = Prog {
    name: "pytest",
    fail_p: 0.24,
    cmds: &[
        ("pytest -q", "{dots} [100%]\n{n} passed in {secs}s"),
        (
            "pytest -x -q tests/{testfile}",
            "{dots} [100%]\n{n} passed, {n2} warnings in {secs}s",
        ),
        (
            "pytest tests/{testfile}::test_{test}",
            "============================= test session starts ==============================\nplatform linux -- Python 3.12.{d}, pytest-8.3.{d}, pluggy-1.5.0\nrootdir: {root}\ncollected 1 item\n\ntests/{testfile} . [100%]\n\n============================== 1 passed in {secs}s ===============================",
        ),
        (
            "pytest -k {test} -q",
            "{dots} [100%]\n{n} passed, {n2} deselected in {secs}s",
        ),
        (
            "pytest --maxfail=1 tests/",
            "============================= test session starts ==============================\ncollected {n} items\n\ntests/{testfile} {dots} [ {pct}%]\ntests/test_{word}.py {dots} [100%]\n\n============================== {n} passed in {secs}s ===============================",
        ),
    ],
    noise: PYTEST_NOISE,
    repeat: PYTEST_REPEAT,
    fails: &[
        f(
            CommandFailed,
            60,
            1,
            NONE,
            &[
                "=================================== FAILURES ===================================\n______________________________ test_{test} ______________________________\n\n    def test_{test}():\n        result = {fn}({k})\n>       assert result == {k2}\nE       assert {k3} == {k2}\nE        +  where {k3} = {fn}({k})\n\ntests/{testfile}:{line}: AssertionError\n=========================== short test summary info ============================\nFAILED tests/{testfile}::test_{test} - assert {k3} == {k2}\n========================= 1 failed, {n} passed in {secs}s =========================",
                "=================================== FAILURES ===================================\n__________________________ Test{cls}.test_{test} __________________________\n\nself = <tests.{testmod}.Test{cls} object at 0x{hex12}>\n\n    def test_{test}(self):\n>       payload = self.client.get(\"/api/{word}\").json()\nE       KeyError: '{ident}'\n\ntests/{testfile}:{line}: KeyError\n=========================== short test summary info ============================\nFAILED tests/{testfile}::Test{cls}::test_{test} - KeyError: '{ident}'\n==================== 1 failed, {n} passed, {n2} warnings in {secs}s ====================",
                "____________________________ test_{test}[{word}] ____________________________\n\n    @pytest.mark.parametrize(\"value\", CASES)\n    def test_{test}(value):\n>       assert {fn}(value) is not None\nE       TypeError: {fn}() missing 1 required positional argument: '{ident}'\n\ntests/{testfile}:{line}: TypeError\n=========================== short test summary info ============================\nFAILED tests/{testfile}::test_{test}[{word}] - TypeError: {fn}() missing 1 required positional argument: '{ident}'\n========================= {n2} failed, {n} passed in {secs}s =========================",
                "________________________________ test_{test} ________________________________\n\n    def test_{test}():\n>       with pytest.raises(ValueError):\nE       Failed: DID NOT RAISE <class 'ValueError'>\n\ntests/{testfile}:{line}: Failed\n=========================== short test summary info ============================\nFAILED tests/{testfile}::test_{test} - Failed: DID NOT RAISE <class 'ValueError'>\n========================= 1 failed, {n} passed in {secs}s =========================",
                "_______________________________ test_{test} _______________________________\n\n    def test_{test}():\n        got = {fn}(\"{word}\")\n>       assert got == {{\"status\": \"ok\", \"count\": {k}}}\nE       AssertionError: assert {{'count': {k2}, 'status': 'ok'}} == {{'count': {k}, 'status': 'ok'}}\nE         Differing items:\nE         {{'count': {k2}}} != {{'count': {k}}}\n\ntests/{testfile}:{line}: AssertionError\n=========================== short test summary info ============================\nFAILED tests/{testfile}::test_{test} - AssertionError: assert {{'count': {k2}, 'status': 'ok'}} == {{'count': {k}, 'status': 'ok'}}\n========================= 1 failed, {n} passed in {secs}s =========================",
            ],
        ),
        f(
            DependencyFailure,
            12,
            2,
            NONE,
            &[
                "ImportError while loading conftest '{root}/tests/conftest.py'.\ntests/conftest.py:{line}: in <module>\n    from {pymod} import {cls}\nE   ModuleNotFoundError: No module named '{pymod}'",
                "==================================== ERRORS ====================================\n_____________________ ERROR collecting tests/{testfile} ______________________\nImportError while importing test module '{root}/tests/{testfile}'.\nHint: make sure your test modules/packages have valid Python names.\nTraceback:\n/usr/lib/python3.12/importlib/__init__.py:90: in import_module\n    return _bootstrap._gcd_import(name[level:], package, level)\ntests/{testfile}:{line}: in <module>\n    import {pymod}\nE   ModuleNotFoundError: No module named '{pymod}'\n=========================== short test summary info ============================\nERROR tests/{testfile}\n!!!!!!!!!!!!!!!!!!!! Interrupted: 1 error during collection !!!!!!!!!!!!!!!!!!!!",
                "/bin/sh: 1: pytest: not found",
            ],
        ),
        f(
            NotFound,
            8,
            4,
            &[
                (
                    "pytest tests/{testfile}",
                    "{dots} [100%]\n{n} passed in {secs}s",
                ),
                (
                    "pytest tests/{testfile}::test_{test}",
                    ". [100%]\n1 passed in {secs}s",
                ),
            ],
            &[
                "ERROR: file or directory not found: tests/{testfile}\n\nno tests ran in 0.0{n}s",
                "ERROR: not found: {root}/tests/{testfile}::test_{test}\n(no match in any of [<Module {testfile}>])\n\nno tests ran in 0.{d}s",
            ],
        ),
        f(
            InvalidInput,
            5,
            4,
            &[(
                "pytest --{flag} tests/",
                "{dots} [100%]\n{n} passed in {secs}s",
            )],
            &[
                "ERROR: usage: pytest [options] [file_or_dir] [file_or_dir] [...]\npytest: error: unrecognized arguments: --{flag}\n  inifile: {root}/pyproject.toml\n  rootdir: {root}",
            ],
        ),
        f(
            Oom,
            4,
            137,
            NONE,
            &[
                "Killed",
                "Fatal Python error: Segmentation fault\n\nCurrent thread 0x{hex12} (most recent call first):\n  File \"{root}/src/{pyfile}\", line {line} in {fn}\nKilled",
            ],
        ),
        f(Timeout, 6, -1, NONE, &[]),
    ],
    benign_p: 0.0,
    benign: NONE,
};

const PY_NOISE: &[&str] = &[
    "loading {word} from {relpath}",
    "INFO:{pymod}:processed {n} records in {secs}s",
    "{n} rows loaded",
    "warning: {word} is deprecated; use {ident} instead",
    "step {n}/{n2}: {word}",
];

const PYTHON3: Prog = Prog {
    name: "python3",
    fail_p: 0.16,
    cmds: &[
        (
            "python3 scripts/{pyfile}",
            "processed {n} records in {secs}s\nwrote {relpath}",
        ),
        (
            "python3 -c \"import {pymod}; print({pymod}.__version__)\"",
            "{ver}",
        ),
        (
            "python3 -m {pymod} --check",
            "{n} files checked, no issues found",
        ),
        (
            "python3 manage.py migrate",
            "Operations to perform:\n  Apply all migrations: admin, auth, {word}\nRunning migrations:\n  No migrations to apply.",
        ),
        ("python3 {relpath}", "{n} rows loaded\nOK"),
    ],
    noise: &[],
    repeat: PY_NOISE,
    fails: &[
        f(
            CommandFailed,
            40,
            1,
            NONE,
            &[
                "Traceback (most recent call last):\n{frames}ValueError: invalid literal for int() with base 10: '{word}'",
                "Traceback (most recent call last):\n{frames}KeyError: '{ident}'",
                "Traceback (most recent call last):\n{frames}TypeError: unsupported operand type(s) for +: 'int' and 'NoneType'",
                "Traceback (most recent call last):\n{frames}AttributeError: 'NoneType' object has no attribute '{ident}'",
                "Traceback (most recent call last):\n{frames}json.decoder.JSONDecodeError: Expecting value: line {line} column {col} (char {n})",
                "Traceback (most recent call last):\n{frames}AssertionError: expected {n} rows, got {n2}",
            ],
        ),
        f(
            DependencyFailure,
            18,
            1,
            NONE,
            &[
                "Traceback (most recent call last):\n  File \"{root}/scripts/{pyfile}\", line {line}, in <module>\n    import {pymod}\nModuleNotFoundError: No module named '{pymod}'",
                "Traceback (most recent call last):\n{frames}ImportError: cannot import name '{cls}' from '{pymod}' ({root}/.venv/lib/python3.12/site-packages/{pymod}/__init__.py)",
                "/usr/bin/env: 'python3': No such file or directory",
            ],
        ),
        f(
            NotFound,
            14,
            2,
            NONE,
            &[
                "python3: can't open file '{root}/scripts/{pyfile}': [Errno 2] No such file or directory",
                "Traceback (most recent call last):\n{frames}FileNotFoundError: [Errno 2] No such file or directory: '{relpath}'",
            ],
        ),
        f(
            PermissionDenied,
            5,
            1,
            NONE,
            &[
                "Traceback (most recent call last):\n{frames}PermissionError: [Errno 13] Permission denied: '{syspath}'",
            ],
        ),
        f(
            ConnectionRefused,
            7,
            1,
            NONE,
            &[
                "Traceback (most recent call last):\n{frames}requests.exceptions.ConnectionError: HTTPConnectionPool(host='localhost', port={port}): Max retries exceeded with url: /api/{word} (Caused by NewConnectionError('<urllib3.connection.HTTPConnection object at 0x{hex12}>: Failed to establish a new connection: [Errno 111] Connection refused'))",
                "Traceback (most recent call last):\n{frames}psycopg2.OperationalError: connection to server at \"127.0.0.1\", port 5432 failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?",
                "Traceback (most recent call last):\n{frames}redis.exceptions.ConnectionError: Error 111 connecting to localhost:6379. Connection refused.",
            ],
        ),
        f(
            Oom,
            4,
            137,
            NONE,
            &[
                "Traceback (most recent call last):\n{frames}MemoryError: Unable to allocate {n}.{d} GiB for an array with shape ({bytes}, {n3}) and data type float64",
                "Killed",
            ],
        ),
        f(Timeout, 5, -1, NONE, &[]),
    ],
    benign_p: 0.0,
    benign: NONE,
};

const NPM_NOISE: &[&str] = &[
    "",
    "> {proj}@{ver} {script}",
    "> tsc -p tsconfig.json && vite build",
    "",
    "vite v5.{d}.{d} building for production...",
    "transforming...",
];
const NPM_REPEAT: &[&str] = &[
    "✓ {n} modules transformed.",
    "src/{tsfile}: {n} lines, {ms}ms",
    "npm warn deprecated {npmpkg}@{ver}: this version is no longer supported",
];

const NPM: Prog = Prog {
    name: "npm",
    fail_p: 0.13,
    cmds: &[
        (
            "npm install",
            "\nadded {n} packages, and audited {n2} packages in {secs}s\n\n{n3} packages are looking for funding\n  run `npm fund` for details\n\nfound 0 vulnerabilities",
        ),
        ("npm ci", "\nadded {n} packages in {secs}s"),
        (
            "npm run build",
            "\n> {proj}@{ver} build\n> vite build\n\nvite v5.{d}.{d} building for production...\n✓ {n3} modules transformed.\ndist/index.html                  0.{d}6 kB │ gzip:  0.{d}9 kB\ndist/assets/index-{hex7}.js   {n3}.{d}2 kB │ gzip: {n2}.{d}1 kB\n✓ built in {secs}s",
        ),
        (
            "npm test",
            "\n> {proj}@{ver} test\n> vitest run\n\n ✓ src/{tsfile} ({n} tests) {ms}ms\n\n Test Files  {n2} passed ({n2})\n      Tests  {n3} passed ({n3})\n   Duration  {secs}s",
        ),
        (
            "npm run lint",
            "\n> {proj}@{ver} lint\n> eslint src --ext .ts,.tsx\n",
        ),
        (
            "npm run typecheck",
            "\n> {proj}@{ver} typecheck\n> tsc --noEmit\n",
        ),
        ("npm ls {npmpkg}", "{proj}@{ver} {root}\n└── {npmpkg}@{ver}"),
    ],
    noise: NPM_NOISE,
    repeat: NPM_REPEAT,
    fails: &[
        f(
            CommandFailed,
            44,
            1,
            &[
                (
                    "npm run build",
                    "\n> {proj}@{ver} build\n> tsc -p tsconfig.json && vite build\n\n✓ built in {secs}s",
                ),
                (
                    "npm test",
                    "\n Test Files  {n2} passed ({n2})\n      Tests  {n3} passed ({n3})\n   Duration  {secs}s",
                ),
                ("npm run lint", "\n> {proj}@{ver} lint\n> eslint src\n"),
                (
                    "npm run typecheck",
                    "\n> {proj}@{ver} typecheck\n> tsc --noEmit\n",
                ),
            ],
            &[
                "src/{tsfile}({line},{col}): error TS2322: Type 'string' is not assignable to type 'number'.\nsrc/{tsfile}({line},{col}): error TS2339: Property '{ident}' does not exist on type '{cls}'.\n\nFound 2 errors in the same file, starting at: src/{tsfile}:{line}\n\nnpm error Lifecycle script `build` failed with error:\nnpm error code 2\nnpm error path {root}\nnpm error workspace {proj}@{ver}\nnpm error command failed\nnpm error command sh -c tsc -p tsconfig.json",
                " FAIL  src/{tsfile} > {cls} > {word} {ident}\nAssertionError: expected {n} to be {n2} // Object.is equality\n\n- Expected\n+ Received\n\n- {n2}\n+ {n}\n\n ❯ src/{tsfile}:{line}:{col}\n\n Test Files  1 failed | {n3} passed ({n})\n      Tests  1 failed | {n2} passed ({n})\nnpm error Lifecycle script `test` failed with error:\nnpm error code 1",
                "{root}/src/{tsfile}\n  {line}:{col}  error  '{ident}' is assigned a value but never used  @typescript-eslint/no-unused-vars\n  {line}:{col}  error  Unexpected any. Specify a different type          @typescript-eslint/no-explicit-any\n\n✖ 2 problems (2 errors, 0 warnings)\n\nnpm error Lifecycle script `lint` failed with error:\nnpm error code 1",
                "error during build:\nsrc/{tsfile} ({line}:{col}): \"{ident}\" is not exported by \"src/{word}.ts\", imported by \"src/{tsfile}\".\nfile: {root}/src/{tsfile}:{line}:{col}\nnpm error Lifecycle script `build` failed with error:\nnpm error code 1",
            ],
        ),
        f(
            DependencyFailure,
            16,
            1,
            &[
                ("npm install", "\nadded {n} packages in {secs}s"),
                ("npm ci", "\nadded {n} packages in {secs}s"),
            ],
            &[
                "npm error code ERESOLVE\nnpm error ERESOLVE unable to resolve dependency tree\nnpm error\nnpm error While resolving: {proj}@{ver}\nnpm error Found: react@18.{d}.0\nnpm error node_modules/react\nnpm error   react@\"^18.{d}.0\" from the root project\nnpm error\nnpm error Could not resolve dependency:\nnpm error peer react@\"^19.0.0\" from {npmpkg}@{ver}",
                "sh: 1: vite: not found\nnpm error Lifecycle script `build` failed with error:\nnpm error code 127",
                "node:internal/modules/cjs/loader:1228\n  throw err;\n  ^\n\nError: Cannot find module '{npmpkg}'\nRequire stack:\n- {root}/scripts/build.js\n    at Module._resolveFilename (node:internal/modules/cjs/loader:1225:15)\n    at Module._load (node:internal/modules/cjs/loader:1051:27) {\n  code: 'MODULE_NOT_FOUND'\n}",
            ],
        ),
        f(
            NetworkError,
            10,
            1,
            &[
                ("npm install", "\nadded {n} packages in {secs}s"),
                ("npm ci", "\nadded {n} packages in {secs}s"),
            ],
            &[
                "npm error code ENOTFOUND\nnpm error syscall getaddrinfo\nnpm error errno ENOTFOUND\nnpm error network request to https://registry.npmjs.org/{npmpkg} failed, reason: getaddrinfo ENOTFOUND registry.npmjs.org\nnpm error network This is a problem related to network connectivity.\nnpm error network In most cases you are behind a proxy or have bad network settings.",
                "npm error code ECONNRESET\nnpm error network aborted\nnpm error network This is a problem related to network connectivity.\nnpm error network In most cases you are behind a proxy or have bad network settings.",
            ],
        ),
        f(
            PermissionDenied,
            5,
            243,
            &[("npm install -g {npmpkg}", "\nadded 1 package in {secs}s")],
            &[
                "npm error code EACCES\nnpm error syscall mkdir\nnpm error path /usr/local/lib/node_modules/{npmpkg}\nnpm error errno -13\nnpm error Error: EACCES: permission denied, mkdir '/usr/local/lib/node_modules/{npmpkg}'\nnpm error\nnpm error The operation was rejected by your operating system.",
            ],
        ),
        f(
            Oom,
            4,
            134,
            &[("npm run build", "\n✓ built in {secs}s")],
            &[
                "\n<--- Last few GCs --->\n\n[{pid}:0x{hex12}]    {n} ms: Mark-Compact {n2}.{d} (2051.{d}) -> 2047.{d} (2052.{d}) MB, {n}.{d} / 0.0 ms  (average mu = 0.{d}, current mu = 0.0{n}) allocation failure; scavenge might not succeed\n\n<--- JS stacktrace --->\n\nFATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\n 1: 0xb8{hex7} node::OOMErrorHandler(char const*, v8::OOMDetails const&) [node]\n 2: 0xf0{hex7} v8::Utils::ReportOOMFailure(v8::internal::Isolate*, char const*, v8::OOMDetails const&) [node]\nAborted (core dumped)",
            ],
        ),
        f(
            InvalidInput,
            4,
            1,
            &[("npm {cmdword}", "{proj}@{ver}")],
            &[
                "npm error code EUSAGE\nnpm error\nnpm error Unknown command: \"{cmdword}\"\nnpm error\nnpm error Did you mean this?\nnpm error   npm run {cmdword} # run the \"{cmdword}\" package script\nnpm error To see a list of supported npm commands, run:\nnpm error   npm help",
            ],
        ),
        f(Timeout, 5, -1, NONE, &[]),
    ],
    benign_p: 0.0,
    benign: NONE,
};

const NPX: Prog = Prog {
    name: "npx",
    fail_p: 0.16,
    cmds: &[
        ("npx tsc --noEmit", ""),
        ("npx eslint src/{tsfile}", ""),
        (
            "npx prettier --check src",
            "Checking formatting...\nAll matched files use Prettier code style!",
        ),
        (
            "npx vitest run src/{tsfile}",
            " ✓ src/{tsfile} ({n} tests) {ms}ms\n\n Test Files  1 passed (1)\n      Tests  {n} passed ({n})",
        ),
    ],
    noise: NPM_NOISE,
    repeat: NPM_REPEAT,
    fails: &[
        f(
            CommandFailed,
            60,
            2,
            NONE,
            &[
                "src/{tsfile}({line},{col}): error TS2345: Argument of type 'string | undefined' is not assignable to parameter of type 'string'.\n  Type 'undefined' is not assignable to type 'string'.",
                "src/{tsfile}({line},{col}): error TS7006: Parameter '{ident}' implicitly has an 'any' type.\nsrc/{tsfile}({line},{col}): error TS2554: Expected 2 arguments, but got 1.\n\nFound 2 errors in the same file, starting at: src/{tsfile}:{line}",
                "[warn] src/{tsfile}\n[warn] src/{word}.tsx\n[warn] Code style issues found in 2 files. Run Prettier with --write to fix.",
                " FAIL  src/{tsfile} > {word} > {ident}\nTypeError: Cannot read properties of undefined (reading '{ident}')\n ❯ src/{tsfile}:{line}:{col}\n\n Test Files  1 failed (1)\n      Tests  1 failed | {n} passed ({n2})",
            ],
        ),
        f(
            DependencyFailure,
            25,
            1,
            NONE,
            &[
                "npm error could not determine executable to run\nnpm error A complete log of this run can be found in: /home/{user}/.npm/_logs/{date}T{n}_{n2}_{n3}_{n}Z-debug-0.log",
                "sh: 1: tsc: not found",
            ],
        ),
        f(Timeout, 8, -1, NONE, &[]),
    ],
    benign_p: 0.0,
    benign: NONE,
};

const CARGO_NOISE: &[&str] = &[
    "    Updating crates.io index",
    "     Locking {k} packages to latest compatible versions",
];
const CARGO_REPEAT: &[&str] = &[
    "   Compiling {word} v{ver}",
    "   Compiling {crate} v{ver}",
    "    Checking {word} v{ver}",
];

const CARGO: Prog = Prog {
    name: "cargo",
    fail_p: 0.2,
    cmds: &[
        (
            "cargo build",
            "   Compiling {proj} v0.{d}.0 ({root})\n    Finished `dev` profile [unoptimized + debuginfo] target(s) in {secs}s",
        ),
        (
            "cargo test",
            "    Finished `test` profile [unoptimized + debuginfo] target(s) in {secs}s\n     Running unittests src/lib.rs (target/debug/deps/{proj}-{hex12})\n\nrunning {n} tests\n{testlines}\ntest result: ok. {n} passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.{d}s",
        ),
        (
            "cargo clippy --all-targets -- -D warnings",
            "    Checking {proj} v0.{d}.0 ({root})\n    Finished `dev` profile [unoptimized + debuginfo] target(s) in {secs}s",
        ),
        (
            "cargo check",
            "    Checking {proj} v0.{d}.0 ({root})\n    Finished `dev` profile [unoptimized + debuginfo] target(s) in {secs}s",
        ),
        ("cargo fmt --check", ""),
        (
            "cargo test {test}",
            "running 1 test\ntest {rsmod}::tests::{test} ... ok\n\ntest result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; {n} filtered out; finished in 0.0{n2}s",
        ),
    ],
    noise: CARGO_NOISE,
    repeat: CARGO_REPEAT,
    fails: &[
        f(
            CommandFailed,
            60,
            101,
            NONE,
            &[
                "error[E0308]: mismatched types\n  --> src/{rsfile}:{line}:{col}\n   |\n{line} |     let {ident}: u32 = {fn}(&{ident2});\n   |                ---   ^^^^^^^^^^^^^^^^^ expected `u32`, found `usize`\n   |                |\n   |                expected due to this\n   |\nhelp: you can convert a `usize` to a `u32` and panic if the converted value doesn't fit\n\nFor more information about this error, try `rustc --explain E0308`.\nerror: could not compile `{proj}` (lib) due to 1 previous error",
                "error[E0425]: cannot find value `{ident}` in this scope\n  --> src/{rsfile}:{line}:{col}\n   |\n{line} |         {ident}.push(item);\n   |         ^^^^^^^^ not found in this scope\n\nerror: could not compile `{proj}` (lib) due to 1 previous error",
                "error[E0502]: cannot borrow `{ident}` as mutable because it is also borrowed as immutable\n  --> src/{rsfile}:{line}:{col}\n   |\n{line} |     let first = &{ident}[0];\n   |                  -------- immutable borrow occurs here\n{line} |     {ident}.push({n});\n   |     ^^^^^^^^^^^^^^^^ mutable borrow occurs here\n\nerror: could not compile `{proj}` (lib) due to 1 previous error",
                "running {n} tests\n{testlines}\ntest {rsmod}::tests::{test} ... FAILED\n\nfailures:\n\n---- {rsmod}::tests::{test} stdout ----\n\nthread '{rsmod}::tests::{test}' panicked at src/{rsfile}:{line}:{col}:\nassertion `left == right` failed\n  left: {n2}\n right: {n3}\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n\n\nfailures:\n    {rsmod}::tests::{test}\n\ntest result: FAILED. {n} passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.{d}s\n\nerror: test failed, to rerun pass `--lib`",
                "error: this `if` has identical blocks\n  --> src/{rsfile}:{line}:{col}\n   |\n   = help: for further information visit https://rust-lang.github.io/rust-clippy/master/index.html#if_same_then_else\n   = note: `-D clippy::if-same-then-else` implied by `-D warnings`\n\nerror: could not compile `{proj}` (lib) due to 1 previous error",
                "Diff in {root}/src/{rsfile}:{line}:\n-    let {ident} = {fn}( {n} );\n+    let {ident} = {fn}({n});\n",
            ],
        ),
        f(
            DependencyFailure,
            10,
            101,
            &[(
                "cargo build",
                "    Finished `dev` profile [unoptimized + debuginfo] target(s) in {secs}s",
            )],
            &[
                "    Updating crates.io index\nerror: no matching package named `{crate}` found\nlocation searched: crates.io index\nrequired by package `{proj} v0.{d}.0 ({root})`",
                "error: failed to select a version for the requirement `{crate} = \"^{ver}\"`\ncandidate versions found which didn't match: 0.{d}.3, 0.{d}.2, 0.{d}.1\nlocation searched: crates.io index\nrequired by package `{proj} v0.{d}.0 ({root})`",
            ],
        ),
        f(
            NetworkError,
            6,
            101,
            &[
                (
                    "cargo build",
                    "    Finished `dev` profile [unoptimized + debuginfo] target(s) in {secs}s",
                ),
                ("cargo fetch", ""),
            ],
            &[
                "    Updating crates.io index\nwarning: spurious network error (3 tries remaining): [6] Couldn't resolve host name (Could not resolve host: index.crates.io)\nwarning: spurious network error (2 tries remaining): [6] Couldn't resolve host name (Could not resolve host: index.crates.io)\nerror: failed to get `{crate}` as a dependency of package `{proj} v0.{d}.0 ({root})`\n\nCaused by:\n  download of config.json failed\n\nCaused by:\n  [6] Couldn't resolve host name (Could not resolve host: index.crates.io)",
            ],
        ),
        f(
            Oom,
            4,
            101,
            &[(
                "cargo build --release",
                "    Finished `release` profile [optimized] target(s) in {secs}s",
            )],
            &[
                "error: could not compile `{crate}` (lib)\n\nCaused by:\n  process didn't exit successfully: `{home}/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/bin/rustc --crate-name {crate} --edition=2021 src/lib.rs --error-format=json --crate-type lib -C opt-level=3` (signal: 9, SIGKILL: kill)",
            ],
        ),
        f(
            InvalidInput,
            5,
            1,
            &[(
                "cargo build --{flag}",
                "    Finished `dev` profile [unoptimized + debuginfo] target(s) in {secs}s",
            )],
            &[
                "error: unexpected argument '--{flag}' found\n\n  tip: a similar argument exists: '--release'\n\nUsage: cargo build --release [OPTIONS]\n\nFor more information, try '--help'.",
            ],
        ),
        f(Timeout, 6, -1, NONE, &[]),
    ],
    benign_p: 0.0,
    benign: NONE,
};

const DOCKER_NOISE: &[&str] = &[
    "#0 building with \"default\" instance using docker driver",
    "",
    "#1 [internal] load build definition from Dockerfile",
    "#1 transferring dockerfile: {n}B done",
    "#1 DONE 0.0s",
    "",
    "#2 [internal] load metadata for docker.io/library/python:3.12-slim",
    "#2 DONE {d}.{d}s",
];
const DOCKER_REPEAT: &[&str] = &[
    "#{d} [{d}/8] COPY . /app",
    "#{d} [{d}/8] RUN pip install --no-cache-dir -r requirements.txt",
    "#{d} CACHED",
    "#{d} DONE {d}.{d}s",
];

const DOCKER: Prog = Prog {
    name: "docker",
    fail_p: 0.15,
    cmds: &[
        (
            "docker build -t {image} .",
            "#{n} naming to docker.io/library/{image} done\n#{n} DONE 0.{d}s",
        ),
        (
            "docker ps",
            "CONTAINER ID   IMAGE          COMMAND                  CREATED        STATUS        PORTS                    NAMES\n{hex12}   {image}   \"docker-entrypoint.s…\"   {n} hours ago   Up {n} hours   0.0.0.0:{port}->{port}/tcp   {service}",
        ),
        (
            "docker compose up -d",
            " Container {proj}-db-1  Running\n Container {proj}-{service}-1  Started",
        ),
        (
            "docker logs --tail 50 {service}",
            "{date} INFO  listening on 0.0.0.0:{port}\n{date} INFO  connected to database",
        ),
        (
            "docker run --rm {image} pytest -q",
            "{dots} [100%]\n{n} passed in {secs}s",
        ),
    ],
    noise: DOCKER_NOISE,
    repeat: DOCKER_REPEAT,
    fails: &[
        f(
            DependencyFailure,
            20,
            1,
            NONE,
            &[
                "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
                "/bin/bash: line 1: docker: command not found",
            ],
        ),
        f(
            PermissionDenied,
            14,
            1,
            NONE,
            &[
                "permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: Get \"http://%2Fvar%2Frun%2Fdocker.sock/v1.47/containers/json\": dial unix /var/run/docker.sock: connect: permission denied",
            ],
        ),
        f(
            NotFound,
            12,
            1,
            &[
                (
                    "docker logs --tail 50 {service}",
                    "{date} INFO  listening on 0.0.0.0:{port}",
                ),
                (
                    "docker exec -it {service} sh -c 'ls /app'",
                    "app.py\nrequirements.txt",
                ),
                (
                    "docker pull {image}",
                    "latest: Pulling from library/{image}\nDigest: sha256:{hex40}\nStatus: Image is up to date for {image}",
                ),
            ],
            &[
                "Error response from daemon: No such container: {service}",
                "Error response from daemon: manifest for {image} not found: manifest unknown: manifest unknown",
            ],
        ),
        f(
            CommandFailed,
            28,
            1,
            &[(
                "docker build -t {image} .",
                "#{n} naming to docker.io/library/{image} done",
            )],
            &[
                "#{n} [{n2}/8] RUN npm ci && npm run build\n#{n} {secs} npm error Lifecycle script `build` failed with error:\n#{n} {secs} npm error code 2\n#{n} ERROR: process \"/bin/sh -c npm ci && npm run build\" did not complete successfully: exit code: 2\n------\n > [{n2}/8] RUN npm ci && npm run build:\n------\nDockerfile:{line}\n--------------------\n  {line} | RUN npm ci && npm run build\n--------------------\nERROR: failed to solve: process \"/bin/sh -c npm ci && npm run build\" did not complete successfully: exit code: 2",
                "#{n} [{n2}/8] RUN make test\n#{n} {secs} make: *** [Makefile:{line}: test] Error 1\n#{n} ERROR: process \"/bin/sh -c make test\" did not complete successfully: exit code: 2\nERROR: failed to solve: process \"/bin/sh -c make test\" did not complete successfully: exit code: 2",
            ],
        ),
        f(
            NetworkError,
            8,
            1,
            &[(
                "docker pull {image}",
                "Status: Image is up to date for {image}",
            )],
            &[
                "Error response from daemon: Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io on 127.0.0.53:53: no such host",
            ],
        ),
        f(
            RateLimited,
            6,
            1,
            &[(
                "docker pull {image}",
                "Status: Downloaded newer image for {image}",
            )],
            &[
                "Error response from daemon: toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit",
            ],
        ),
        f(
            Oom,
            6,
            137,
            &[(
                "docker run --rm {image} python3 train.py",
                "epoch {n}: loss 0.{d}",
            )],
            &[
                "container {service} exited with code 137 (OOMKilled: true)",
                "#{n} [{n2}/8] RUN npm run build\n#{n} ERROR: process \"/bin/sh -c npm run build\" did not complete successfully: exit code: 137\nERROR: failed to solve: ResourceExhausted: process \"/bin/sh -c npm run build\" did not complete successfully: exit code: 137",
            ],
        ),
        f(Timeout, 5, -1, NONE, &[]),
    ],
    benign_p: 0.0,
    benign: NONE,
};

const LS: Prog = Prog {
    name: "ls",
    fail_p: 0.08,
    cmds: &[
        (
            "ls -la {reldir}",
            "total {n}\ndrwxr-xr-x  {n2} {user} {user} 4096 {lsdate} .\ndrwxr-xr-x {n3} {user} {user} 4096 {lsdate} ..\n-rw-r--r--  1 {user} {user} {bytes} {lsdate} {file}\n-rw-r--r--  1 {user} {user} {bytes} {lsdate} {file2}",
        ),
        ("ls {reldir}", "{file}\n{file2}\n__init__.py\nREADME.md"),
        ("ls -1 {reldir} | head -20", "{file}\n{file2}\nconftest.py"),
    ],
    noise: &["{reldir}:", "total {n}"],
    repeat: &[
        "-rw-r--r--  1 {user} {user} {bytes} {lsdate} {file2}",
        "drwxr-xr-x  {d} {user} {user}     4096 {lsdate} {word}",
    ],
    fails: &[
        f(
            NotFound,
            80,
            2,
            NONE,
            &[
                "ls: cannot access '{reldir}': No such file or directory",
                "ls: cannot access '{relpath}': No such file or directory",
            ],
        ),
        f(
            PermissionDenied,
            20,
            2,
            NONE,
            &["ls: cannot open directory '{syspath}': Permission denied"],
        ),
    ],
    benign_p: 0.0,
    benign: NONE,
};

const CAT: Prog = Prog {
    name: "cat",
    fail_p: 0.1,
    cmds: &[
        ("cat {relpath}", "{codeblock}"),
        ("cat -n {relpath} | head -40", "{numbered}"),
        (
            "cat package.json",
            "{{\n  \"name\": \"{proj}\",\n  \"version\": \"{ver}\",\n  \"scripts\": {{\n    \"build\": \"vite build\",\n    \"test\": \"vitest run\"\n  }}\n}}",
        ),
    ],
    noise: &[],
    repeat: &["{codeline}"],
    fails: &[
        f(
            NotFound,
            75,
            1,
            NONE,
            &["cat: {relpath}: No such file or directory"],
        ),
        f(
            PermissionDenied,
            15,
            1,
            NONE,
            &["cat: {syspath}: Permission denied"],
        ),
        f(
            InvalidInput,
            10,
            1,
            &[("cat {reldir}", "")],
            &["cat: {reldir}: Is a directory"],
        ),
    ],
    benign_p: 0.0,
    benign: NONE,
};

const GREP: Prog = Prog {
    name: "grep",
    fail_p: 0.05,
    cmds: &[
        (
            "grep -rn \"{query}\" {reldir}",
            "{reldir}/{file}:{line}:{codeline}\n{reldir}/{file2}:{line}:{codeline}",
        ),
        ("grep -c {ident} {relpath}", "{n}"),
        ("grep -rl \"{ident}\" src", "src/{file}\nsrc/{file2}"),
    ],
    noise: &[],
    repeat: &["{reldir}/{file2}:{line}:{codeline}"],
    fails: &[
        f(
            NotFound,
            70,
            2,
            NONE,
            &[
                "grep: {relpath}: No such file or directory",
                "grep: {reldir}: No such file or directory",
            ],
        ),
        f(
            InvalidInput,
            30,
            2,
            &[(
                "grep -rn \"{ident}(\" {reldir}",
                "{reldir}/{file}:{line}:{codeline}",
            )],
            &[
                "grep: Unmatched ( or \\(",
                "grep: invalid option -- '{letter}'\nUsage: grep [OPTION]... PATTERNS [FILE]...\nTry 'grep --help' for more information.",
            ],
        ),
    ],
    benign_p: 0.35,
    benign: &[
        ("grep -rn \"{query}\" {reldir}", ""),
        ("grep -c {ident} {relpath}", "0"),
        ("grep -q \"{ident}\" {relpath}", ""),
    ],
};

const RG: Prog = Prog {
    name: "rg",
    fail_p: 0.05,
    cmds: &[
        (
            "rg -n \"{query}\" {reldir}",
            "{reldir}/{file}\n{line}:{codeline}\n{line}:{codeline}",
        ),
        (
            "rg --files {reldir}",
            "{reldir}/{file}\n{reldir}/{file2}\n{reldir}/mod.rs",
        ),
        (
            "rg -n \"fn {fn}\" src",
            "src/{rsfile}:{line}:pub fn {fn}(input: &str) -> Result<(), Error> {",
        ),
    ],
    noise: &[],
    repeat: &["{reldir}/{file2}:{line}:{codeline}"],
    fails: &[
        f(
            NotFound,
            60,
            2,
            NONE,
            &[
                "rg: {reldir}: IO error for operation on {reldir}: No such file or directory (os error 2)",
            ],
        ),
        f(
            InvalidInput,
            40,
            2,
            &[(
                "rg -n \"{ident}(\" {reldir}",
                "{reldir}/{file}\n{line}:{codeline}",
            )],
            &["rg: regex parse error:\n    (?:{ident}()\n    ^\nerror: unclosed group"],
        ),
    ],
    benign_p: 0.3,
    benign: &[
        ("rg -n \"{query}\" {reldir}", ""),
        ("rg -l \"{ident}\" src", ""),
    ],
};

const FIND: Prog = Prog {
    name: "find",
    fail_p: 0.06,
    cmds: &[
        (
            "find {reldir} -name '*.{ext}'",
            "{reldir}/{file}\n{reldir}/{file2}\n{reldir}/sub/{file}",
        ),
        (
            "find . -maxdepth 2 -type d",
            ".\n./src\n./tests\n./docs\n./{reldir}",
        ),
    ],
    noise: &[],
    repeat: &["./{reldir}/{file2}", "./{reldir}/{word}/{file2}"],
    fails: &[
        f(
            NotFound,
            60,
            1,
            NONE,
            &["find: '{reldir}': No such file or directory"],
        ),
        f(
            PermissionDenied,
            40,
            1,
            &[("find / -name {file} 2>&1", "/home/{user}/{proj}/{relpath}")],
            &[
                "find: '/proc/{pid}/task/{pid}/fd': Permission denied\nfind: '/root': Permission denied\nfind: '/var/lib/docker': Permission denied",
            ],
        ),
    ],
    benign_p: 0.0,
    benign: NONE,
};

const SED: Prog = Prog {
    name: "sed",
    fail_p: 0.06,
    cmds: &[
        ("sed -n '{line},{n}p' {relpath}", "{codeblock}"),
        ("sed -i 's/{ident}/{ident2}/g' {relpath}", ""),
    ],
    noise: &[],
    repeat: &["{codeline}"],
    fails: &[
        f(
            NotFound,
            55,
            2,
            NONE,
            &["sed: can't read {relpath}: No such file or directory"],
        ),
        f(
            InvalidInput,
            45,
            1,
            &[("sed -i 's/{ident}/{ident2}' {relpath}", "")],
            &[
                "sed: -e expression #1, char {n}: unterminated `s' command",
                "sed: -e expression #1, char {n}: unknown option to `s'",
            ],
        ),
    ],
    benign_p: 0.0,
    benign: NONE,
};

const DIFF: Prog = Prog {
    name: "diff",
    fail_p: 0.04,
    cmds: &[("diff -u {relpath} {relpath}.orig", "")],
    noise: &[],
    repeat: &["{codeline}"],
    fails: &[f(
        NotFound,
        100,
        2,
        NONE,
        &["diff: {relpath}.orig: No such file or directory"],
    )],
    benign_p: 0.6,
    benign: &[(
        "diff -u {relpath} {relpath}.orig",
        "--- {relpath}\t{date}\n+++ {relpath}.orig\t{date}\n@@ -{line},{n} +{line},{n2} @@\n-{codeline}\n+{codeline}",
    )],
};

const TEST: Prog = Prog {
    name: "test",
    fail_p: 0.0,
    cmds: &[("test -f {relpath} && echo exists", "exists")],
    noise: &[],
    repeat: &[],
    fails: &[],
    benign_p: 0.5,
    benign: &[
        ("test -f {relpath} && echo exists", ""),
        ("test -d {reldir}", ""),
    ],
};

const GH: Prog = Prog {
    name: "gh",
    fail_p: 0.12,
    cmds: &[
        (
            "gh pr view {n} --json title,state",
            "{{\"state\":\"OPEN\",\"title\":\"{commitmsg}\"}}",
        ),
        ("gh pr create --fill", "https://github.com/{repo}/pull/{n}"),
        (
            "gh run list --limit 5",
            "completed\tsuccess\t{commitmsg}\tCI\t{branch}\tpush\t{n}\t{n2}m{n3}s\t{date}",
        ),
        (
            "gh issue view {issue}",
            "{commitmsg} #{issue}\nOpen • {user} opened about {n} days ago • {n2} comments",
        ),
    ],
    noise: &[],
    repeat: &["{date}  {commitmsg}  #{issue}"],
    fails: &[
        f(
            PermissionDenied,
            30,
            1,
            NONE,
            &[
                "HTTP 403: Resource not accessible by integration (https://api.github.com/repos/{repo}/pulls)",
                "To get started with GitHub CLI, please run:  gh auth login\nAlternatively, populate the GH_TOKEN environment variable with a GitHub API authentication token.",
            ],
        ),
        f(
            NotFound,
            25,
            1,
            NONE,
            &[
                "GraphQL: Could not resolve to a PullRequest with the number of {n}. (repository.pullRequest)",
                "GraphQL: Could not resolve to an issue or pull request with the number of {issue}. (repository.issue)",
            ],
        ),
        f(
            RateLimited,
            15,
            1,
            NONE,
            &[
                "HTTP 403: API rate limit exceeded for user ID {n}{n2}. If you reach out to GitHub Support for help, please include the request ID {HEX8}:{HEX8}:{HEX8}:{HEX8} and timestamp {date} UTC. (https://api.github.com/graphql)\nAPI rate limit exceeded",
            ],
        ),
        f(
            DependencyFailure,
            15,
            127,
            NONE,
            &["/bin/bash: line 1: gh: command not found"],
        ),
        f(
            NetworkError,
            15,
            1,
            NONE,
            &[
                "error connecting to api.github.com\ncheck your internet connection or https://githubstatus.com",
            ],
        ),
    ],
    benign_p: 0.0,
    benign: NONE,
};

const MAKE: Prog = Prog {
    name: "make",
    fail_p: 0.18,
    cmds: &[
        (
            "make",
            "cc -O2 -Wall -c src/{word}.c -o build/{word}.o\ncc -O2 -Wall -o build/{proj} build/{word}.o build/main.o",
        ),
        ("make test", "go test ./...\nok  \t{gomod}/{word}\t0.{d}s"),
        ("make lint", "ruff check .\nAll checks passed!"),
        ("make build", "mkdir -p dist\ncp -r static dist/"),
    ],
    noise: &[
        "make[1]: Entering directory '{root}/{reldir}'",
        "mkdir -p build",
    ],
    repeat: &["cc -O2 -Wall -c src/{word}.c -o build/{word}.o"],
    fails: &[
        f(
            CommandFailed,
            55,
            2,
            NONE,
            &[
                "src/{word}.c: In function '{fn}':\nsrc/{word}.c:{line}:{col}: error: '{ident}' undeclared (first use in this function)\n  {line} |     return {ident} + 1;\n      |            ^~~~~~~~\nmake: *** [Makefile:{line}: build/{word}.o] Error 1",
                "ruff check .\n{relpath}:{line}:{col}: F401 [*] `{pymod}` imported but unused\nFound 1 error.\n[*] 1 fixable with the `--fix` option.\nmake: *** [Makefile:{line}: lint] Error 1",
                "--- FAIL: Test{cls} (0.0{n}s)\n    {word}_test.go:{line}: expected {n2}, got {n3}\nFAIL\nFAIL\t{gomod}/{word}\t0.{d}s\nmake: *** [Makefile:{line}: test] Error 1",
            ],
        ),
        f(
            NotFound,
            20,
            2,
            &[("make {target}", "make: Nothing to be done for '{target}'.")],
            &[
                "make: *** No rule to make target '{target}'.  Stop.",
                "make: *** No rule to make target 'src/{word}.c', needed by 'build/{word}.o'.  Stop.",
            ],
        ),
        f(
            DependencyFailure,
            15,
            2,
            NONE,
            &["/bin/sh: 1: {tool_bin}: not found\nmake: *** [Makefile:{line}: {target}] Error 127"],
        ),
        f(Timeout, 6, -1, NONE, &[]),
    ],
    benign_p: 0.0,
    benign: NONE,
};

const CURL: Prog = Prog {
    name: "curl",
    fail_p: 0.15,
    cmds: &[
        (
            "curl -s http://localhost:{port}/health",
            "{{\"status\":\"ok\",\"uptime\":{n}}}",
        ),
        (
            "curl -sS {url}",
            "{{\"id\":{n},\"status\":\"ok\",\"items\":[]}}",
        ),
        ("curl -fsSL {url} -o /tmp/{file}", ""),
    ],
    noise: &[
        "  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current",
        "                                 Dload  Upload   Total   Spent    Left  Speed",
        "  0     0    0     0    0     0      0      0 --:--:-- --:--:-- --:--:--     0",
    ],
    repeat: &[],
    fails: &[
        f(
            ConnectionRefused,
            30,
            7,
            &[(
                "curl -s http://localhost:{port}/health",
                "{{\"status\":\"ok\"}}",
            )],
            &[
                "curl: (7) Failed to connect to localhost port {port} after 0 ms: Couldn't connect to server",
                "curl: (7) Failed to connect to 127.0.0.1 port {port} after {n} ms: Connection refused",
            ],
        ),
        f(
            NetworkError,
            20,
            6,
            &[("curl -sS {url}", "{{\"status\":\"ok\"}}")],
            &[
                "curl: (6) Could not resolve host: {host}",
                "curl: (35) OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to {host}:443",
            ],
        ),
        f(
            Timeout,
            15,
            28,
            &[("curl -sS --max-time 30 {url}", "{{\"status\":\"ok\"}}")],
            &["curl: (28) Operation timed out after 30001 milliseconds with 0 bytes received"],
        ),
        f(
            NotFound,
            15,
            22,
            &[("curl -fsS {url}", "{{\"status\":\"ok\"}}")],
            &["curl: (22) The requested URL returned error: 404"],
        ),
        f(
            RateLimited,
            10,
            22,
            &[("curl -fsS {url}", "{{\"status\":\"ok\"}}")],
            &["curl: (22) The requested URL returned error: 429"],
        ),
        f(
            PermissionDenied,
            10,
            22,
            &[(
                "curl -fsS -H \"Authorization: Bearer $TOKEN\" {url}",
                "{{\"status\":\"ok\"}}",
            )],
            &[
                "curl: (22) The requested URL returned error: 403",
                "curl: (22) The requested URL returned error: 401",
            ],
        ),
    ],
    benign_p: 0.0,
    benign: NONE,
};

const NODE: Prog = Prog {
    name: "node",
    fail_p: 0.14,
    cmds: &[
        ("node scripts/{jsfile}", "done in {ms}ms"),
        (
            "node -e \"console.log(require('./package.json').version)\"",
            "{ver}",
        ),
        (
            "node dist/index.js --dry-run",
            "[dry-run] would process {n} items",
        ),
    ],
    noise: &[],
    repeat: &[
        "[{date}] starting {word}",
        "loaded {n} entries from {relpath}",
    ],
    fails: &[
        f(
            CommandFailed,
            45,
            1,
            NONE,
            &[
                "{root}/scripts/{jsfile}:{line}\n    const {ident} = config.{ident2}.map(x => x.id);\n                                 ^\n\nTypeError: Cannot read properties of undefined (reading 'map')\n    at Object.<anonymous> ({root}/scripts/{jsfile}:{line}:{col})\n    at Module._compile (node:internal/modules/cjs/loader:1469:14)\n\nNode.js v20.{d}.{d}",
                "file://{root}/dist/index.js:{line}\n        throw new Error(`invalid {word}: ${{value}}`);\n              ^\n\nError: invalid {word}: {n}\n    at parse (file://{root}/dist/index.js:{line}:{col})\n\nNode.js v22.{d}.0",
                "SyntaxError: Unexpected token '}' in JSON at position {n}\n    at JSON.parse (<anonymous>)\n    at loadConfig ({root}/scripts/{jsfile}:{line}:{col})",
            ],
        ),
        f(
            DependencyFailure,
            25,
            1,
            NONE,
            &[
                "node:internal/modules/cjs/loader:1228\n  throw err;\n  ^\n\nError: Cannot find module '{npmpkg}'\nRequire stack:\n- {root}/scripts/{jsfile}\n    at Module._resolveFilename (node:internal/modules/cjs/loader:1225:15) {\n  code: 'MODULE_NOT_FOUND',\n  requireStack: [ '{root}/scripts/{jsfile}' ]\n}\n\nNode.js v20.{d}.0",
            ],
        ),
        f(
            ConnectionRefused,
            15,
            1,
            NONE,
            &[
                "Error: connect ECONNREFUSED 127.0.0.1:{port}\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1607:16) {\n  errno: -111,\n  code: 'ECONNREFUSED',\n  syscall: 'connect',\n  address: '127.0.0.1',\n  port: {port}\n}",
            ],
        ),
        f(
            Oom,
            6,
            134,
            NONE,
            &[
                "\n<--- Last few GCs --->\n\nFATAL ERROR: Ineffective mark-compacts near heap limit Allocation failed - JavaScript heap out of memory\n----- Native stack trace -----\n\n 1: 0xb{hex7} node::OOMErrorHandler(char const*, v8::OOMDetails const&) [node]\nAborted (core dumped)",
            ],
        ),
        f(Timeout, 5, -1, NONE, &[]),
    ],
    benign_p: 0.0,
    benign: NONE,
};

const KUBECTL: Prog = Prog {
    name: "kubectl",
    fail_p: 0.14,
    cmds: &[
        (
            "kubectl get pods -n {ns}",
            "NAME                         READY   STATUS    RESTARTS   AGE\n{pod}   1/1     Running   0          {n}h\n{service}-{hex7}-{hex5}   1/1     Running   {n2}          {n3}d",
        ),
        (
            "kubectl rollout status deployment/{service} -n {ns}",
            "deployment \"{service}\" successfully rolled out",
        ),
        (
            "kubectl logs {pod} -n {ns} --tail=50",
            "{date} INFO  request handled in {ms}ms",
        ),
        (
            "kubectl describe pod {pod} -n {ns}",
            "Name:         {pod}\nNamespace:    {ns}\nStatus:       Running\nIP:           {ip}",
        ),
    ],
    noise: &["NAME                         READY   STATUS    RESTARTS   AGE"],
    repeat: &["{service}-{hex7}-{hex5}   1/1     Running   {d}          {d}d"],
    fails: &[
        f(
            NotFound,
            25,
            1,
            NONE,
            &[
                "Error from server (NotFound): pods \"{pod}\" not found",
                "Error from server (NotFound): deployments.apps \"{service}\" not found",
                "Error from server (NotFound): namespaces \"{ns}\" not found",
            ],
        ),
        f(
            PermissionDenied,
            20,
            1,
            NONE,
            &[
                "Error from server (Forbidden): pods is forbidden: User \"system:serviceaccount:{ns}:{user}\" cannot list resource \"pods\" in API group \"\" in the namespace \"{ns}\"",
            ],
        ),
        f(
            ConnectionRefused,
            18,
            1,
            NONE,
            &[
                "The connection to the server localhost:8080 was refused - did you specify the right host or port?",
                "E{date} {pid} memcache.go:265] couldn't get current server API group list: Get \"https://127.0.0.1:6443/api?timeout=32s\": dial tcp 127.0.0.1:6443: connect: connection refused\nThe connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?",
            ],
        ),
        f(
            NetworkError,
            12,
            1,
            NONE,
            &[
                "Unable to connect to the server: dial tcp: lookup {service}.{ns}.example.internal on 10.96.0.10:53: no such host",
            ],
        ),
        f(
            InvalidInput,
            10,
            1,
            NONE,
            &[
                "error: unknown flag: --{flag}\nSee 'kubectl get --help' for usage.",
                "error: the server doesn't have a resource type \"{word}\"",
            ],
        ),
        f(
            Timeout,
            10,
            1,
            &[(
                "kubectl rollout status deployment/{service} -n {ns} --timeout=120s",
                "deployment \"{service}\" successfully rolled out",
            )],
            &[
                "Waiting for deployment \"{service}\" rollout to finish: 1 of 3 updated replicas are available...\nerror: timed out waiting for the condition",
            ],
        ),
        f(
            DependencyFailure,
            5,
            127,
            NONE,
            &["/bin/bash: line 1: kubectl: command not found"],
        ),
    ],
    benign_p: 0.0,
    benign: NONE,
};

const GO: Prog = Prog {
    name: "go",
    fail_p: 0.17,
    cmds: &[
        (
            "go test ./...",
            "ok  \t{gomod}/{word}\t0.{d}s\nok  \t{gomod}/internal/{word}\t0.{d}s\n?   \t{gomod}/cmd/{proj}\t[no test files]",
        ),
        ("go build ./...", ""),
        ("go vet ./...", ""),
        (
            "go test -run Test{cls} ./{reldir}",
            "ok  \t{gomod}/{reldir}\t0.{d}s",
        ),
    ],
    noise: &[],
    repeat: &[
        "=== RUN   Test{cls}{word}",
        "--- PASS: Test{cls}{word} (0.00s)",
        "ok  \t{gomod}/{word}\t0.{d}s",
    ],
    fails: &[
        f(
            CommandFailed,
            60,
            1,
            NONE,
            &[
                "--- FAIL: Test{cls} (0.0{n}s)\n    {word}_test.go:{line}: expected {n2}, got {n3}\nFAIL\nFAIL\t{gomod}/{word}\t0.{d}s\nFAIL",
                "# {gomod}/{word}\n{reldir}/{gofile}:{line}:{col}: undefined: {cls}\n{reldir}/{gofile}:{line}:{col}: cannot use {ident} (variable of type string) as int value in argument to {fn}",
                "--- FAIL: Test{cls} (0.00s)\npanic: runtime error: index out of range [{n}] with length {n2} [recovered]\n\tpanic: runtime error: index out of range [{n}] with length {n2}\n\ngoroutine {n3} [running]:\ntesting.tRunner.func1.2({{0x{hex7}, 0xc000{hex7}}})\nFAIL\t{gomod}/{word}\t0.{d}s",
            ],
        ),
        f(
            DependencyFailure,
            20,
            1,
            NONE,
            &[
                "{reldir}/{gofile}:{line}:2: no required module provides package github.com/{repo}/{word}; to add it:\n\tgo get github.com/{repo}/{word}",
            ],
        ),
        f(
            NetworkError,
            10,
            1,
            &[("go mod download", "")],
            &[
                "go: github.com/{repo}@v{ver}: Get \"https://proxy.golang.org/github.com/{repo}/@v/v{ver}.mod\": dial tcp: lookup proxy.golang.org on 127.0.0.53:53: server misbehaving",
            ],
        ),
        f(Timeout, 6, -1, NONE, &[]),
    ],
    benign_p: 0.0,
    benign: NONE,
};

const PIP: Prog = Prog {
    name: "pip",
    fail_p: 0.14,
    cmds: &[
        (
            "pip install -r requirements.txt",
            "Requirement already satisfied: {pymod} in ./.venv/lib/python3.12/site-packages ({ver})\nSuccessfully installed {pymod}-{ver}",
        ),
        (
            "pip install {pymod}=={ver}",
            "Collecting {pymod}=={ver}\n  Downloading {pymod}-{ver}-py3-none-any.whl ({n} kB)\nInstalling collected packages: {pymod}\nSuccessfully installed {pymod}-{ver}",
        ),
        (
            "pip list --outdated",
            "Package    Version Latest Type\n---------- ------- ------ -----\n{pymod}    {ver}   {ver}  wheel",
        ),
    ],
    noise: &[],
    repeat: &[
        "Collecting {pymod}>={ver}",
        "  Downloading {pymod}-{ver}-py3-none-any.whl ({n} kB)",
        "Requirement already satisfied: {pymod} in ./.venv/lib/python3.12/site-packages",
    ],
    fails: &[
        f(
            DependencyFailure,
            45,
            1,
            NONE,
            &[
                "ERROR: Could not find a version that satisfies the requirement {pymod}=={ver} (from versions: 0.{d}.0, 0.{d}.1, 1.0.{d})\nERROR: No matching distribution found for {pymod}=={ver}",
                "ERROR: Cannot install {pymod}=={ver} and {pymod2}=={ver} because these package versions have conflicting dependencies.\nERROR: ResolutionImpossible: for help visit https://pip.pypa.io/en/latest/topics/dependency-resolution/#dealing-with-dependency-conflicts",
            ],
        ),
        f(
            NetworkError,
            30,
            1,
            NONE,
            &[
                "WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection broken by 'NewConnectionError('<pip._vendor.urllib3.connection.HTTPSConnection object at 0x{hex12}>: Failed to establish a new connection: [Errno -3] Temporary failure in name resolution')': /simple/{pymod}/\nERROR: Could not find a version that satisfies the requirement {pymod} (from versions: none)\nERROR: No matching distribution found for {pymod}",
            ],
        ),
        f(
            PermissionDenied,
            25,
            1,
            NONE,
            &[
                "ERROR: Could not install packages due to an OSError: [Errno 13] Permission denied: '/usr/lib/python3/dist-packages/{pymod}'\nConsider using the `--user` option or check the permissions.",
            ],
        ),
    ],
    benign_p: 0.0,
    benign: NONE,
};

const TERRAFORM: Prog = Prog {
    name: "terraform",
    fail_p: 0.16,
    cmds: &[
        (
            "terraform plan -no-color",
            "No changes. Your infrastructure matches the configuration.",
        ),
        ("terraform validate", "Success! The configuration is valid."),
        (
            "terraform apply -auto-approve -no-color",
            "Apply complete! Resources: {n} added, {n2} changed, 0 destroyed.",
        ),
    ],
    noise: &[],
    repeat: &[
        "Refreshing state... [id={service}-{hex7}]",
        "aws_s3_bucket.{word}: Refreshing state... [id={bucket}]",
        "module.{word}.aws_iam_role.this: Refreshing state... [id={service}]",
    ],
    fails: &[
        f(
            PermissionDenied,
            25,
            1,
            NONE,
            &[
                "Error: reading S3 Bucket ({bucket}): operation error S3: HeadBucket, https response error StatusCode: 403, RequestID: {HEX8}{HEX8}, HostID: {hex40}, api error Forbidden: Forbidden\n\n  with aws_s3_bucket.{word},\n  on main.tf line {line}, in resource \"aws_s3_bucket\" \"{word}\":",
            ],
        ),
        f(
            RateLimited,
            15,
            1,
            NONE,
            &[
                "Error: updating IAM Role ({service}): operation error IAM: UpdateAssumeRolePolicy, exceeded maximum number of attempts, 25, https response error StatusCode: 400, RequestID: {uuid}, api error Throttling: Rate exceeded",
            ],
        ),
        f(
            InvalidInput,
            25,
            1,
            NONE,
            &[
                "Error: Unsupported argument\n\n  on main.tf line {line}, in resource \"aws_s3_bucket\" \"{word}\":\n  {line}:   acl_policy = \"private\"\n\nAn argument named \"acl_policy\" is not expected here.",
                "Error: Missing required argument\n\n  on variables.tf line {line}:\n\nThe argument \"region\" is required, but no definition was found.",
            ],
        ),
        f(
            StaleState,
            20,
            1,
            NONE,
            &[
                "Error: Error acquiring the state lock\n\nError message: ConditionalCheckFailedException: The conditional request failed\nLock Info:\n  ID:        {uuid}\n  Path:      {bucket}/terraform.tfstate\n  Operation: OperationTypeApply\n  Who:       {user}@{service}\n  Version:   1.{d}.{d}\n\nTerraform acquires a state lock to protect the state from being written\nby multiple users at the same time.",
                "Error: Saved plan is stale\n\nThe given plan file can no longer be applied because the state was changed\nby another operation after the plan was created.",
            ],
        ),
        f(
            NetworkError,
            15,
            1,
            NONE,
            &[
                "Error: Failed to query available provider packages\n\nCould not retrieve the list of available versions for provider hashicorp/aws: could not connect to registry.terraform.io: failed to request discovery document: Get \"https://registry.terraform.io/.well-known/terraform.json\": dial tcp: lookup registry.terraform.io: no such host",
            ],
        ),
    ],
    benign_p: 0.0,
    benign: NONE,
};

const PSQL: Prog = Prog {
    name: "psql",
    fail_p: 0.15,
    cmds: &[
        (
            "psql \"$DATABASE_URL\" -c \"SELECT count(*) FROM {table}\"",
            " count \n-------\n {n}\n(1 row)",
        ),
        (
            "psql -h localhost -U {user} -d {proj} -c \"\\dt\"",
            "          List of relations\n Schema |  Name   | Type  | Owner\n--------+---------+-------+-------\n public | {table} | table | {user}\n({n} rows)",
        ),
        (
            "psql \"$DATABASE_URL\" -f migrations/{n}_{word}.sql",
            "CREATE TABLE\nCREATE INDEX",
        ),
    ],
    noise: &["SET", "BEGIN"],
    repeat: &[],
    fails: &[
        f(
            ConnectionRefused,
            30,
            2,
            NONE,
            &[
                "psql: error: connection to server at \"localhost\" (127.0.0.1), port 5432 failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?",
                "psql: error: connection to server on socket \"/var/run/postgresql/.s.PGSQL.5432\" failed: No such file or directory\n\tIs the server running locally and accepting connections on that socket?",
            ],
        ),
        f(
            PermissionDenied,
            20,
            1,
            NONE,
            &[
                "ERROR:  permission denied for table {table}",
                "psql: error: connection to server at \"localhost\" (127.0.0.1), port 5432 failed: FATAL:  password authentication failed for user \"{user}\"",
            ],
        ),
        f(
            NotFound,
            20,
            1,
            NONE,
            &[
                "ERROR:  relation \"{table}\" does not exist\nLINE 1: SELECT count(*) FROM {table}\n                             ^",
                "ERROR:  column \"{column}\" does not exist\nLINE 1: SELECT {column} FROM {table}\n               ^\nHINT:  Perhaps you meant to reference the column \"{table}.{column2}\".",
            ],
        ),
        f(
            InvalidInput,
            15,
            1,
            NONE,
            &[
                "ERROR:  syntax error at or near \"{sqlword}\"\nLINE 1: SELECT * {sqlword} {table} WHERE\n                 ^",
            ],
        ),
        f(
            Timeout,
            15,
            1,
            NONE,
            &[
                "ERROR:  canceling statement due to statement timeout\nCONTEXT:  SQL statement \"SELECT * FROM {table} WHERE {column} > now() - interval '30 days'\"",
            ],
        ),
    ],
    benign_p: 0.0,
    benign: NONE,
};

/// Every program.
pub(crate) const PROGS: &[Prog] = &[
    GIT, PYTEST, PYTHON3, NPM, NPX, CARGO, DOCKER, LS, CAT, GREP, RG, FIND, SED, DIFF, TEST, GH,
    MAKE, CURL, NODE, KUBECTL, GO, PIP, TERRAFORM, PSQL,
];

/// The program named `name`.
#[cfg(test)]
pub(crate) fn prog(name: &str) -> Option<&'static Prog> {
    PROGS.iter().find(|p| p.name == name)
}

// ----------------------------------------------------------------------------- families

const CC_ERR: &[&str] = &["<tool_use_error>{core}</tool_use_error>", "{core}"];
const PY_TRACE: &[&str] = &[
    "Traceback (most recent call last):\n{toolframes}{core}",
    "Error executing tool {tool}: {core}",
    "{core}",
];
const MCP_ENV: &[&str] = &[
    "MCP error -32603: {core}",
    "Error executing tool {tool}: {core}",
    "{core}",
];

const CC_READ: FamDef = FamDef {
    fail_p: 0.045,
    fails: &[
        f(
            NotFound,
            60,
            0,
            NONE,
            &[
                "File does not exist.",
                "File does not exist. Did you mean {file2}?",
                "File does not exist. Note: your current working directory is {root}.",
            ],
        ),
        f(
            InvalidInput,
            25,
            0,
            NONE,
            &[
                "File content ({tokens} tokens) exceeds maximum allowed tokens (25000). Please use offset and limit parameters to read specific portions of the file, or use the GrepTool to search for specific content.",
                "File content ({kb}KB) exceeds maximum allowed size (256KB). Please use offset and limit parameters to read specific portions of the file, or use the GrepTool to search for specific content.",
                "This tool cannot read binary files. The file appears to be a binary .{binext} file. Please use appropriate tools for binary file analysis.",
            ],
        ),
        f(
            PermissionDenied,
            15,
            0,
            NONE,
            &[
                "EACCES: permission denied, open '{syspath}'",
                "Permission to read {syspath} has been denied.",
            ],
        ),
    ],
    envelopes: CC_ERR,
    details: &[
        "Note: your current working directory is {root}.",
        "Requested path: {path}",
        "Offset: {line}, limit: 2000",
    ],
    ok: &["{numbered}", "{numbered}\n{numbered}"],
};

const CC_EDIT: FamDef = FamDef {
    fail_p: 0.11,
    fails: &[
        f(
            StaleState,
            70,
            0,
            NONE,
            &[
                "String to replace not found in file.\nString: {codeline}",
                "String to replace not found in file.\nString:     {codeline}\n    {codeline}",
                "File has not been read yet. Read it first before writing to it.",
                "File has been modified since read, either by the user or by a linter. Read it again before attempting to write it.",
            ],
        ),
        f(
            InvalidInput,
            20,
            0,
            NONE,
            &[
                "Found {n} matches of the string to replace, but replace_all is false. To replace all occurrences, set replace_all to true. To replace only one occurrence, please provide more context to uniquely identify the instance.\nString: {codeline}",
                "No changes to make: old_string and new_string are exactly the same.",
            ],
        ),
        f(
            NotFound,
            10,
            0,
            NONE,
            &[
                "File does not exist.",
                "File does not exist. Note: your current working directory is {root}.",
            ],
        ),
    ],
    envelopes: &["<tool_use_error>{core}</tool_use_error>"],
    details: &["File: {path}"],
    ok: &[
        "The file {path} has been updated. Here's the result of running `cat -n` on a snippet of the edited file:\n{numbered}",
    ],
};

const CC_WRITE: FamDef = FamDef {
    fail_p: 0.05,
    fails: &[
        f(
            StaleState,
            60,
            0,
            NONE,
            &[
                "File has not been read yet. Read it first before writing to it.",
                "File has been modified since read, either by the user or by a linter. Read it again before attempting to write it.",
            ],
        ),
        f(
            PermissionDenied,
            25,
            0,
            NONE,
            &[
                "EACCES: permission denied, open '{syspath}'",
                "EROFS: read-only file system, open '{syspath}'",
            ],
        ),
        f(
            NotFound,
            15,
            0,
            NONE,
            &[
                "ENOENT: no such file or directory, open '{path}'",
                "Notebook file does not exist: {path}",
            ],
        ),
    ],
    envelopes: CC_ERR,
    details: &[
        "File: {path}",
        "Note: your current working directory is {root}.",
    ],
    ok: &[
        "File created successfully at: {path}",
        "The file {path} has been updated. Here's the result of running `cat -n` on a snippet of the edited file:\n{numbered}",
    ],
};

const CC_GREP: FamDef = FamDef {
    fail_p: 0.03,
    fails: &[
        f(
            InvalidInput,
            55,
            0,
            NONE,
            &[
                "InputValidationError: Grep failed due to the following issue:\nAn unexpected parameter `{param}` was provided",
                "rg: regex parse error:\n    {ident}(\n    ^\nerror: unclosed group",
                "InputValidationError: Grep failed due to the following issue:\nThe parameter `output_mode` type is expected as `string` but provided as `number`",
            ],
        ),
        f(
            NotFound,
            45,
            0,
            NONE,
            &[
                "Path does not exist: {reldir}. Note: your current working directory is {root}.",
                "Path does not exist: {root}/{reldir}",
            ],
        ),
    ],
    envelopes: &["<tool_use_error>{core}</tool_use_error>"],
    details: &["Note: your current working directory is {root}."],
    ok: &[
        "Found {n} files\n{path}\n{path2}",
        "{reldir}/{file}:{line}:{codeline}\n{reldir}/{file2}:{line}:{codeline}",
        "No files found",
    ],
};

const CC_GLOB: FamDef = FamDef {
    fail_p: 0.03,
    fails: &[
        f(
            NotFound,
            80,
            0,
            NONE,
            &[
                "Directory does not exist: {dir}",
                "Directory does not exist: {dir}. Note: your current working directory is {root}.",
            ],
        ),
        f(
            Timeout,
            20,
            0,
            NONE,
            &[
                "Glob timed out after 20 seconds while searching {dir}; narrow the pattern or the path.",
            ],
        ),
    ],
    envelopes: &["<tool_use_error>{core}</tool_use_error>"],
    details: &["Note: your current working directory is {root}."],
    ok: &["{path}\n{path2}\n{dir}/{file}", "No files found"],
};

const CC_WEBFETCH: FamDef = FamDef {
    fail_p: 0.12,
    fails: &[
        f(
            NotFound,
            40,
            0,
            NONE,
            &[
                "Request failed with status code 404",
                "Request failed with status code 410",
            ],
        ),
        f(
            PermissionDenied,
            22,
            0,
            NONE,
            &[
                "Request failed with status code 403",
                "Request failed with status code 401",
            ],
        ),
        f(
            RateLimited,
            12,
            0,
            NONE,
            &["Request failed with status code 429"],
        ),
        f(
            NetworkError,
            10,
            0,
            NONE,
            &[
                "getaddrinfo ENOTFOUND {host}",
                "Client network socket disconnected before secure TLS connection was established",
                "unable to verify the first certificate",
            ],
        ),
        f(Timeout, 8, 0, NONE, &["timeout of 60000ms exceeded"]),
        f(
            InvalidInput,
            8,
            0,
            NONE,
            &[
                "Invalid URL: {word}/{reldir}",
                "The URL must be a fully-formed valid URL: {host}/{word}",
            ],
        ),
    ],
    envelopes: &["{core}"],
    details: &["URL: {url}", "while fetching {url}", "Domain: {host}"],
    ok: &[
        "# {title}\n\n{prose}\n\n## {word}\n\n{prose}",
        "{prose}\n\n{prose}",
    ],
};

const WEB_SEARCH: FamDef = FamDef {
    fail_p: 0.04,
    fails: &[
        f(
            RateLimited,
            40,
            0,
            NONE,
            &[
                "Web search failed: 429 Too Many Requests (quota exceeded, retry in {n}s)",
                "Search quota exceeded for this minute (status 429). Please retry later.",
            ],
        ),
        f(
            Timeout,
            25,
            0,
            NONE,
            &["Web search timed out after 30000ms"],
        ),
        f(
            ToolError,
            20,
            0,
            NONE,
            &[
                "Web search failed: internal error while ranking results (ref {HEX8})",
                "Search backend returned an unexpected response format (ref {HEX8})",
            ],
        ),
        f(
            NetworkError,
            15,
            0,
            NONE,
            &[
                "Web search failed: fetch failed (ECONNRESET)",
                "Web search failed: socket hang up",
            ],
        ),
    ],
    envelopes: &["{core}", "Error: {core}"],
    details: &["query: \"{title}\"", "request id: {uuid}"],
    ok: &[
        "Web search results for query: \"{title}\"\n\n1. {title} - {url}\n{prose}\n2. {title} - {url}\n{prose}",
    ],
};

const TODO: FamDef = FamDef {
    fail_p: 0.015,
    fails: &[f(
        InvalidInput,
        100,
        0,
        NONE,
        &[
            "InputValidationError: {tool} failed due to the following issue:\nThe required parameter `todos` is missing",
            "InputValidationError: {tool} failed due to the following issue:\nThe parameter `todos[{n}].status` type is expected as `\"pending\" | \"in_progress\" | \"completed\"` but provided as `\"done\"`",
            "failed to parse function arguments: missing field `plan` at line 1 column {n}",
        ],
    )],
    envelopes: &["<tool_use_error>{core}</tool_use_error>", "{core}"],
    details: &["Call id: {uuid}"],
    ok: &[
        "Todos have been modified successfully. Ensure that you continue to use the todo list to track your progress. Please proceed with the current tasks if applicable",
        "Plan updated",
    ],
};

const SUBAGENT: FamDef = FamDef {
    fail_p: 0.05,
    fails: &[
        f(
            InvalidInput,
            40,
            0,
            NONE,
            &[
                "Agent type '{word}-expert' not found. Available agents: general-purpose, statusline-setup, output-style-setup, Explore",
            ],
        ),
        f(
            Timeout,
            30,
            0,
            NONE,
            &["Agent timed out after 600000ms without returning a result"],
        ),
        f(
            ToolError,
            30,
            0,
            NONE,
            &["Agent terminated unexpectedly: internal error in subagent runtime (ref {HEX8})"],
        ),
    ],
    envelopes: CC_ERR,
    details: &["description: {title}"],
    ok: &["{prose}\n\nSummary of findings:\n- {prose}\n- {prose}"],
};

const PATCH: FamDef = FamDef {
    fail_p: 0.09,
    fails: &[
        f(
            StaleState,
            75,
            0,
            NONE,
            &[
                "apply_patch verification failed: Failed to find expected lines in {path}:\n{codeline}\n{codeline}",
                "apply_patch verification failed: Failed to find context '{codeline}' in {path}",
            ],
        ),
        f(
            NotFound,
            15,
            0,
            NONE,
            &[
                "apply_patch verification failed: Failed to read file to update {path}: No such file or directory (os error 2)",
            ],
        ),
        f(
            InvalidInput,
            10,
            0,
            NONE,
            &[
                "apply_patch verification failed: invalid hunk at line {n}, '{codeline}' is not a valid hunk header. Valid hunk headers: '*** Add File: {{path}}', '*** Delete File: {{path}}', '*** Update File: {{path}}'",
            ],
        ),
    ],
    envelopes: &["{core}"],
    details: &["workdir: {root}"],
    ok: &[
        "Success. Updated the following files:\nM {relpath}",
        "Success. Updated the following files:\nA {relpath}\nM {relpath2}",
    ],
};

const GEM_READ: FamDef = FamDef {
    fail_p: 0.04,
    fails: &[
        f(
            NotFound,
            65,
            0,
            NONE,
            &["File not found: {path}", "Error: File not found: {path}"],
        ),
        f(
            InvalidInput,
            20,
            0,
            NONE,
            &[
                "File path must be absolute, but was relative: {relpath}. You must provide an absolute path.",
                "File path must be within one of the workspace directories: {root}",
            ],
        ),
        f(
            PermissionDenied,
            15,
            0,
            NONE,
            &["Error reading file {syspath}: EACCES: permission denied, open '{syspath}'"],
        ),
    ],
    envelopes: &["Error executing tool {tool}: {core}", "{core}"],
    details: &["Workspace: {root}"],
    ok: &[
        "{codeblock}",
        "--- {path} ---\n{codeblock}\n--- {path2} ---\n{codeblock}",
    ],
};

const GEM_WRITE: FamDef = FamDef {
    fail_p: 0.04,
    fails: &[
        f(
            PermissionDenied,
            50,
            0,
            NONE,
            &["Error writing to file: EACCES: permission denied, open '{syspath}'"],
        ),
        f(
            InvalidInput,
            50,
            0,
            NONE,
            &[
                "File path must be absolute: {relpath}",
                "Path is a directory, not a file: {dir}",
            ],
        ),
    ],
    envelopes: &["Error executing tool {tool}: {core}", "{core}"],
    details: &["Workspace: {root}"],
    ok: &[
        "Successfully overwrote file: {path}.",
        "Successfully created and wrote to new file: {path}.",
    ],
};

const GEM_REPLACE: FamDef = FamDef {
    fail_p: 0.1,
    fails: &[
        f(
            StaleState,
            70,
            0,
            NONE,
            &[
                "Failed to edit, 0 occurrences found for old_string in {path}. No edits made. The exact text in old_string was not found. Ensure you're not escaping content incorrectly and check whitespace, indentation, and context. Use read_file tool to verify.",
                "Failed to edit, could not find the string to replace.",
            ],
        ),
        f(
            InvalidInput,
            20,
            0,
            NONE,
            &[
                "Failed to edit, Expected 1 occurrence but found {n} for old_string in file: {path}",
                "No changes to apply. The old_string and new_string are identical.",
            ],
        ),
        f(
            NotFound,
            10,
            0,
            NONE,
            &[
                "File not found. Cannot apply edit. Use an empty old_string to create a new file: {path}",
            ],
        ),
    ],
    envelopes: &["Error executing tool {tool}: {core}", "{core}"],
    details: &["Workspace: {root}"],
    ok: &["Successfully modified file: {path} (1 replacements)."],
};

const GEM_GLOB: FamDef = FamDef {
    fail_p: 0.03,
    fails: &[
        f(
            NotFound,
            70,
            0,
            NONE,
            &[
                "Error: Failed to list directory: ENOENT: no such file or directory, scandir '{dir}'",
                "Search path does not exist {dir}",
            ],
        ),
        f(
            InvalidInput,
            30,
            0,
            NONE,
            &[
                "Path must be absolute: {reldir}",
                "Path must be within one of the workspace directories: {root}",
            ],
        ),
    ],
    envelopes: &["Error executing tool {tool}: {core}", "{core}"],
    details: &["Workspace: {root}"],
    ok: &[
        "Directory listing for {dir}:\n[DIR] {word}\n{file}\n{file2}",
        "Found {n} file(s) matching \"**/*.{ext}\" within {root}, sorted by modification time (newest first):\n{path}\n{path2}",
    ],
};

const GEM_GREP: FamDef = FamDef {
    fail_p: 0.03,
    fails: &[
        f(
            InvalidInput,
            60,
            0,
            NONE,
            &[
                "Invalid regular expression pattern provided: {ident}(. Error: Invalid regular expression: /{ident}(/: Unterminated group",
            ],
        ),
        f(NotFound, 40, 0, NONE, &["Path does not exist: {dir}"]),
    ],
    envelopes: &["Error executing tool {tool}: {core}", "{core}"],
    details: &["Workspace: {root}"],
    ok: &[
        "Found {n} matches for pattern \"{query}\" in path \".\":\n---\nFile: {relpath}\nL{line}: {codeline}\n---",
        "No matches found for pattern \"{query}\" in path \".\".",
    ],
};

const GEM_WEBFETCH: FamDef = FamDef {
    fail_p: 0.1,
    fails: &[
        f(
            NotFound,
            35,
            0,
            NONE,
            &[
                "Error during fallback fetch for {url}: Request failed with status code 404 Not Found",
            ],
        ),
        f(
            PermissionDenied,
            20,
            0,
            NONE,
            &[
                "Error during fallback fetch for {url}: Request failed with status code 403 Forbidden",
            ],
        ),
        f(
            NetworkError,
            20,
            0,
            NONE,
            &["Error during fallback fetch for {url}: fetch failed (getaddrinfo EAI_AGAIN {host})"],
        ),
        f(
            Timeout,
            15,
            0,
            NONE,
            &["Error during fallback fetch for {url}: Request timed out after 10000ms"],
        ),
        f(
            RateLimited,
            10,
            0,
            NONE,
            &[
                "Error during fallback fetch for {url}: Request failed with status code 429 Too Many Requests",
            ],
        ),
    ],
    envelopes: &["Error executing tool {tool}: {core}", "{core}"],
    details: &["Prompt: Summarize {url}"],
    ok: &["{prose}\n\nSources:\n[1] {title} ({url})"],
};

const SWE_EDITOR: FamDef = FamDef {
    fail_p: 0.09,
    fails: &[
        f(
            StaleState,
            55,
            0,
            NONE,
            &[
                "No replacement was performed, old_str `{codeline}` did not appear verbatim in {path}.",
            ],
        ),
        f(
            InvalidInput,
            25,
            0,
            NONE,
            &[
                "No replacement was performed. Multiple occurrences of old_str `{codeline}` in lines [{line}, {n}]. Please ensure it is unique",
                "Invalid `view_range`: [{n}, {n2}]. Its second element `{n2}` should be larger than the first element `{n}`",
            ],
        ),
        f(
            NotFound,
            20,
            0,
            NONE,
            &["The path {path} does not exist. Please provide a valid path."],
        ),
    ],
    envelopes: &["{core}"],
    details: &["Working directory: {root}"],
    ok: &[
        "The file {path} has been edited. Here's the result of running `cat -n` on a snippet of {path}:\n{numbered}\nReview the changes and make sure they are as expected. Edit the file again if necessary.",
        "Here's the result of running `cat -n` on {path}:\n{numbered}",
    ],
};

const MCP_READ: FamDef = FamDef {
    fail_p: 0.05,
    fails: &[
        f(
            NotFound,
            65,
            0,
            NONE,
            &[
                "ENOENT: no such file or directory, open '{path}'",
                "FileNotFoundError: [Errno 2] No such file or directory: '{path}'",
            ],
        ),
        f(
            PermissionDenied,
            25,
            0,
            NONE,
            &[
                "Access denied - path outside allowed directories: {syspath} not in {root}",
                "PermissionError: [Errno 13] Permission denied: '{syspath}'",
            ],
        ),
        f(
            InvalidInput,
            10,
            0,
            NONE,
            &[
                "EISDIR: illegal operation on a directory, read",
                "UnicodeDecodeError: 'utf-8' codec can't decode byte 0x{hex2} in position {n}: invalid start byte",
            ],
        ),
    ],
    envelopes: PY_TRACE,
    details: &["path: {path}"],
    ok: &["{codeblock}"],
};

const MCP_EDIT: FamDef = FamDef {
    fail_p: 0.08,
    fails: &[
        f(
            StaleState,
            60,
            0,
            NONE,
            &[
                "Could not find exact match for edit:\n{codeline}",
                "Edit conflict: file changed on disk since it was read (mtime {date})",
            ],
        ),
        f(
            NotFound,
            25,
            0,
            NONE,
            &["ENOENT: no such file or directory, open '{path}'"],
        ),
        f(
            PermissionDenied,
            15,
            0,
            NONE,
            &["Access denied - path outside allowed directories: {syspath} not in {root}"],
        ),
    ],
    envelopes: MCP_ENV,
    details: &["path: {path}"],
    ok: &[
        "```diff\nIndex: {path}\n===================================================================\n--- {path}\toriginal\n+++ {path}\tmodified\n@@ -{line},{n} +{line},{n} @@\n-{codeline}\n+{codeline}\n```",
    ],
};

const MCP_LIST: FamDef = FamDef {
    fail_p: 0.04,
    fails: &[
        f(
            NotFound,
            60,
            0,
            NONE,
            &[
                "ENOENT: no such file or directory, scandir '{dir}'",
                "FileNotFoundError: [Errno 2] No such file or directory: '{dir}'",
            ],
        ),
        f(
            PermissionDenied,
            25,
            0,
            NONE,
            &[
                "PermissionError: [Errno 13] Permission denied: '{syspath}'",
                "Access denied - path outside allowed directories: {syspath} not in {root}",
            ],
        ),
        f(
            InvalidInput,
            15,
            0,
            NONE,
            &[
                "ENOTDIR: not a directory, scandir '{path}'",
                "NotADirectoryError: [Errno 20] Not a directory: '{path}'",
            ],
        ),
    ],
    envelopes: PY_TRACE,
    details: &["path: {dir}"],
    ok: &[
        "[FILE] {file}\n[FILE] {file2}\n[DIR] {word}\n[DIR] tests",
        "{file}\n{file2}\n__init__.py",
    ],
};

const MCP_SEARCH: FamDef = FamDef {
    fail_p: 0.04,
    fails: &[
        f(
            InvalidInput,
            50,
            0,
            NONE,
            &[
                "re.error: missing ), unterminated subpattern at position {n}",
                "ValueError: query must not be empty",
            ],
        ),
        f(
            Timeout,
            30,
            0,
            NONE,
            &["search exceeded 30s deadline after scanning {n}{n2} files"],
        ),
        f(
            ToolError,
            20,
            0,
            NONE,
            &[
                "search index corrupted: segment {hex7} checksum mismatch (expected {hex7}, found {hex7})",
            ],
        ),
    ],
    envelopes: PY_TRACE,
    details: &["query: {query}"],
    ok: &["{n} matches in {n2} files\n{relpath}:{line}: {codeline}\n{relpath2}:{line}: {codeline}"],
};

const DB: FamDef = FamDef {
    fail_p: 0.07,
    fails: &[
        f(
            ConnectionRefused,
            20,
            0,
            NONE,
            &[
                "psycopg2.OperationalError: connection to server at \"{ip}\", port 5432 failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?",
                "could not connect to server: Connection refused\n\tIs the server running on host \"{db}-db\" ({ip}) and accepting\n\tTCP/IP connections on port 5432?",
            ],
        ),
        f(
            Timeout,
            20,
            0,
            NONE,
            &[
                "psycopg2.errors.QueryCanceled: canceling statement due to statement timeout",
                "sqlalchemy.exc.OperationalError: (psycopg2.errors.QueryCanceled) canceling statement due to statement timeout\n[SQL: SELECT * FROM {table} WHERE {column} > %(param_1)s]",
            ],
        ),
        f(
            InvalidInput,
            20,
            0,
            NONE,
            &[
                "psycopg2.errors.SyntaxError: syntax error at or near \"{sqlword}\"\nLINE 1: SELECT {column} {sqlword} {table} WHERE id = {n}\n                        ^",
                "psycopg2.errors.InvalidTextRepresentation: invalid input syntax for type integer: \"{word}\"\nLINE 1: ...FROM {table} WHERE id = '{word}'",
            ],
        ),
        f(
            NotFound,
            15,
            0,
            NONE,
            &[
                "psycopg2.errors.UndefinedTable: relation \"{table}\" does not exist\nLINE 1: SELECT {column} FROM {table} WHERE id = {n}\n                             ^",
                "psycopg2.errors.UndefinedColumn: column \"{column}\" does not exist\nLINE 1: SELECT {column} FROM {table}\n               ^",
            ],
        ),
        f(
            PermissionDenied,
            10,
            0,
            NONE,
            &["psycopg2.errors.InsufficientPrivilege: permission denied for table {table}"],
        ),
        f(
            StaleState,
            15,
            0,
            NONE,
            &[
                "psycopg2.errors.SerializationFailure: could not serialize access due to concurrent update",
                "psycopg2.errors.DeadlockDetected: deadlock detected\nDETAIL:  Process {pid} waits for ShareLock on transaction {n}{n2}; blocked by process {pid}.\nHINT:  See server log for query details.",
            ],
        ),
    ],
    envelopes: PY_TRACE,
    details: &[
        "query: SELECT {column} FROM {table} WHERE id = {n} LIMIT 100",
        "database: {db}",
    ],
    ok: &[
        "{n} rows returned\n[{{\"id\": {n2}, \"{column}\": \"{word}\"}}, {{\"id\": {n3}, \"{column}\": \"{word}\"}}]",
        "{n} rows affected",
    ],
};

const HTTP: FamDef = FamDef {
    fail_p: 0.07,
    fails: &[
        f(
            RateLimited,
            20,
            0,
            NONE,
            &[
                "HTTP 429 Too Many Requests: {{\"error\":\"rate_limited\",\"message\":\"API rate limit exceeded\",\"retry_after\":{n}}}",
                "429 Client Error: Too Many Requests for url: {url}",
            ],
        ),
        f(
            Timeout,
            18,
            0,
            NONE,
            &[
                "httpx.ReadTimeout: timed out while reading response from {url}",
                "requests.exceptions.ReadTimeout: HTTPSConnectionPool(host='{host}', port=443): Read timed out. (read timeout=30)",
            ],
        ),
        f(
            NetworkError,
            16,
            0,
            NONE,
            &[
                "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='{host}', port=443): Max retries exceeded with url: /{urlpath} (Caused by NameResolutionError(\"<urllib3.connection.HTTPSConnection object at 0x{hex12}>: Failed to resolve '{host}' ([Errno -3] Temporary failure in name resolution)\"))",
                "httpx.RemoteProtocolError: Server disconnected without sending a response.",
                "ssl.SSLError: [SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of protocol (_ssl.c:1000)",
            ],
        ),
        f(
            ConnectionRefused,
            14,
            0,
            NONE,
            &[
                "httpx.ConnectError: [Errno 111] Connection refused",
                "requests.exceptions.ConnectionError: HTTPConnectionPool(host='{host}', port={port}): Max retries exceeded with url: /{urlpath} (Caused by NewConnectionError('<urllib3.connection.HTTPConnection object at 0x{hex12}>: Failed to establish a new connection: [Errno 111] Connection refused'))",
            ],
        ),
        f(
            PermissionDenied,
            12,
            0,
            NONE,
            &[
                "401 Client Error: Unauthorized for url: {url}",
                "HTTP 403 Forbidden: {{\"message\":\"Resource not accessible with the provided token\",\"documentation_url\":\"https://docs.{host}/auth\"}}",
            ],
        ),
        f(
            NotFound,
            12,
            0,
            NONE,
            &[
                "404 Client Error: Not Found for url: {url}",
                "HTTP 404 Not Found: {{\"error\":\"not_found\",\"message\":\"No {word} with id {n}\"}}",
            ],
        ),
        f(
            InvalidInput,
            8,
            0,
            NONE,
            &[
                "HTTP 400 Bad Request: {{\"error\":\"validation_error\",\"details\":[{{\"field\":\"{column}\",\"message\":\"must be a positive integer\"}}]}}",
                "422 Client Error: Unprocessable Entity for url: {url}\n{{\"detail\":[{{\"loc\":[\"body\",\"{column}\"],\"msg\":\"field required\",\"type\":\"value_error.missing\"}}]}}",
            ],
        ),
    ],
    envelopes: PY_TRACE,
    details: &["request: {method} {url}", "request_id={uuid}"],
    ok: &[
        "HTTP 200 OK\n{{\"id\":{n},\"status\":\"ok\",\"items\":[{{\"id\":{n2},\"name\":\"{word}\"}},{{\"id\":{n3},\"name\":\"{word}\"}}],\"next\":null}}",
        "HTTP 201 Created\n{{\"id\":\"{uuid}\",\"created_at\":\"{date}\"}}",
        "200 OK ({bytes} bytes, text/html)\n<!doctype html><html><head><title>{title}</title></head>",
    ],
};

const K8S: FamDef = FamDef {
    fail_p: 0.07,
    fails: &[
        f(
            ConnectionRefused,
            30,
            0,
            NONE,
            &[
                "Get \"https://{ip}:6443/api/v1/namespaces/{ns}/pods\": dial tcp {ip}:6443: connect: connection refused",
            ],
        ),
        f(
            PermissionDenied,
            25,
            0,
            NONE,
            &[
                "pods is forbidden: User \"system:serviceaccount:{ns}:agent\" cannot list resource \"pods\" in API group \"\" in the namespace \"{ns}\"",
            ],
        ),
        f(
            NotFound,
            25,
            0,
            NONE,
            &["namespaces \"{ns}\" not found", "pods \"{pod}\" not found"],
        ),
        f(
            Timeout,
            20,
            0,
            NONE,
            &[
                "Get \"https://{ip}:6443/api/v1/namespaces/{ns}/pods?limit=500\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
            ],
        ),
    ],
    envelopes: MCP_ENV,
    details: &["namespace: {ns}", "context: {ns}-cluster"],
    ok: &[
        "NAME                         READY   STATUS    RESTARTS   AGE\n{pod}   1/1     Running   0          {n}h\n{service}-{hex7}-{hex5}   1/1     Running   {n2}          {n3}d",
    ],
};

const DEPLOY: FamDef = FamDef {
    fail_p: 0.1,
    fails: &[
        f(
            Oom,
            20,
            0,
            NONE,
            &[
                "deployment {service} failed: container {service} in pod {pod} terminated: OOMKilled (exit code 137, memory limit 512Mi)",
                "rollout aborted: {n} of 3 replicas OOMKilled (limit {n}Mi)",
            ],
        ),
        f(
            ServerCrashed,
            25,
            0,
            NONE,
            &[
                "deployment {service} failed: pod {pod} is in CrashLoopBackOff (back-off 5m0s restarting failed container={service})",
                "rollout aborted: container {service} exited with code 1 after {n}s (Error); {n2} restarts",
            ],
        ),
        f(
            Timeout,
            20,
            0,
            NONE,
            &[
                "deployment \"{service}\" exceeded its progress deadline (ProgressDeadlineExceeded)",
                "timed out waiting for rollout of {service} after 600s",
            ],
        ),
        f(
            PermissionDenied,
            15,
            0,
            NONE,
            &[
                "deployments.apps \"{service}\" is forbidden: User \"deploy-bot\" cannot patch resource \"deployments\" in API group \"apps\" in the namespace \"{ns}\"",
            ],
        ),
        f(
            InvalidInput,
            20,
            0,
            NONE,
            &[
                "error validating \"deploy/{service}.yaml\": error validating data: ValidationError(Deployment.spec.template.spec.containers[0].resources): unknown field \"memry\" in io.k8s.api.core.v1.ResourceRequirements",
                "invalid image reference \"{image}:\": tag must not be empty",
            ],
        ),
    ],
    envelopes: MCP_ENV,
    details: &["service: {service}", "namespace: {ns}", "revision: {n}"],
    ok: &[
        "deployment.apps/{service} configured\nWaiting for deployment \"{service}\" rollout to finish: 2 of 3 updated replicas are available...\ndeployment \"{service}\" successfully rolled out",
    ],
};

const S3: FamDef = FamDef {
    fail_p: 0.05,
    fails: &[
        f(
            NotFound,
            35,
            0,
            NONE,
            &[
                "botocore.errorfactory.NoSuchKey: An error occurred (NoSuchKey) when calling the GetObject operation: The specified key does not exist.",
                "botocore.errorfactory.NoSuchBucket: An error occurred (NoSuchBucket) when calling the ListObjectsV2 operation: The specified bucket does not exist",
            ],
        ),
        f(
            PermissionDenied,
            25,
            0,
            NONE,
            &[
                "botocore.exceptions.ClientError: An error occurred (AccessDenied) when calling the PutObject operation: Access Denied",
                "botocore.exceptions.ClientError: An error occurred (AccessDenied) when calling the GetObject operation: User: arn:aws:sts::{n}{n2}:assumed-role/agent/{user} is not authorized to perform: s3:GetObject on resource: \"arn:aws:s3:::{bucket}/{s3key}\"",
            ],
        ),
        f(
            RateLimited,
            15,
            0,
            NONE,
            &[
                "botocore.exceptions.ClientError: An error occurred (SlowDown) when calling the PutObject operation (reached max retries: 4): Please reduce your request rate.",
            ],
        ),
        f(
            NetworkError,
            15,
            0,
            NONE,
            &[
                "botocore.exceptions.EndpointConnectionError: Could not connect to the endpoint URL: \"https://{bucket}.s3.eu-west-1.amazonaws.com/{s3key}\"",
                "urllib3.exceptions.ProtocolError: ('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer'))",
            ],
        ),
        f(
            Timeout,
            10,
            0,
            NONE,
            &[
                "botocore.exceptions.ReadTimeoutError: Read timeout on endpoint URL: \"https://{bucket}.s3.amazonaws.com/{s3key}\"",
            ],
        ),
    ],
    envelopes: PY_TRACE,
    details: &["bucket: {bucket}", "key: {s3key}"],
    ok: &[
        "{{\"ContentLength\": {bytes}, \"ContentType\": \"application/json\", \"ETag\": \"\\\"{hex12}\\\"\", \"LastModified\": \"{date}\"}}",
        "uploaded s3://{bucket}/{s3key} ({bytes} bytes)",
    ],
};

const SLACK: FamDef = FamDef {
    fail_p: 0.04,
    fails: &[
        f(
            RateLimited,
            30,
            0,
            NONE,
            &[
                "slack_sdk.errors.SlackApiError: The request to the Slack API failed. (url: https://slack.com/api/chat.postMessage)\nThe server responded with: {{'ok': False, 'error': 'ratelimited'}}",
            ],
        ),
        f(
            NotFound,
            25,
            0,
            NONE,
            &[
                "slack_sdk.errors.SlackApiError: The request to the Slack API failed. (url: https://slack.com/api/chat.postMessage)\nThe server responded with: {{'ok': False, 'error': 'channel_not_found'}}",
            ],
        ),
        f(
            PermissionDenied,
            25,
            0,
            NONE,
            &[
                "slack_sdk.errors.SlackApiError: The request to the Slack API failed. (url: https://slack.com/api/chat.postMessage)\nThe server responded with: {{'ok': False, 'error': 'not_in_channel'}}",
                "slack_sdk.errors.SlackApiError: The request to the Slack API failed. (url: https://slack.com/api/chat.postMessage)\nThe server responded with: {{'ok': False, 'error': 'missing_scope', 'needed': 'chat:write', 'provided': 'channels:read'}}",
            ],
        ),
        f(
            InvalidInput,
            20,
            0,
            NONE,
            &[
                "slack_sdk.errors.SlackApiError: The request to the Slack API failed. (url: https://slack.com/api/chat.postMessage)\nThe server responded with: {{'ok': False, 'error': 'msg_too_long'}}",
                "slack_sdk.errors.SlackApiError: The request to the Slack API failed. (url: https://slack.com/api/chat.postMessage)\nThe server responded with: {{'ok': False, 'error': 'invalid_blocks', 'errors': ['must provide a text field [json-pointer:/blocks/{n}/text]']}}",
            ],
        ),
    ],
    envelopes: PY_TRACE,
    details: &["channel: #{channel}"],
    ok: &["{{\"ok\": true, \"channel\": \"C0{HEX8}\", \"ts\": \"17{n}{n2}{n3}.{d}{n2}\"}}"],
};

const EMAIL: FamDef = FamDef {
    fail_p: 0.05,
    fails: &[
        f(
            ConnectionRefused,
            30,
            0,
            NONE,
            &["ConnectionRefusedError: [Errno 111] Connection refused (smtp.{host}:587)"],
        ),
        f(
            PermissionDenied,
            25,
            0,
            NONE,
            &[
                "smtplib.SMTPAuthenticationError: (535, b'5.7.8 Username and Password not accepted. For more information, go to\\n5.7.8  https://support.{host}/mail/?p=BadCredentials {hex12} - gsmtp')",
            ],
        ),
        f(
            InvalidInput,
            25,
            0,
            NONE,
            &[
                "smtplib.SMTPRecipientsRefused: {{'{user}@{word}': (553, b'5.1.3 The recipient address <{user}@{word}> is not a valid RFC-5321 address.')}}",
            ],
        ),
        f(
            RateLimited,
            20,
            0,
            NONE,
            &[
                "smtplib.SMTPDataError: (421, b'4.7.28 Our system has detected an unusual rate of unsolicited mail originating from your IP address. To protect our users from spam, mail sent from your IP address has been temporarily rate limited.')",
            ],
        ),
    ],
    envelopes: PY_TRACE,
    details: &["to: {user}@example.com", "subject: {title}"],
    ok: &["sent message <{uuid}@mail.example.com> to {n} recipients"],
};

const PYEXEC: FamDef = FamDef {
    fail_p: 0.13,
    fails: &[
        f(
            CommandFailed,
            50,
            0,
            NONE,
            &[
                "---------------------------------------------------------------------------\nKeyError                                  Traceback (most recent call last)\nCell In[{n}], line {line}\n      {line} df = load_frame(\"{table}\")\n----> {line} df[\"{column}\"] = df[\"{column2}\"] * 100\nKeyError: '{column2}'",
                "---------------------------------------------------------------------------\nValueError                                Traceback (most recent call last)\nCell In[{n}], line {line}\n----> {line} pd.to_datetime(df[\"{column}\"], format=\"%Y-%m-%d\")\nValueError: time data \"{word}\" doesn't match format \"%Y-%m-%d\", at position {n2}",
                "---------------------------------------------------------------------------\nZeroDivisionError                         Traceback (most recent call last)\nCell In[{n}], line {line}\n----> {line} ratio = total / count\nZeroDivisionError: division by zero",
            ],
        ),
        f(
            DependencyFailure,
            20,
            0,
            NONE,
            &[
                "---------------------------------------------------------------------------\nModuleNotFoundError                       Traceback (most recent call last)\nCell In[{n}], line 1\n----> 1 import {pymod}\nModuleNotFoundError: No module named '{pymod}'",
            ],
        ),
        f(
            Oom,
            15,
            0,
            NONE,
            &[
                "---------------------------------------------------------------------------\nMemoryError                               Traceback (most recent call last)\nCell In[{n}], line {line}\n----> {line} matrix = np.zeros(({bytes}, {bytes}))\nMemoryError: Unable to allocate {n}.{d} TiB for an array with shape ({bytes}, {bytes}) and data type float64",
                "The kernel for {word}.ipynb appears to have died. It will restart automatically. (exit code 137, OOM)",
            ],
        ),
        f(
            Timeout,
            15,
            0,
            NONE,
            &["Execution timed out after 120 seconds; the kernel was interrupted."],
        ),
    ],
    envelopes: &["{core}", "Error executing tool {tool}: {core}"],
    details: &["kernel: python3 ({uuid})"],
    ok: &[
        "   {column}  {column2}\n0  {n}  {n2}\n1  {n3}  {n}\n2  {n2}  {n3}\n\n[{bytes} rows x 2 columns]",
        "Out[{n}]: {n2}.{d}",
    ],
};

const GIT_COMMIT: FamDef = FamDef {
    fail_p: 0.06,
    fails: &[
        f(
            PermissionDenied,
            35,
            0,
            NONE,
            &[
                "fatal: Unable to create '{root}/.git/index.lock': Permission denied",
                "error: insufficient permission for adding an object to repository database .git/objects",
            ],
        ),
        f(
            CommandFailed,
            40,
            0,
            NONE,
            &[
                "pre-commit hook failed (exit 1):\nruff.....................................................................Failed\n- hook id: ruff\n- exit code: 1\n\n{relpath}:{line}:{col}: E501 Line too long ({n} > 100)\nFound 1 error.",
                "On branch {branch}\nnothing to commit, working tree clean",
            ],
        ),
        f(
            InvalidInput,
            25,
            0,
            NONE,
            &[
                "Aborting commit due to empty commit message.",
                "fatal: pathspec '{relpath}' did not match any files",
            ],
        ),
    ],
    envelopes: PY_TRACE,
    details: &["repository: {root}"],
    ok: &[
        "[{branch} {hex7}] {commitmsg}\n {n} files changed, {n2} insertions(+), {n3} deletions(-)",
    ],
};

const GITHUB: FamDef = FamDef {
    fail_p: 0.06,
    fails: &[
        f(
            PermissionDenied,
            30,
            0,
            NONE,
            &[
                "github.GithubException.GithubException: 403 {{\"message\": \"Resource not accessible by integration\", \"documentation_url\": \"https://docs.github.com/rest/pulls/pulls#create-a-pull-request\", \"status\": \"403\"}}",
            ],
        ),
        f(
            RateLimited,
            25,
            0,
            NONE,
            &[
                "github.GithubException.RateLimitExceededException: 403 {{\"message\": \"API rate limit exceeded for installation ID {n}{n2}.\", \"documentation_url\": \"https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting\"}}",
                "github.GithubException.GithubException: 403 {{\"message\": \"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.\"}}",
            ],
        ),
        f(
            NotFound,
            25,
            0,
            NONE,
            &[
                "github.GithubException.UnknownObjectException: 404 {{\"message\": \"Not Found\", \"documentation_url\": \"https://docs.github.com/rest/issues/issues#get-an-issue\", \"status\": \"404\"}}",
            ],
        ),
        f(
            InvalidInput,
            20,
            0,
            NONE,
            &[
                "github.GithubException.GithubException: 422 {{\"message\": \"Validation Failed\", \"errors\": [{{\"resource\": \"PullRequest\", \"field\": \"base\", \"code\": \"invalid\"}}], \"status\": \"422\"}}",
            ],
        ),
    ],
    envelopes: PY_TRACE,
    details: &["repository: {repo}"],
    ok: &[
        "{{\"number\": {issue}, \"title\": \"{commitmsg}\", \"state\": \"open\", \"html_url\": \"https://github.com/{repo}/pull/{issue}\"}}",
        "#{issue} {commitmsg}\nstate: open, labels: [bug, {word}], comments: {n}\n\n{prose}",
    ],
};

const TESTS: FamDef = FamDef {
    fail_p: 0.2,
    fails: &[
        f(
            CommandFailed,
            65,
            0,
            NONE,
            &[
                "test result: FAILED. {n} passed; {n2} failed; 0 ignored; finished in {secs}s\n\nfailures:\n    {rsmod}::tests::{test}\n\n---- {rsmod}::tests::{test} stdout ----\nthread '{rsmod}::tests::{test}' panicked at src/{rsfile}:{line}:{col}:\nassertion failed: {ident}.is_empty()",
                "FAILED tests/{testfile}::test_{test} - AssertionError: assert {n} == {n2}\n{n3} failed, {n} passed in {secs}s",
                " FAIL  src/{tsfile}\n  ● {cls} › {word} {ident}\n\n    expect(received).toEqual(expected) // deep equality\n\n    Expected: {n}\n    Received: {n2}\n\nTests:       1 failed, {n3} passed, {n} total",
            ],
        ),
        f(
            Timeout,
            15,
            0,
            NONE,
            &["test run exceeded the 600s limit and was killed ({n} of {n2} tests finished)"],
        ),
        f(
            Oom,
            8,
            0,
            NONE,
            &["test runner killed by signal 9 (SIGKILL): out of memory after {n}/{n2} tests"],
        ),
        f(
            DependencyFailure,
            12,
            0,
            NONE,
            &[
                "ModuleNotFoundError: No module named '{pymod}' (while collecting tests/{testfile})",
                "error: linker `cc` not found: install a C toolchain to build the tests",
            ],
        ),
    ],
    envelopes: &["{core}", "Error: {core}"],
    details: &["suite: {proj}", "runner: {word}"],
    ok: &[
        "test result: ok. {n} passed; 0 failed; {n2} ignored; finished in {secs}s",
        "{n} passed, {n2} skipped in {secs}s",
    ],
};

const BROWSER: FamDef = FamDef {
    fail_p: 0.07,
    fails: &[
        f(
            ServerCrashed,
            25,
            0,
            NONE,
            &[
                "Target page, context or browser has been closed\nBrowser logs:\n<launching> /ms-playwright/chromium-{n}/chrome-linux/chrome --headless\n<launched> pid={pid}\n[pid={pid}][err] Received signal 11 SEGV_MAPERR 000000000000\n[pid={pid}] <gracefully close start>",
                "MCP server 'playwright' exited unexpectedly (code {crashcode})",
                "Connection closed: the browser server process (pid {pid}) crashed",
            ],
        ),
        f(
            Timeout,
            25,
            0,
            NONE,
            &[
                "TimeoutError: page.goto: Timeout 30000ms exceeded.\nCall log:\n  - navigating to \"{url}\", waiting until \"load\"",
                "TimeoutError: locator.click: Timeout 30000ms exceeded.\nCall log:\n  - waiting for locator('{sel}')",
            ],
        ),
        f(
            StaleState,
            20,
            0,
            NONE,
            &[
                "Ref e{n} not found in the current page snapshot. Try capturing new snapshot.",
                "Error: locator.click: Element is not attached to the DOM\nCall log:\n  - waiting for locator('{sel}')\n  - locator resolved to <button class=\"{word}\">…</button>",
            ],
        ),
        f(
            NetworkError,
            15,
            0,
            NONE,
            &[
                "Error: page.goto: net::ERR_NAME_NOT_RESOLVED at {url}",
                "Error: page.goto: net::ERR_CERT_AUTHORITY_INVALID at {url}",
            ],
        ),
        f(
            ConnectionRefused,
            15,
            0,
            NONE,
            &["Error: page.goto: net::ERR_CONNECTION_REFUSED at http://localhost:{port}/{word}"],
        ),
    ],
    envelopes: MCP_ENV,
    details: &["Page URL: {url}", "Page Title: {title}"],
    ok: &[
        "### Ran Playwright code\n```js\nawait page.goto('{url}');\n```\n### Page state\n- Page URL: {url}\n- Page Title: {title}\n- Page Snapshot:\n```yaml\n- heading \"{title}\" [level=1] [ref=e{n}]\n- button \"{word}\" [ref=e{n2}]\n```",
    ],
};

const MCP: FamDef = FamDef {
    fail_p: 0.05,
    fails: &[
        f(
            ServerCrashed,
            25,
            0,
            NONE,
            &[
                "MCP error -32000: Connection closed",
                "MCP server '{word}' disconnected: process exited with code {crashcode}",
            ],
        ),
        f(
            Timeout,
            20,
            0,
            NONE,
            &["MCP error -32001: Request timed out"],
        ),
        f(
            ToolError,
            25,
            0,
            NONE,
            &[
                "MCP error -32603: Internal error: unexpected end of stream while decoding response",
                "MCP error -32603: Internal error (ref {HEX8})",
            ],
        ),
        f(
            ConnectionRefused,
            15,
            0,
            NONE,
            &[
                "qdrant_client.http.exceptions.ResponseHandlingException: [Errno 111] Connection refused",
                "Error: connect ECONNREFUSED 127.0.0.1:{port}",
            ],
        ),
        f(
            Unknown,
            15,
            0,
            NONE,
            &[
                "{{\"ok\": false, \"result\": null, \"id\": \"{uuid}\", \"took_ms\": {n}}}",
                "failed\n{{\"request\": \"{uuid}\", \"items\": [], \"status\": \"incomplete\", \"took_ms\": {n}}}",
            ],
        ),
    ],
    envelopes: &["{core}", "Error executing tool {tool}: {core}"],
    details: &["collection: {word}", "request id: {uuid}"],
    ok: &[
        "{{\"results\": [{{\"id\": \"{uuid}\", \"score\": 0.{d}{n2}, \"text\": \"{prose}\"}}], \"took_ms\": {n3}}}",
        "stored memory {uuid} ({n} tokens)",
    ],
};

const JIRA: FamDef = FamDef {
    fail_p: 0.05,
    fails: &[
        f(
            PermissionDenied,
            30,
            0,
            NONE,
            &[
                "jira.exceptions.JIRAError: JiraError HTTP 403 url: https://acme.atlassian.net/rest/api/2/issue\n\ttext: You do not have permission to create issues in this project.",
            ],
        ),
        f(
            InvalidInput,
            35,
            0,
            NONE,
            &[
                "jira.exceptions.JIRAError: JiraError HTTP 400 url: https://acme.atlassian.net/rest/api/2/issue\n\ttext: Field 'priority' cannot be set. It is not on the appropriate screen, or unknown.",
                "jira.exceptions.JIRAError: JiraError HTTP 400 url: https://acme.atlassian.net/rest/api/2/issue\n\ttext: issuetype: The issue type selected is invalid.",
            ],
        ),
        f(
            NotFound,
            15,
            0,
            NONE,
            &[
                "jira.exceptions.JIRAError: JiraError HTTP 404 url: https://acme.atlassian.net/rest/api/2/project/{jproj}\n\ttext: No project could be found with key '{jproj}'.",
            ],
        ),
        f(
            RateLimited,
            20,
            0,
            NONE,
            &[
                "jira.exceptions.JIRAError: JiraError HTTP 429 url: https://acme.atlassian.net/rest/api/2/issue\n\ttext: Rate limit exceeded. Retry after {n} seconds.",
            ],
        ),
    ],
    envelopes: PY_TRACE,
    details: &["project: {jproj}"],
    ok: &[
        "{{\"id\": \"{n}{n2}\", \"key\": \"{jproj}-{issue}\", \"self\": \"https://acme.atlassian.net/rest/api/2/issue/{n}{n2}\"}}",
    ],
};

/// The texts of family `f`.
pub(crate) fn fam(f: Fam) -> &'static FamDef {
    match f {
        Fam::CcRead => &CC_READ,
        Fam::CcEdit => &CC_EDIT,
        Fam::CcWrite => &CC_WRITE,
        Fam::CcGrep => &CC_GREP,
        Fam::CcGlob => &CC_GLOB,
        Fam::CcWebFetch => &CC_WEBFETCH,
        Fam::WebSearch => &WEB_SEARCH,
        Fam::Todo => &TODO,
        Fam::Subagent => &SUBAGENT,
        Fam::Patch => &PATCH,
        Fam::GemRead => &GEM_READ,
        Fam::GemWrite => &GEM_WRITE,
        Fam::GemReplace => &GEM_REPLACE,
        Fam::GemGlob => &GEM_GLOB,
        Fam::GemGrep => &GEM_GREP,
        Fam::GemWebFetch => &GEM_WEBFETCH,
        Fam::SweEditor => &SWE_EDITOR,
        Fam::McpRead => &MCP_READ,
        Fam::McpEdit => &MCP_EDIT,
        Fam::McpList => &MCP_LIST,
        Fam::McpSearch => &MCP_SEARCH,
        Fam::Db => &DB,
        Fam::Http => &HTTP,
        Fam::K8s => &K8S,
        Fam::Deploy => &DEPLOY,
        Fam::S3 => &S3,
        Fam::Slack => &SLACK,
        Fam::Email => &EMAIL,
        Fam::PyExec => &PYEXEC,
        Fam::GitCommit => &GIT_COMMIT,
        Fam::GitHub => &GITHUB,
        Fam::Tests => &TESTS,
        Fam::Browser => &BROWSER,
        Fam::Mcp => &MCP,
        Fam::Jira => &JIRA,
    }
}
