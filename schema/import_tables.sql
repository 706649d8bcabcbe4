-- Tables owned by the importer (`self-heal import`, `self-heal hook`, SELFHEAL_IMPORT), created
-- in the run-history database beside the tables it writes. Versioned by
-- selfheal_import_meta.schema_version; a database written by a newer importer is refused.

-- Schema version and other facts about the importer's state.
CREATE TABLE IF NOT EXISTS selfheal_import_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- One row per file seen: how far it was read (byte offset, lines) and fingerprints of what
-- was read (SHA-256 of the first and of the last 64 KiB before the offset), so that a file
-- that grew is read from the offset and a rewritten one from the start.
CREATE TABLE IF NOT EXISTS selfheal_import_files (
    path TEXT PRIMARY KEY,
    format TEXT NOT NULL,            -- claude-code | codex | gemini-cli | swe-agent | otel | jsonl | unknown
    size INTEGER NOT NULL,           -- at the last read
    mtime_ns INTEGER NOT NULL,       -- at the last read
    offset INTEGER NOT NULL,         -- bytes consumed
    lines INTEGER NOT NULL,          -- lines consumed
    head_hash TEXT NOT NULL,
    head_len INTEGER NOT NULL,
    tail_hash TEXT NOT NULL,
    tail_len INTEGER NOT NULL,
    state TEXT,                      -- the reader's state between increments (JSON)
    copy_of TEXT,                    -- a byte-identical copy of this path, not read again
    note TEXT,                       -- why the file is not imported (unknown format, invalid)
    imported_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS selfheal_import_files_by_size ON selfheal_import_files(size, head_hash);

-- One row per imported run: what the runs and run_metrics rows are derived from.
CREATE TABLE IF NOT EXISTS selfheal_import_runs (
    run_id TEXT PRIMARY KEY,
    format TEXT NOT NULL,
    agent TEXT,
    cwd TEXT,
    workflow TEXT,
    source_file TEXT,
    parent_run_id TEXT,
    subagent INTEGER NOT NULL DEFAULT 0,
    task TEXT,
    model TEXT,
    status TEXT,
    error TEXT,
    first_ms INTEGER,
    last_ms INTEGER,
    next_step INTEGER NOT NULL DEFAULT 0,
    calls INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    iterations INTEGER NOT NULL DEFAULT 0,
    iter_tokens_in INTEGER,
    iter_tokens_out INTEGER,
    total_tokens_in INTEGER,
    total_tokens_out INTEGER,
    synthetic INTEGER NOT NULL DEFAULT 0,
    foreign_run INTEGER NOT NULL DEFAULT 0, -- the run row was not written by the importer
    attribution TEXT                         -- JSON {team, user, organization} when known
);

-- One row per call (and per iteration) written: a call seen again (a hook and the
-- transcript, a re-read file, a copy) is recognised by (run, call id). A result read before
-- its call (transcripts are not always in order) waits here for the call's start.
CREATE TABLE IF NOT EXISTS selfheal_import_calls (
    run_id TEXT NOT NULL,
    call_id TEXT NOT NULL,
    tool TEXT,
    started_ms INTEGER,
    state INTEGER NOT NULL,          -- 0 started, 1 completed, 2 iteration, 3 ended before its start was read
    pending_end TEXT,                -- state 3: the end (JSON), written when the start arrives
    PRIMARY KEY (run_id, call_id)
) WITHOUT ROWID;
-- Claude Code's call ids are unique across a session: a forked subagent's transcript that
-- replays its parent's calls is recognised by them.
CREATE INDEX IF NOT EXISTS selfheal_import_calls_by_call ON selfheal_import_calls(call_id);
