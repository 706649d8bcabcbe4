//! The generation engine: plans each run (tool calls, failures, retries, timing), then writes
//! its events, its `runs` row and its `run_metrics` row through statements prepared once, while
//! accumulating the ground truth.
//!
//! Memory is bounded by the largest run (scratch buffers are reused) plus, when truth
//! collection is on, one `i64` per failed call.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Statement, params};

use crate::SynthError;
use crate::catalog::{
    AGENT_WEIGHTS, AGENTS, Dur, MAX_PATTERNS_PER_TOOL, N_TOOLS, PATTERNS, Profile,
    SUCCESS_DURATION, TOOLS,
};
use crate::rng::Rng;
use crate::sink::{EventKind, EventSink};
use crate::text;
use crate::truth::{GroundTruth, PlantedPattern};
use crate::ts::{TsFormat, write_ts};

const DAY_MS: i64 = 86_400_000;
const NO_PATTERN: u8 = u8::MAX;
const MAX_CALLS: usize = 80;
const MAX_RETRIES: u8 = 3;
/// Probability that a successful call's `tool_complete` row is written malformed.
const MALFORMED_P: f64 = 0.0011;
/// Events kept back from the main loop for the stalled and live runs.
const SPECIAL_RESERVE: u64 = 50;
const STATUSES: [&str; 4] = ["completed", "failed", "cancelled", "running"];

/// How a run is placed and finished.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Mode {
    /// A finished run of the history.
    Normal,
    /// A `running` run whose last event is at `anchor`, long before `end`.
    Stalled { anchor: i64 },
    /// A `running` run whose last event is at `anchor`, just before `end`.
    Live { anchor: i64 },
    /// A completed run appended by `append_events`.
    Appended,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    Completed = 0,
    Failed = 1,
    Cancelled = 2,
    Running = 3,
}

/// How one run's writer formats its rows (agents and their versions differ).
#[derive(Clone, Copy, Debug)]
struct Dialect {
    ts: TsFormat,
    int_bool: bool,
    tool_name_key: bool,
    duration_ms_key: bool,
    error_key: bool,
}

impl Dialect {
    fn draw(r: &mut Rng) -> Self {
        let ts = match r.below(100) {
            0..70 => TsFormat::Zulu,
            70..85 => TsFormat::Offset {
                minutes: r.pick(&[0, 120, -300, 330, 60, -420]),
                micros: r.chance(0.5),
            },
            _ => TsFormat::Sqlite,
        };
        Dialect {
            ts,
            int_bool: r.chance(0.12),
            tool_name_key: r.chance(0.10),
            duration_ms_key: r.chance(0.15),
            error_key: r.chance(0.4),
        }
    }
}

/// One planned tool call (with the iteration event that may precede it).
#[derive(Clone, Copy, Debug)]
struct Call {
    tool: u8,
    pattern: u8,
    /// 0 = well-formed, 1 = truncated JSON, 2 = valid JSON but not an object.
    malformed: u8,
    iteration: bool,
    dangling: bool,
    /// Seeds the call's subject (arguments, paths in messages); shared by retries.
    subj: u64,
    /// Seeds the call's result/message variation.
    var: u64,
    /// Recorded duration (ms).
    dur: u64,
    /// Offset of the iteration event from the run start (ms).
    it_off: u64,
    /// Offset of the `tool_start` event from the run start (ms).
    start_off: u64,
}

/// A failed call waiting for a later call of the same tool in the same run.
#[derive(Clone, Copy, Debug)]
struct Pending {
    tool: u8,
    pattern: u8,
    retried: bool,
}

#[derive(Debug, Default, Clone)]
struct PatAcc {
    occurrences: u64,
    runs: u64,
    recovered: u64,
    retried: u64,
    first: Option<i64>,
    last: Option<i64>,
    timestamps: Vec<i64>,
}

struct Stmts<'c> {
    run: Statement<'c>,
    metrics: Statement<'c>,
}

