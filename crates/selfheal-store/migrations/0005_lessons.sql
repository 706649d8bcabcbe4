-- Lessons: what an improvement tells the agent where its harness reads it (instruction
-- files at session start, the hook's guidance at call time). Written at propose; `active`
-- follows the improvement's state (applied or verified) inside each transition, so the hook
-- answers only lessons in force. `changes` holds the files written at apply, for rollback.
CREATE TABLE selfheal_lessons (
    improvement_id TEXT PRIMARY KEY,
    pattern_id TEXT NOT NULL,
    harness TEXT NOT NULL,
    scope TEXT NOT NULL,
    -- The folder targets are written under: the project, or the home for user scope.
    root TEXT NOT NULL,
    -- The project the lesson is about (the runs' working directory); the hook answers calls
    -- made in it or below it.
    project TEXT,
    tool TEXT NOT NULL,
    program TEXT,
    lesson TEXT NOT NULL,
    changes TEXT,
    active INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX selfheal_lessons_active ON selfheal_lessons(active) WHERE active = 1;
