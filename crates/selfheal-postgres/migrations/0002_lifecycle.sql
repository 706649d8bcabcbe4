-- The improvement lifecycle in PostgreSQL: the tables of the SQLite lifecycle migrations
-- (crates/selfheal-store/migrations/), with every column they end up with. Instants and JSON
-- documents stay text, as the lifecycle writes them (RFC 3339 UTC, sortable).

CREATE TABLE improvements (
    id TEXT PRIMARY KEY,
    category TEXT NOT NULL,
    description TEXT NOT NULL,
    related_runs TEXT,
    changes_made TEXT,
    impact TEXT,
    created_at TEXT NOT NULL,
    applied_at TEXT,
    verified_at TEXT,
    status TEXT NOT NULL DEFAULT 'proposed',
    pattern_id TEXT,
    strategy_id TEXT,
    priority BIGINT,
    risk_level TEXT,
    expected_impact TEXT,
    actions TEXT,
    evidence TEXT,
    test_result TEXT,
    verification TEXT,
    commit_hash TEXT,
    config_edit TEXT,
    verification_due_at TEXT,
    updated_at TEXT,
    reason TEXT,
    legacy_pattern_id TEXT
);
CREATE INDEX improvements_by_pattern ON improvements(pattern_id);
CREATE INDEX improvements_by_created ON improvements(created_at, id);

CREATE TABLE selfheal_improvement_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    improvement_id TEXT NOT NULL,
    at TEXT NOT NULL,
    action TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    detail TEXT,
    actor TEXT,
    rule TEXT
);
CREATE INDEX selfheal_improvement_events_by_improvement
    ON selfheal_improvement_events(improvement_id, id);
CREATE INDEX selfheal_improvement_events_by_at ON selfheal_improvement_events(at);

CREATE TABLE selfheal_escalations (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pattern_id TEXT NOT NULL,
    level TEXT NOT NULL,
    rule TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at TEXT NOT NULL,
    resolved_at TEXT
);
CREATE INDEX selfheal_escalations_open ON selfheal_escalations(pattern_id) WHERE resolved_at IS NULL;

CREATE TABLE selfheal_notifications (
    key TEXT PRIMARY KEY,
    last_sent_at TEXT NOT NULL,
    path TEXT
);

CREATE TABLE selfheal_strategy_outcomes (
    improvement_id TEXT PRIMARY KEY,
    strategy_id TEXT NOT NULL,
    success BOOLEAN NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX selfheal_strategy_outcomes_by_strategy ON selfheal_strategy_outcomes(strategy_id);

CREATE TABLE selfheal_lessons (
    improvement_id TEXT PRIMARY KEY,
    pattern_id TEXT NOT NULL,
    harness TEXT NOT NULL,
    scope TEXT NOT NULL,
    root TEXT NOT NULL,
    project TEXT,
    tool TEXT NOT NULL,
    program TEXT,
    lesson TEXT NOT NULL,
    changes TEXT,
    active BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX selfheal_lessons_active ON selfheal_lessons(active) WHERE active;
