"""What the end-to-end drivers share (``claude_e2e.py``, ``heal_e2e.py``, ``collect_e2e.py``):
the check tally that remembers failures and can stop a scenario, how a lesson is found again in
the requests a model receives, and what becomes of the work directory at the end. Python 3
standard library only."""

import re
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "clients"))
import checks  # noqa: E402  (the outside-client checks' tally)


class Abort(Exception):
    """A check failed that later steps depend on."""


class Checks(checks.Checks):
    """The shared tally, remembering the names of failed checks (each name prefixed with
    ``prefix``) and able to stop the scenario where later steps depend on a check."""

    def __init__(self, prefix=""):
        super().__init__()
        self.prefix = prefix
        self.failures = []

    def ok(self, name, cond, detail=""):
        if not cond:
            self.failures.append(name)
        return super().ok(f"{self.prefix}{name}", cond, detail)

    def require(self, name, cond, detail=""):
        if not self.ok(name, cond, detail):
            raise Abort(name)


def work_directory(given, prefix):
    """``(work, temporary)``: ``given`` (created; it must be empty) or a new temporary directory;
    ``(None, False)`` after saying why ``given`` cannot be used."""
    if given is None:
        return Path(tempfile.mkdtemp(prefix=prefix)).resolve(), True
    work = Path(given).resolve()
    if work.exists() and any(work.iterdir()):
        print(f"error: the work directory {work} is not empty", file=sys.stderr)
        return None, False
    work.mkdir(parents=True, exist_ok=True)
    return work, False


def finish(failures, work, temporary, keep):
    """The exit status of a driver: 1 after any failed check (named on stderr, the work
    directory kept for diagnosis), else 0 with a temporary work directory removed unless
    ``keep``."""
    if failures:
        print(f"FAILED: {'; '.join(failures)}", file=sys.stderr)
        print(f"work directory kept for diagnosis: {work}", file=sys.stderr)
        return 1
    if temporary and not keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"work directory: {work}")
    return 0


def note(text):
    print(f"  .. {text}", flush=True)


def short(value, n=600):
    return checks.short(value, n)


def distinctive_phrase(text):
    """The longest line of a lesson that mentions pytest (YAML front matter, markdown list and
    heading markers, HTML comments and surrounding spaces removed): text that only the lesson
    puts in a request."""
    body = text
    if body.startswith("---"):  # YAML front matter is not sent to the model
        end = body.find("\n---", 3)
        if end != -1:
            body = body[end + 4:]
    lines = [re.sub(r"^\s*(?:[-*+]|\d+[.)]|#+)\s+", "", ln).strip() for ln in body.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("<!--")]
    pool = [ln for ln in lines if "pytest" in ln] or lines
    return max(pool, key=len) if pool else ""