/// The generator state for one transaction.
pub(crate) struct Engine<'c> {
    stmts: Stmts<'c>,
    sink: EventSink<'c>,
    rng: Rng,
    begin: i64,
    end: i64,
    windows: Vec<Vec<(i64, i64)>>,
    by_tool: [[u8; MAX_PATTERNS_PER_TOOL]; N_TOOLS],
    by_tool_len: [usize; N_TOOLS],
    collect: bool,
    // truth counters
    pub(crate) events: u64,
    runs: u64,
    tool_calls: u64,
    failed: u64,
    malformed: u64,
    calls_by_tool: [u64; N_TOOLS],
    failures_by_tool: [u64; N_TOOLS],
    runs_by_agent: [u64; 12],
    runs_by_status: [u64; 4],
    pats: Vec<PatAcc>,
    stalled: Vec<String>,
    live: Vec<String>,
    // scratch
    calls: Vec<Call>,
    pending: Vec<Pending>,
    json: String,
    msg: String,
    ts: String,
    ts2: String,
    run_id: String,
    task: String,
    context: String,
    last_error: String,
    durations: String,
    tools_used: String,
}

impl<'c> Engine<'c> {
    /// Prepares statements on `conn` (inside the caller's transaction). Pattern profiles are
    /// laid out over the span `[begin, end]` (Unix ms).
    pub(crate) fn new(
        conn: &'c Connection,
        seed: u64,
        begin: i64,
        end: i64,
        collect: bool,
    ) -> Result<Self, SynthError> {
        let stmts = Stmts {
            run: conn.prepare(
                "INSERT INTO runs (id, workflow_name, task, status, model, started_at, \
                 completed_at, duration_ms, context, error, metadata) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?,
            metrics: conn.prepare(
                "INSERT INTO run_metrics (run_id, total_tool_calls, successful_tool_calls, \
                 failed_tool_calls, total_iterations, total_tokens_in, total_tokens_out, \
                 files_read, files_modified, tools_used, step_durations) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?,
        };
        let span = (end - begin) as f64;
        let windows = PATTERNS
            .iter()
            .map(|p| match p.profile {
                Profile::Burst { windows, .. } => windows
                    .iter()
                    .map(|&(frac, hours)| {
                        let centre = begin + (span * frac) as i64;
                        let half = hours * 1_800_000;
                        (centre - half, centre + half)
                    })
                    .collect(),
                _ => Vec::new(),
            })
            .collect();
        let mut by_tool = [[0u8; MAX_PATTERNS_PER_TOOL]; N_TOOLS];
        let mut by_tool_len = [0usize; N_TOOLS];
        for (i, p) in PATTERNS.iter().enumerate() {
            let n = by_tool_len[p.tool];
            if n < MAX_PATTERNS_PER_TOOL {
                by_tool[p.tool][n] = i as u8;
                by_tool_len[p.tool] = n + 1;
            }
        }
        Ok(Engine {
            stmts,
            sink: EventSink::new(conn),
            rng: Rng::new(seed),
            begin,
            end,
            windows,
            by_tool,
            by_tool_len,
            collect,
            events: 0,
            runs: 0,
            tool_calls: 0,
            failed: 0,
            malformed: 0,
            calls_by_tool: [0; N_TOOLS],
            failures_by_tool: [0; N_TOOLS],
            runs_by_agent: [0; 12],
            runs_by_status: [0; 4],
            pats: vec![PatAcc::default(); PATTERNS.len()],
            stalled: Vec::new(),
            live: Vec::new(),
            calls: Vec::with_capacity(MAX_CALLS + 1),
            pending: Vec::with_capacity(16),
            json: String::with_capacity(1024),
            msg: String::with_capacity(512),
            ts: String::with_capacity(40),
            ts2: String::with_capacity(40),
            run_id: String::with_capacity(36),
            task: String::with_capacity(128),
            context: String::with_capacity(128),
            last_error: String::with_capacity(512),
            durations: String::with_capacity(1024),
            tools_used: String::with_capacity(512),
        })
    }

    /// Writes a whole history of about `target` events over `[begin, end]`: finished runs in
    /// time order, then three stalled and two live `running` runs.
    pub(crate) fn history(&mut self, target: u64) -> Result<(), SynthError> {
        let main_target = if target > SPECIAL_RESERVE * 4 {
            target - SPECIAL_RESERVE
        } else {
            target * 3 / 4
        };
        let span = (self.end - self.begin).max(1) as u128;
        // Expected spacing of runs (about 27 events per run), used as start jitter.
        let gap = (span / u128::from((main_target / 27).max(1))) as u64;
        while self.events < main_target {
            let pos = (span * u128::from(self.events) / u128::from(main_target)) as i64;
            let nominal = self.begin + pos + self.rng.below(gap) as i64;
            self.run(Mode::Normal, nominal, self.begin, self.end)?;
        }
        let (stalled, live) = special_anchors(&mut self.rng, self.end);
        for anchor in stalled {
            self.run(Mode::Stalled { anchor }, anchor, self.begin, self.end)?;
        }
        for anchor in live {
            self.run(Mode::Live { anchor }, anchor, self.begin, self.end)?;
        }
        Ok(())
    }

    /// Appends completed runs with all timestamps in `[lo, hi]` until `n` events are written.
    pub(crate) fn append(&mut self, n: u64, lo: i64, hi: i64) -> Result<(), SynthError> {
        let span = (hi - lo).max(1) as u128;
        while self.events < n {
            let pos = (span * u128::from(self.events) / u128::from(n)) as i64;
            self.run(Mode::Appended, lo + pos, lo, hi)?;
        }
        Ok(())
    }

    /// Buffers a `run_events` row whose data is `self.json`, at instant `when`.
    fn buffer_event(&mut self, step: i64, kind: EventKind, when: i64, fmt: TsFormat) {
        self.sink.push(step, kind, &self.json, when, fmt);
        self.events += 1;
    }

    /// Inserts the buffered rows (in order).
    fn flush_events(&mut self) -> Result<(), SynthError> {
        self.sink.flush(&self.run_id)
    }

    /// Failure probability of pattern `pi` for a call at `t`.
    fn rate(&self, pi: usize, t: i64) -> f64 {
        let d = &PATTERNS[pi];
        match d.profile {
            Profile::Steady => d.rate,
            Profile::Burst { base, .. } => {
                if self.windows[pi].iter().any(|&(a, b)| t >= a && t < b) {
                    d.rate
                } else {
                    base
                }
            }
            Profile::New { days } => {
                if t >= self.end - days * DAY_MS {
                    d.rate
                } else {
                    0.0
                }
            }
            Profile::Resolved { days } => {
                if t < self.end - days * DAY_MS {
                    d.rate
                } else {
                    0.0
                }
            }
        }
    }

    /// Draws which pattern (if any) a fresh call of `tool` at `t` fails with.
    fn draw_failure(&mut self, tool: usize, t: i64) -> u8 {
        let u = self.rng.unit();
        let mut acc = 0.0;
        for k in 0..self.by_tool_len[tool] {
            let pi = self.by_tool[tool][k];
            acc += self.rate(usize::from(pi), t);
            if u < acc {
                return pi;
            }
        }
        NO_PATTERN
    }

    /// Plans `n_calls` fresh calls (plus retries) for a run of `agent` starting near
    /// `nominal`. Fills `self.calls`.
    fn plan(&mut self, agent: usize, nominal: i64, n_calls: u64) {
        self.calls.clear();
        // The top 16 bits of every subject seed are the run's: one project per run.
        let run_bits = self.rng.next_u64() & 0xFFFF_0000_0000_0000;
        let mut off: u64 = 0;
        let mut made: u64 = 0;
        // (tool, pattern, subject, retries so far) of a call to retry next.
        let mut retry: Option<(u8, u8, u64, u8)> = None;
        while (made < n_calls || retry.is_some()) && self.calls.len() < MAX_CALLS {
            let r = &mut self.rng;
            let (tool, subj, prev, retries) = match retry.take() {
                Some((tool, pat, subj, n)) => (tool, subj, pat, n),
                None => {
                    made += 1;
                    let tool = r.weighted(&AGENTS[agent].tools) as u8;
                    (tool, run_bits | (r.next_u64() >> 16), NO_PATTERN, 0)
                }
            };
            let is_retry = prev != NO_PATTERN;
            let iteration = is_retry || self.calls.is_empty() || r.chance(0.7);
            let it_off = off
                + if iteration {
                    r.log_range(700, 20_000)
                } else {
                    r.range(2, 60)
                };
            let start_off = if iteration {
                it_off + r.range(3, 40)
            } else {
                it_off
            };
            let t = nominal + start_off as i64;
            let pattern = if is_retry {
                if r.chance(PATTERNS[usize::from(prev)].recover) {
                    NO_PATTERN
                } else {
                    prev
                }
            } else {
                self.draw_failure(usize::from(tool), t)
            };
            let r = &mut self.rng;
            let dur = if pattern == NO_PATTERN {
                let (lo, hi) = SUCCESS_DURATION[usize::from(tool)];
                r.log_range(lo, hi)
            } else {
                match PATTERNS[usize::from(pattern)].dur {
                    Dur::Range(lo, hi) => r.log_range(lo, hi),
                    Dur::Ceiling(c) => c - 15 + r.below(260),
                }
            };
            let malformed = if pattern == NO_PATTERN && r.chance(MALFORMED_P) {
                1 + r.below(2) as u8
            } else {
                0
            };
            let var = r.next_u64();
            self.calls.push(Call {
                tool,
                pattern,
                malformed,
                iteration,
                dangling: false,
                subj,
                var,
                dur,
                it_off,
                start_off,
            });
            off = start_off + dur;
            if pattern != NO_PATTERN
                && retries < MAX_RETRIES
                && r.chance(PATTERNS[usize::from(pattern)].retry)
            {
                retry = Some((tool, pattern, subj, retries + 1));
            }
        }
    }

    /// Plans and writes one run.
    fn run(&mut self, mode: Mode, nominal: i64, lo: i64, hi: i64) -> Result<(), SynthError> {
        let agent = self.rng.weighted(&AGENT_WEIGHTS);
        let a = &AGENTS[agent];
        let model = self.rng.pick(a.models);
        let dialect = Dialect::draw(&mut self.rng);
        let meta_kind = self.rng.below(3);
        let agent_name = if meta_kind == 0 && self.rng.chance(0.3) {
            6 + agent
        } else {
            agent
        };
        let n_calls = match mode {
            Mode::Stalled { .. } | Mode::Live { .. } => self.rng.range(2, 5),
            _ => {
                let m = a.mean_calls;
                let extra = if self.rng.chance(0.05) {
                    self.rng.below(40)
                } else {
                    0
                };
                1 + self.rng.below(m) + self.rng.below(m) + extra
            }
        };
        self.plan(agent, nominal, n_calls);
        let Some(last) = self.calls.last().copied() else {
            return Ok(());
        };

        // Status.
        let any_failure = self.calls.iter().any(|c| c.pattern != NO_PATTERN);
        let status = match mode {
            Mode::Stalled { .. } | Mode::Live { .. } => Status::Running,
            Mode::Appended => Status::Completed,
            Mode::Normal => {
                let r = &mut self.rng;
                if r.chance(0.03) {
                    Status::Cancelled
                } else if (last.pattern != NO_PATTERN && r.chance(0.75))
                    || (any_failure && r.chance(0.08))
                    || r.chance(0.015)
                {
                    Status::Failed
                } else {
                    Status::Completed
                }
            }
        };
        if status == Status::Running && self.rng.chance(0.5) {
            // The agent is waiting on a tool that has not answered (yet).
            if let Some(c) = self.calls.last_mut() {
                c.dangling = true;
                c.pattern = NO_PATTERN;
                c.malformed = 0;
            }
        }
        let last = self.calls.last().copied().unwrap_or(last);
        let mut extent = if last.dangling {
            last.start_off
        } else {
            last.start_off + last.dur
        };
        let (final_off, completion_off) = finish_offsets(&mut self.rng, status, &mut extent);
        let placed = Placement::new(mode, nominal, lo, hi, extent);
        let (start, at) = (placed.start, |off: u64| placed.at(off));

        write_run_id(&mut self.run_id, &mut self.rng, start);

        // Events.
        self.pending.clear();
        self.last_error.clear();
        self.durations.clear();
        self.durations.push('[');
        let mut run_mask: u32 = 0;
        let mut step: i64 = 0;
        let mut iterations: i64 = 0;
        let mut total_calls: i64 = 0;
        let mut failed_calls: i64 = 0;
        let mut files_read: i64 = 0;
        let mut files_modified: i64 = 0;
        let mut tool_counts = [0u32; N_TOOLS];
        let fmt = dialect.ts;
        for ci in 0..self.calls.len() {
            let c = self.calls[ci];
            let tool = usize::from(c.tool);
            let name = TOOLS[tool];
            let name_key = if dialect.tool_name_key {
                "tool_name"
            } else {
                "name"
            };
            if c.iteration {
                iterations += 1;
                self.json.clear();
                let _ = write!(
                    self.json,
                    "{{\"type\":\"iteration\",\"index\":{iterations}}}"
                );
                self.buffer_event(step, EventKind::Iteration, at(c.it_off), fmt);
                step += 1;
            }
            // tool_start
            self.json.clear();
            let _ = write!(
                self.json,
                "{{\"type\":\"tool_start\",\"{name_key}\":\"{name}\",\"arguments\":"
            );
            text::arguments(tool, c.subj, &mut self.json);
            self.json.push('}');
            self.buffer_event(step, EventKind::ToolStart, at(c.start_off), fmt);
            step += 1;
            tool_counts[tool] += 1;
            if c.dangling {
                break;
            }

            // tool_complete
            let failed = c.pattern != NO_PATTERN;
            let mut vr = Rng::new(c.var);
            self.msg.clear();
            let def = PATTERNS.get(usize::from(c.pattern));
            match def {
                Some(d) if failed => text::error_message(d.msg, c.subj, &mut vr, &mut self.msg),
                _ => text::success_result(tool, c.subj, &mut vr, &mut self.msg),
            }
            self.json.clear();
            let _ = write!(
                self.json,
                "{{\"type\":\"tool_complete\",\"{name_key}\":\"{name}\","
            );
            let text_key = if failed && dialect.error_key && vr.chance(0.7) {
                "error"
            } else {
                "result"
            };
            let _ = write!(self.json, "\"{text_key}\":\"");
            text::push_json_escaped(&mut self.json, &self.msg);
            let dur_key = if dialect.duration_ms_key {
                "duration_ms"
            } else {
                "duration"
            };
            let is_error = match (dialect.int_bool, failed) {
                (true, true) => "1",
                (true, false) => "0",
                (false, true) => "true",
                (false, false) => "false",
            };
            let _ = write!(
                self.json,
                "\",\"{dur_key}\":{},\"is_error\":{is_error}",
                c.dur
            );
            if let Some(d) = def.filter(|_| failed) {
                match d.recorded {
                    Some(t) => {
                        let _ = write!(self.json, ",\"error_type\":\"{t}\"");
                    }
                    None => {
                        if vr.chance(0.5) {
                            self.json.push_str(",\"error_type\":null");
                        }
                    }
                }
            }
            self.json.push('}');
            match c.malformed {
                1 => {
                    let len = self.json.len();
                    let mut cut = 10 + (c.var % (len.saturating_sub(12).max(1) as u64)) as usize;
                    cut = cut.min(len - 1);
                    while !self.json.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    self.json.truncate(cut);
                }
                2 => {
                    self.json.clear();
                    self.json.push_str(vr.pick(&[
                        "\"tool_complete\"",
                        "null",
                        "[]",
                        "[\"ok\",true]",
                        "42",
                    ]));
                }
                _ => {}
            }
            let when = at(c.start_off + c.dur);
            self.buffer_event(step, EventKind::ToolComplete, when, fmt);
            step += 1;
            total_calls += 1;
            if failed {
                failed_calls += 1;
                self.last_error.clear();
                self.last_error.push_str(&self.msg);
            } else if tool == crate::catalog::READ_FILE {
                files_read += 1;
            } else if tool == crate::catalog::WRITE_FILE {
                files_modified += 1;
            }
            if self.durations.len() > 1 {
                self.durations.push(',');
            }
            let _ = write!(self.durations, "{}", c.dur);

            // Truth.
            if c.malformed != 0 {
                self.malformed += 1;
                continue;
            }
            self.tool_calls += 1;
            self.calls_by_tool[tool] += 1;
            for p in self.pending.iter_mut().filter(|p| p.tool == c.tool) {
                if !p.retried {
                    p.retried = true;
                    self.pats[usize::from(p.pattern)].retried += 1;
                }
                if !failed {
                    self.pats[usize::from(p.pattern)].recovered += 1;
                }
            }
            if failed {
                let pi = usize::from(c.pattern);
                self.failed += 1;
                self.failures_by_tool[tool] += 1;
                run_mask |= 1 << pi;
                let written = fmt.truncate(when);
                let acc = &mut self.pats[pi];
                acc.occurrences += 1;
                acc.first = Some(acc.first.map_or(written, |f| f.min(written)));
                acc.last = Some(acc.last.map_or(written, |l| l.max(written)));
                if self.collect {
                    acc.timestamps.push(written);
                }
                self.pending.push(Pending {
                    tool: c.tool,
                    pattern: c.pattern,
                    retried: false,
                });
            } else {
                self.pending.retain(|p| p.tool != c.tool);
            }
        }
        if let Some(off) = final_off {
            self.json.clear();
            let _ = write!(
                self.json,
                "{{\"type\":\"run_complete\",\"status\":\"completed\",\"iterations\":{iterations}}}"
            );
            self.buffer_event(step, EventKind::RunComplete, at(off), fmt);
        }
        self.durations.push(']');
        self.flush_events()?;
        for (i, acc) in self.pats.iter_mut().enumerate() {
            if run_mask & (1 << i) != 0 {
                acc.runs += 1;
            }
        }

        // The runs row.
        let r = &mut self.rng;
        self.task.clear();
        text::task(agent, r, &mut self.task);
        self.context.clear();
        let has_context = r.chance(0.5);
        if has_context {
            text::context(r, &mut self.context);
        }
        let metadata: Option<String> = match meta_kind {
            0 => Some(if r.chance(0.5) {
                format!("{{\"agent\":\"{}\"}}", agent_label(agent_name))
            } else {
                format!(
                    "{{\"agent\":\"{}\",\"version\":\"2.{}.{}\"}}",
                    agent_label(agent_name),
                    r.below(8),
                    r.below(10)
                )
            }),
            1 => None,
            _ => Some("{}".to_owned()),
        };
        let error: Option<String> = match status {
            Status::Failed => Some(
                if last.pattern != NO_PATTERN && !self.last_error.is_empty() {
                    self.last_error.clone()
                } else if r.chance(0.5) {
                    "max iterations (25) reached without completing the task".to_owned()
                } else {
                    "LLM provider error: 529 overloaded".to_owned()
                },
            ),
            Status::Cancelled if r.chance(0.5) => Some("cancelled by user".to_owned()),
            _ => None,
        };
        let started = fmt.truncate(start);
        self.ts.clear();
        write_ts(&mut self.ts, start, fmt);
        self.ts2.clear();
        let (completed_at, duration_ms) = match completion_off {
            Some(off) => {
                let done = at(off);
                write_ts(&mut self.ts2, done, fmt);
                (Some(self.ts2.as_str()), Some(fmt.truncate(done) - started))
            }
            None => (None, None),
        };
        self.stmts.run.execute(params![
            self.run_id,
            a.workflow,
            self.task,
            STATUSES[status as usize],
            model,
            self.ts,
            completed_at,
            duration_ms,
            if has_context {
                Some(self.context.as_str())
            } else {
                None
            },
            error,
            metadata
        ])?;

        // The run_metrics row (most finished runs).
        if status != Status::Running && self.rng.chance(0.92) {
            self.tools_used.clear();
            self.tools_used.push('{');
            for (i, &n) in tool_counts.iter().enumerate() {
                if n > 0 {
                    if self.tools_used.len() > 1 {
                        self.tools_used.push(',');
                    }
                    let _ = write!(self.tools_used, "\"{}\":{n}", TOOLS[i]);
                }
            }
            self.tools_used.push('}');
            let r = &mut self.rng;
            let tokens_in = iterations * r.range(1_500, 6_000) as i64 + r.range(500, 2_000) as i64;
            let tokens_out = iterations * r.range(80, 900) as i64;
            self.stmts.metrics.execute(params![
                self.run_id,
                total_calls,
                total_calls - failed_calls,
                failed_calls,
                iterations,
                tokens_in,
                tokens_out,
                files_read,
                files_modified,
                self.tools_used,
                self.durations
            ])?;
        }

        self.runs += 1;
        self.runs_by_agent[agent_name] += 1;
        self.runs_by_status[status as usize] += 1;
        match mode {
            Mode::Stalled { .. } => self.stalled.push(self.run_id.clone()),
            Mode::Live { .. } => self.live.push(self.run_id.clone()),
            _ => {}
        }
        Ok(())
    }

    /// The ground truth accumulated so far (statements are dropped).
    pub(crate) fn into_truth(self, seed: u64) -> GroundTruth {
        let to_dt = |ms: i64| DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default();
        let patterns = PATTERNS
            .iter()
            .zip(self.pats)
            .filter(|(_, acc)| acc.occurrences > 0)
            .map(|(d, acc)| PlantedPattern {
                pattern_id: d.id.to_owned(),
                tool: TOOLS[d.tool].to_owned(),
                recorded_error_type: d.recorded.map(str::to_owned),
                expected_class: d.class.to_owned(),
                profile: d.profile.label().to_owned(),
                fixed_at_ms: match d.profile {
                    Profile::Resolved { days } => Some(self.end - days * DAY_MS),
                    _ => None,
                },
                occurrences: acc.occurrences,
                runs: acc.runs,
                recovered: acc.recovered,
                retried: acc.retried,
                first_seen_ms: acc.first,
                last_seen_ms: acc.last,
                occurrence_timestamps_ms: acc.timestamps,
            })
            .collect();
        let counts = |names: &mut dyn Iterator<Item = &'static str>, counts: &[u64]| {
            let mut m = BTreeMap::new();
            for (name, &n) in names.zip(counts) {
                if n > 0 {
                    *m.entry(name.to_owned()).or_insert(0) += n;
                }
            }
            m
        };
        GroundTruth {
            seed,
            begin: to_dt(self.begin),
            end: to_dt(self.end),
            total_events: self.events,
            total_runs: self.runs,
            tool_calls: self.tool_calls,
            failed_calls: self.failed,
            malformed_events: self.malformed,
            patterns,
            stalled_runs: self.stalled,
            live_running_runs: self.live,
            runs_by_agent: counts(&mut (0..12).map(agent_label), &self.runs_by_agent),
            runs_by_status: counts(&mut STATUSES.iter().copied(), &self.runs_by_status),
            calls_by_tool: counts(&mut TOOLS.iter().copied(), &self.calls_by_tool),
            failures_by_tool: counts(&mut TOOLS.iter().copied(), &self.failures_by_tool),
            profile: "default".to_owned(),
            window_from_ms: self.end - 7 * DAY_MS,
            window_to_ms: self.end,
            causes: Vec::new(),
            outcomes: Vec::new(),
            incidents: Vec::new(),
        }
    }
}

/// The last-event instants of the three stalled (21–175 minutes before `end`) and two live
/// (5–100 s before) `running` runs that close a history, each group in time order.
pub(crate) fn special_anchors(rng: &mut Rng, end: i64) -> ([i64; 3], [i64; 2]) {
    let mut stalled = [0i64; 3];
    for a in &mut stalled {
        *a = end - rng.range(21 * 60_000, 175 * 60_000) as i64;
    }
    stalled.sort_unstable();
    let mut live = [0i64; 2];
    for a in &mut live {
        *a = end - rng.range(5_000, 100_000) as i64;
    }
    live.sort_unstable();
    (stalled, live)
}

/// Draws the offsets of a run's final message (completed runs) and of its completion event
/// (every run but a `running` one) after `extent`, which grows to the run's end.
pub(crate) fn finish_offsets(
    rng: &mut Rng,
    status: Status,
    extent: &mut u64,
) -> (Option<u64>, Option<u64>) {
    let final_off = (status == Status::Completed).then(|| {
        *extent += rng.range(200, 4_000);
        *extent
    });
    let completion_off = (status != Status::Running).then(|| {
        *extent += rng.range(5, 300);
        *extent
    });
    (final_off, completion_off)
}

/// Where a run lasting `extent` ms lands: ending at the anchor of a stalled or live run, else
/// starting at `nominal` within `[lo, hi]`, squeezed to fit when the window is shorter.
pub(crate) struct Placement {
    pub start: i64,
    num: u64,
    den: u64,
}

impl Placement {
    pub(crate) fn new(mode: Mode, nominal: i64, lo: i64, hi: i64, extent: u64) -> Placement {
        let (start, num, den) = match mode {
            Mode::Stalled { anchor } | Mode::Live { anchor } => (anchor - extent as i64, 1, 1),
            Mode::Normal | Mode::Appended => {
                let mut s = nominal.max(lo);
                if s + extent as i64 > hi {
                    s = hi - extent as i64;
                }
                if s < lo {
                    (lo, (hi - lo).max(0) as u64, extent.max(1))
                } else {
                    (s, 1, 1)
                }
            }
        };
        Placement { start, num, den }
    }

