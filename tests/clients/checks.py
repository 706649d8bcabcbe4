"""What the outside-client checks share: a pass/fail tally that prints each check, and small
helpers for reading answers (`short` for messages, `instant` for RFC 3339 times)."""

import json
from datetime import datetime, timezone


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def ok(self, name, cond, detail=""):
        if cond:
            self.passed += 1
            print(f"PASS {name}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL {name}" + (f": {detail}" if detail else ""), flush=True)
        return bool(cond)


def short(value, n=300):
    s = value if isinstance(value, str) else json.dumps(value, default=str)
    return s if len(s) <= n else s[:n] + "..."


def instant(text):
    """Parse an RFC 3339 / ISO instant into an aware UTC datetime (None if unparsable)."""
    if not isinstance(text, str):
        return None
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)
