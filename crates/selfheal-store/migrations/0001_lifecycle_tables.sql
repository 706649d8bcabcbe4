-- Tables owned by self-healing-mcp for the improvement lifecycle. Append-only: never edit a
-- migration that has shipped; add a new numbered file instead.

-- The improvements table of the run-history layout, for histories that lack it. Existing
-- tables are extended by migration 2, never recreated.
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

-- Audit log: one row per transition, written in the transition's transaction.
CREATE TABLE selfheal_improvement_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    improvement_id TEXT NOT NULL,
    at TEXT NOT NULL,
    action TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX selfheal_improvement_events_by_improvement
    ON selfheal_improvement_events(improvement_id, id);

-- Escalations: WARN (log), ALERT (inbox), BLOCK (apply refused without override).
CREATE TABLE selfheal_escalations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pattern_id TEXT NOT NULL,
    level TEXT NOT NULL,
    rule TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at TEXT NOT NULL,
    resolved_at TEXT
);
CREATE INDEX selfheal_escalations_open ON selfheal_escalations(pattern_id) WHERE resolved_at IS NULL;

-- Notification state: when a key (e.g. a pattern) was last announced, for the cooldown.
CREATE TABLE selfheal_notifications (
    key TEXT PRIMARY KEY,
    last_sent_at TEXT NOT NULL,
    path TEXT
);

-- Verified outcomes of strategies: the evidence behind their learned success rates.
CREATE TABLE selfheal_strategy_outcomes (
    improvement_id TEXT PRIMARY KEY,
    strategy_id TEXT NOT NULL,
    success INTEGER NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX selfheal_strategy_outcomes_by_strategy ON selfheal_strategy_outcomes(strategy_id);