    /// The instant of offset `off` (ms) into the run.
    pub(crate) fn at(&self, off: u64) -> i64 {
        if self.num == self.den {
            self.start + off as i64
        } else {
            self.start + (u128::from(off) * u128::from(self.num) / u128::from(self.den)) as i64
        }
    }
}

/// Writes a run id: a UUIDv7 (time-ordered, as many agents write them) for `start`.
pub(crate) fn write_run_id(out: &mut String, rng: &mut Rng, start: i64) {
    let hi_bits = rng.next_u64();
    let lo_bits = rng.next_u64();
    out.clear();
    let unix = start.max(0) as u64 & 0xFFFF_FFFF_FFFF;
    let _ = write!(
        out,
        "{:08x}-{:04x}-7{:03x}-{:04x}-{:012x}",
        unix >> 16,
        unix & 0xFFFF,
        hi_bits & 0xFFF,
        0x8000 | ((lo_bits >> 48) & 0x3FFF),
        lo_bits & 0xFFFF_FFFF_FFFF
    );
}

/// Agent name by index: workflows 0..6, aliases 6..12.
fn agent_label(i: usize) -> &'static str {
    match AGENTS.get(i) {
        Some(a) => a.workflow,
        None => i
            .checked_sub(AGENTS.len())
            .and_then(|j| AGENTS.get(j))
            .map_or("unknown", |a| a.alias),
    }
}
