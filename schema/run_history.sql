-- The run-history tables self-healing-mcp reads, as agents write them (reference layout:
-- Binks agent, schema v2). `self-heal init --db PATH` creates exactly these in a new file.
-- Nothing here is owned by self-healing-mcp; our own tables are created by migrations.

CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    workflow_name TEXT NOT NULL,
    task TEXT NOT NULL,
    status TEXT NOT NULL,            -- running | completed | failed | cancelled
    model TEXT NOT NULL,
    started_at TEXT NOT NULL,
    completed_at TEXT,
    duration_ms INTEGER,
    context TEXT,
    error TEXT,
    metadata TEXT                    -- JSON; `agent` names the agent when present
);

CREATE TABLE IF NOT EXISTS run_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    step_index INTEGER NOT NULL,
    event_type TEXT NOT NULL,        -- tool_start | tool_complete | iteration | ...
    event_data TEXT NOT NULL,        -- JSON
    timestamp TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS idx_run_events_run_id ON run_events(run_id);

CREATE TABLE IF NOT EXISTS run_metrics (
    run_id TEXT PRIMARY KEY,
    total_tool_calls INTEGER,
    successful_tool_calls INTEGER,
    failed_tool_calls INTEGER,
    total_iterations INTEGER,
    total_tokens_in INTEGER,
    total_tokens_out INTEGER,
    files_read INTEGER,
    files_modified INTEGER,
    tools_used TEXT,                 -- JSON
    step_durations TEXT              -- JSON
);

CREATE TABLE IF NOT EXISTS improvements (
    id TEXT PRIMARY KEY,
    category TEXT NOT NULL,
    description TEXT NOT NULL,
    related_runs TEXT,
    changes_made TEXT,
    impact TEXT,
    created_at TEXT NOT NULL,
    applied_at TEXT,
    verified_at TEXT,
    status TEXT NOT NULL DEFAULT 'proposed'
);
