"""What the harness modules share: the common scenario, npm installs under ``target/``, the
throw-away HOME's environment, and path normalisation for committed fixtures.

Every harness module (``codex.py``, ``gemini.py``, ``opencode.py``, ``copilot.py``,
``claude.py``) has::

    NAME       # as `self-heal install <NAME>` spells it
    PACKAGE, VERSION, BIN   # the npm package, its pinned version, the executable's name
    PROTOCOL   # a stand-in protocol class (standin_anthropic.Anthropic, standin_openai.*, ...)
    install(prefix, version=VERSION) -> Path          # the executable (npm, cached)
    setup(home, project, base_url) -> dict            # writes the HOME's config; the env to run with
    steps(project) -> list                            # the common scenario in this harness's tools
    run(exe, env, project, prompt, timeout) -> subprocess.CompletedProcess
    records(home, project) -> list[Path]              # what the harness wrote (for `self-heal import`)
    save_fixture(home, project, dest)                 # the records, paths normalised, into dest

The common scenario (one session, prompt ``PROMPT``) in a project made by ``make_project``:

1. shell ``FAILING`` (``pytest -q``): pytest is not on PATH, exit 127;
2. shell ``PASSING`` (``python3 -m unittest -q``): exit 0, it recovers;
3. the harness's read tool on ``MISSING`` (absent): the tool fails;
4. the read tool on ``NOTES``; 5. the edit tool replaces ``OLD`` by ``NEW`` in it: succeeds.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

PROMPT = "run the tests"
FAILING = "pytest -q"
PASSING = "python3 -m unittest -q"
MISSING = "missing.txt"
NOTES = "notes.txt"
OLD = "colour = red"
NEW = "colour = blue"

# Fixed paths the committed fixtures use instead of the throw-away ones.
FIXTURE_HOME = "/home/user"
FIXTURE_PROJECT = "/home/user/project"

TEST_OK = '''import unittest


class OkTest(unittest.TestCase):
    def test_ok(self):
        self.assertEqual(1 + 1, 2)


if __name__ == "__main__":
    unittest.main()
'''


def repo_root():
    return Path(__file__).resolve().parents[3]


def default_prefix(name, version):
    """Where a pinned harness is installed: ``target/harness/<name>-<version>``."""
    return repo_root() / "target" / "harness" / f"{name}-{version}"


def make_project(project):
    """A git project with a passing unittest, ``notes.txt``, and no ``missing.txt``."""
    project.mkdir(parents=True, exist_ok=True)
    (project / "test_ok.py").write_text(TEST_OK, encoding="utf-8")
    (project / NOTES).write_text(OLD + "\n", encoding="utf-8")
    if not (project / ".git").exists():
        subprocess.run(["git", "init", "-q", str(project)], check=True)
    return project.resolve()


def npm_install(prefix, package, version, bin_name):
    """``npm install package@version`` into ``prefix`` unless that version is there; the
    executable's path. Uses npm's cache first (``--prefer-offline``)."""
    prefix = Path(prefix)
    manifest = prefix / "node_modules" / package / "package.json"
    exe = prefix / "node_modules" / ".bin" / bin_name
    have = None
    if manifest.exists():
        have = json.loads(manifest.read_text(encoding="utf-8")).get("version")
    if have != version or not exe.exists():
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefer-offline",
             "--prefix", str(prefix), f"{package}@{version}"],
            check=True, stdout=subprocess.DEVNULL,
        )
    return exe


def path_without_pytest():
    """PATH without the folders that hold ``pytest`` (the scenario needs exit 127), as long as
    ``python3`` stays reachable."""
    path = os.environ.get("PATH", os.defpath)
    if not shutil.which("pytest", path=path):
        return path
    kept = [d for d in path.split(os.pathsep) if not (Path(d) / "pytest").exists()]
    path = os.pathsep.join(kept)
    if shutil.which("pytest", path=path) or not shutil.which("python3", path=path):
        raise SystemExit("pytest is installed next to python3 on PATH; the scenario needs it missing")
    return path


def base_env(home):
    """The environment a harness runs in: this one without anything that could reach a real
    service or another configuration, with HOME (and XDG folders) in ``home``."""
    drop = ("ANTHROPIC_", "CLAUDE", "OPENAI_", "CODEX_", "GEMINI_", "GOOGLE_", "OPENCODE",
            "COPILOT_", "GITHUB_", "OTEL_", "XDG_", "SELFHEAL_", "NODE_OPTIONS")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)
           and k not in ("DATABASE_PATH", "INBOX_PATH", "PYTHONPATH")}
    env.update(PATH=path_without_pytest(), HOME=str(home), PYTHONDONTWRITEBYTECODE="1",
               NO_UPDATE_NOTIFIER="1", CI="1")
    return env


def normalise(text, home, project):
    """``text`` with the throw-away project and HOME paths replaced by the fixed ones (JSON
    escapes included), so committed fixtures do not name this machine."""
    pairs = [(str(project), FIXTURE_PROJECT), (str(home), FIXTURE_HOME)]
    for real, fixed in pairs:
        text = text.replace(real, fixed)
        text = text.replace(json.dumps(real)[1:-1], json.dumps(fixed)[1:-1])
    return text
