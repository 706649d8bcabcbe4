//! The `real` profile's engine: resolves the catalogue into failure causes (class × tool
//! [× program]) and incidents, plans each run (tool calls, failures, retry loops with the same
//! arguments, agents moving on with different ones, parallel calls cancelled by a failing
//! sibling, calls people decline, benign non-zero exits), writes its events, `runs` and
//! `run_metrics` rows, and accumulates the ground truth from what was written — recovery by
//! retry included, computed from the arguments' canonical keys exactly as the rule states.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Statement, params};

use crate::SynthError;
use crate::engine::{Mode, Placement, Status, finish_offsets, special_anchors, write_run_id};
use crate::rng::Rng;
use crate::sink::{EventKind, EventSink};
use crate::text::push_json_escaped;
use crate::truth::{
    CauseTruth, GroundTruth, IncidentTruth, Occurrence, OutcomeTruth, WindowCounts,
};
use crate::ts::write_ts;

use super::catalog::{self, AGENTS, Class, Kind, Recording, TOOLS};
use super::text::{self, ArgWriter, Cx, Scratch, Volatile};
use super::vocab::{self, Fail, PROGS, Prog};

const DAY_MS: i64 = 86_400_000;
const NO_PROG: u8 = u8::MAX;
const MAX_CALLS: usize = 200;
/// Calls after a failure in which a successful identical call counts as a recovery.
pub(crate) const RETRY_WINDOW: usize = 10;
const MAX_ATTEMPTS: u8 = 5;
/// Events kept back from the main loop for the stalled and live runs.
const SPECIAL_RESERVE: u64 = 150;
const STATUSES: [&str; 4] = ["completed", "failed", "cancelled", "running"];
const OUTCOMES: [&str; 3] = ["rejected", "cancelled", "benign"];

/// Tools whose calls an agent may issue in parallel.
const PARALLEL_TOOLS: &[&str] = &["Bash", "Read", "Grep", "Glob", "WebFetch"];

/// When a cause is active.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TProfile {
    Steady,
    /// Only during the last 5 days.
    New,
    /// Not during the last 16 days.
    Resolved,
}

impl TProfile {
    fn label(self) -> &'static str {
        match self {
            TProfile::Steady => "steady",
            TProfile::New => "new",
            TProfile::Resolved => "resolved",
        }
    }
}

/// One failure cause.
struct PatDef {
    class: Class,
    tool: u16,
    prog: u8,
    fail: &'static Fail,
    profile: TProfile,
}

/// A kind of incident: one class hitting related programs and tools for a few hours.
struct IncidentKind {
    name: &'static str,
    class: Class,
    progs: &'static [&'static str],
    tools: &'static [&'static str],
}

const INCIDENT_KINDS: &[IncidentKind] = &[
    IncidentKind {
        name: "package registry outage",
        class: Class::NetworkError,
        progs: &["npm", "pip", "cargo", "go", "docker", "git", "gh"],
        tools: &[],
    },
    IncidentKind {
        name: "API throttling",
        class: Class::RateLimited,
        progs: &["gh", "curl", "docker", "terraform"],
        tools: &[
            "http_request",
            "WebFetch",
            "web_fetch",
            "WebSearch",
            "google_web_search",
            "create_pull_request",
            "github_get_issue",
            "send_slack_message",
            "jira_create_issue",
            "s3_put_object",
        ],
    },
    IncidentKind {
        name: "database down",
        class: Class::ConnectionRefused,
        progs: &["psql", "python3"],
        tools: &["query_db"],
    },
    IncidentKind {
        name: "browser server crashing",
        class: Class::ServerCrashed,
        progs: &[],
        tools: &[
            "browser_navigate",
            "browser_click",
            "browser_fill",
            "browser_screenshot",
            "memory_store",
            "search_docs",
            "vector_search",
        ],
    },
    IncidentKind {
        name: "memory pressure on runners",
        class: Class::Oom,
        progs: &["docker", "pytest", "cargo", "npm", "node", "python3"],
        tools: &["python_exec", "run_tests", "deploy_service"],
    },
    IncidentKind {
        name: "cluster API unreachable",
        class: Class::ConnectionRefused,
        progs: &["kubectl"],
        tools: &["k8s_get_pods", "vector_search", "send_email"],
    },
    IncidentKind {
        name: "slow backends",
        class: Class::Timeout,
        progs: &["pytest", "cargo", "npm", "git"],
        tools: &[
            "query_db",
            "http_request",
            "fetch_url",
            "search_docs",
            "vector_search",
            "memory_store",
            "WebFetch",
            "browser_navigate",
        ],
    },
];

struct Incident {
    kind: usize,
    from: i64,
    to: i64,
    p: f64,
    /// Pattern hit in each (tool, program) slot, or `u16::MAX`.
    hits: Vec<u16>,
    failures: u64,
}

/// An agent with its names resolved.
struct AgentRt {
    tools: Vec<u16>,
    weights: Vec<u32>,
    gated: Vec<bool>,
    parallel: Vec<bool>,
}

/// A call's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Out {
    Ok,
    Fail(u16),
    Rejected,
    Cancelled,
    Benign,
}

/// One planned call.
#[derive(Clone, Copy, Debug)]
struct PCall {
    tool: u16,
    prog: u8,
    out: Out,
    /// Shell tools: the command template (filled with the subject).
    cmd: &'static str,
    /// Shell tools: what the command prints when it succeeds (or exits benignly).
    ok_out: &'static str,
    /// Seeds the call's subject (arguments, names in messages); shared by repeats.
    subj: u64,
    /// Seeds the call's message and volatile argument parts.
    var: u64,
    /// 0 for a first call, n for the n-th repeat.
    attempt: u8,
    iteration: bool,
    /// 0: alone; 1: first of a parallel group; 2: later member of the group before it.
    group: u8,
    dangling: bool,
    /// Recorded duration (ms).
    dur: u64,
    it_off: u64,
    start_off: u64,
    end_off: u64,
}

#[derive(Default, Clone)]
struct PatAcc {
    occurrences: u64,
    runs: u64,
    recovered: u64,
    specific: u64,
    generic: u64,
    none: u64,
    first: Option<i64>,
    last: Option<i64>,
    window: WindowCounts,
    list: Vec<Occurrence>,
    /// Run counter of the last run counted (for distinct runs).
    last_run: u64,
    last_window_run: u64,
}

/// A completed call as the truth sees it.
#[derive(Clone, Copy)]
struct Done {
    tool: u16,
    prog: u8,
    key: u64,
    out: Out,
    at: i64,
    /// Position in the cause's occurrence list (`u32::MAX`: not collected).
    occ: u32,
}

/// The generator state for one transaction.
pub(crate) struct Engine<'c> {
    sink: EventSink<'c>,
    run_stmt: Statement<'c>,
    metrics_stmt: Statement<'c>,
    rng: Rng,
    begin: i64,
    end: i64,
    win_from: i64,
    collect: bool,
    pats: Vec<PatDef>,
    /// (first pattern, count) per (tool, program) slot.
    slots: Vec<(u16, u16)>,
    /// Per shell tool: programs and weights.
    shell_progs: Vec<(Vec<u8>, Vec<u32>)>,
    agents: Vec<AgentRt>,
    agent_weights: Vec<u32>,
    incidents: Vec<Incident>,
    // truth
    acc: Vec<PatAcc>,
    outcome_counts: BTreeMap<(usize, u16, u8), (u64, u64)>,
    calls_by_tool: Vec<u64>,
    failures_by_tool: Vec<u64>,
    runs_by_agent: Vec<u64>,
    runs_by_status: [u64; 4],
    runs: u64,
    tool_calls: u64,
    failed: u64,
    stalled: Vec<String>,
    live: Vec<String>,
    // scratch
    calls: Vec<PCall>,
    done: Vec<Done>,
    msg: String,
    /// The commands of a batch's shell calls, rendered once for start and completion.
    batch_cmds: [String; 4],
    summary: String,
    run_id: String,
    /// The run's call ids, all of the same length, one after the other.
    call_ids: String,
    call_id_len: usize,
    ts: String,
    ts2: String,
    last_error: String,
    durations: String,
    tools_used: String,
    args: ArgWriter,
    scratch: Scratch,
}

fn slot_of(tool: u16, prog: u8) -> usize {
    usize::from(tool) * (PROGS.len() + 1)
        + if prog == NO_PROG {
            PROGS.len()
        } else {
            usize::from(prog)
        }
}

fn name_hash(s: &str) -> u64 {
    s.bytes().fold(0xCBF2_9CE4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

impl<'c> Engine<'c> {
    /// Prepares statements on `conn` (inside the caller's transaction); incidents are laid
    /// out over `[begin, end]` (Unix ms).
    pub(crate) fn new(
        conn: &'c Connection,
        seed: u64,
        begin: i64,
        end: i64,
        collect: bool,
    ) -> Result<Self, SynthError> {
        let run_stmt = conn.prepare(
            "INSERT INTO runs (id, workflow_name, task, status, model, started_at, \
             completed_at, duration_ms, context, error, metadata) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        let metrics_stmt = conn.prepare(
            "INSERT INTO run_metrics (run_id, total_tool_calls, successful_tool_calls, \
             failed_tool_calls, total_iterations, total_tokens_in, total_tokens_out, \
             files_read, files_modified, tools_used, step_durations) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;

        // Causes, per (tool, program) slot.
        let mut pats = Vec::new();
        let mut slots = vec![(0u16, 0u16); TOOLS.len() * (PROGS.len() + 1)];
        let mut shell_progs = Vec::with_capacity(TOOLS.len());
        for (ti, tool) in TOOLS.iter().enumerate() {
            let mut add = |prog: u8, fails: &'static [Fail], pats: &mut Vec<PatDef>| {
                let start = pats.len() as u16;
                for fail in fails {
                    let h = name_hash(tool.name)
                        ^ name_hash(fail.class.as_str()).rotate_left(17)
                        ^ (u64::from(prog) << 40);
                    let profile = match crate::rng::mix(h, 0x7E57) % 100 {
                        0..6 => TProfile::New,
                        6..12 => TProfile::Resolved,
                        _ => TProfile::Steady,
                    };
                    pats.push(PatDef {
                        class: fail.class,
                        tool: ti as u16,
                        prog,
                        fail,
                        profile,
                    });
                }
                slots[slot_of(ti as u16, prog)] = (start, fails.len() as u16);
            };
            match tool.kind {
                Kind::Shell(shell) => {
                    let mut progs = Vec::new();
                    let mut weights = Vec::new();
                    for (name, w) in catalog::shell_programs(shell) {
                        if let Some(pi) = PROGS.iter().position(|p| p.name == *name) {
                            progs.push(pi as u8);
                            weights.push(*w);
                            add(pi as u8, PROGS[pi].fails, &mut pats);
                        }
                    }
                    shell_progs.push((progs, weights));
                }
                Kind::Fam(f) => {
                    add(NO_PROG, vocab::fam(f).fails, &mut pats);
                    shell_progs.push((Vec::new(), Vec::new()));
                }
            }
        }

        let agents = AGENTS
            .iter()
            .map(|(a, _)| {
                let tools: Vec<u16> = a
                    .tools
                    .iter()
                    .filter_map(|(n, _)| catalog::tool_index(n).map(|i| i as u16))
                    .collect();
                AgentRt {
                    weights: a.tools.iter().map(|(_, w)| *w).collect(),
                    gated: a.tools.iter().map(|(n, _)| a.gated.contains(n)).collect(),
                    parallel: a
                        .tools
                        .iter()
                        .map(|(n, _)| a.writer.call_ids.is_some() && PARALLEL_TOOLS.contains(n))
                        .collect(),
                    tools,
                }
            })
            .collect();

        let mut rng = Rng::new(seed);
        let incidents = Self::plan_incidents(&mut rng, &pats, &slots, begin, end);
        Ok(Engine {
            sink: EventSink::new(conn),
            run_stmt,
            metrics_stmt,
            rng,
            begin,
            end,
            win_from: end - 7 * DAY_MS,
            collect,
            acc: vec![PatAcc::default(); pats.len()],
            pats,
            slots,
            shell_progs,
            agents,
            agent_weights: AGENTS.iter().map(|(_, w)| *w).collect(),
            incidents,
            outcome_counts: BTreeMap::new(),
            calls_by_tool: vec![0; TOOLS.len()],
            failures_by_tool: vec![0; TOOLS.len()],
            runs_by_agent: vec![0; AGENTS.len()],
            runs_by_status: [0; 4],
            runs: 0,
            tool_calls: 0,
            failed: 0,
            stalled: Vec::new(),
            live: Vec::new(),
            calls: Vec::with_capacity(MAX_CALLS + 4),
            done: Vec::with_capacity(MAX_CALLS + 4),
            msg: String::with_capacity(4 * 1024),
            batch_cmds: std::array::from_fn(|_| String::with_capacity(256)),
            summary: String::with_capacity(128),
            run_id: String::with_capacity(40),
            call_ids: String::with_capacity(32 * (MAX_CALLS + 4)),
            call_id_len: 0,
            ts: String::with_capacity(40),
            ts2: String::with_capacity(40),
            last_error: String::with_capacity(2048),
            durations: String::with_capacity(2048),
            tools_used: String::with_capacity(512),
            args: ArgWriter::new(),
            scratch: Scratch::new(),
        })
    }

    /// About three incidents a week, one of them within the last 5 days when the span covers
    /// a week.
    fn plan_incidents(
        rng: &mut Rng,
        pats: &[PatDef],
        slots: &[(u16, u16)],
        begin: i64,
        end: i64,
    ) -> Vec<Incident> {
        let span = (end - begin).max(1);
        let n = ((span / DAY_MS) * 3 / 7).max(1) as usize;
        let mut starts: Vec<i64> = (0..n)
            .map(|_| begin + rng.below(span as u64) as i64)
            .collect();
        if span >= 7 * DAY_MS {
            starts.push(end - rng.range(DAY_MS as u64, 5 * DAY_MS as u64) as i64);
        }
        starts.sort_unstable();
        starts
            .into_iter()
            .enumerate()
            .map(|(i, from)| {
                // Every kind in turn, so that each occurs; the recent one is the slow backends.
                let kind = if i + 1 == n + 1 && span >= 7 * DAY_MS {
                    rng.below(INCIDENT_KINDS.len() as u64) as usize
                } else {
                    i % INCIDENT_KINDS.len()
                };
                let k = &INCIDENT_KINDS[kind];
                let hours = rng.range(1, 6) as i64;
                let mut hits = vec![u16::MAX; slots.len()];
                for (ti, tool) in TOOLS.iter().enumerate() {
                    let progs: Vec<u8> = match tool.kind {
                        Kind::Shell(_) => PROGS
                            .iter()
                            .enumerate()
                            .filter(|(_, p)| k.progs.contains(&p.name))
                            .map(|(pi, _)| pi as u8)
                            .collect(),
                        Kind::Fam(_) if k.tools.contains(&tool.name) => vec![NO_PROG],
                        Kind::Fam(_) => Vec::new(),
                    };
                    for prog in progs {
                        let slot = slot_of(ti as u16, prog);
                        let (start, len) = slots[slot];
                        for pi in start..start + len {
                            if pats[usize::from(pi)].class == k.class {
                                hits[slot] = pi;
                            }
                        }
                    }
                }
                Incident {
                    kind,
                    from,
                    to: (from + hours * 3_600_000).min(end),
                    p: 0.15 + rng.unit() * 0.35,
                    hits,
                    failures: 0,
                }
            })
            .collect()
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
        // Expected spacing of runs (about 40 events per run), used as start jitter.
        let gap = (span / u128::from((main_target / 40).max(1))) as u64;
        while self.sink.events < main_target {
            let pos = (span * u128::from(self.sink.events) / u128::from(main_target)) as i64;
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
        while self.sink.events < n {
            let pos = (span * u128::from(self.sink.events) / u128::from(n)) as i64;
            self.run(Mode::Appended, lo + pos, lo, hi)?;
        }
        Ok(())
    }

    pub(crate) fn events(&self) -> u64 {
        self.sink.events
    }

    /// Draws a fresh call of tool `ti` (of program `prog`, for shell tools; `NO_PROG`: draw
    /// one) at instant `t`.
    fn fresh(&mut self, ai: usize, k: usize, prog: u8, t: i64, run_bits: u64) -> PCall {
        let a = &self.agents[ai];
        let ti = a.tools[k];
        let gated = a.gated[k];
        let tool = &TOOLS[usize::from(ti)];
        let r = &mut self.rng;
        let subj = run_bits | (r.next_u64() >> 16);
        let mut c = PCall {
            tool: ti,
            prog: NO_PROG,
            out: Out::Ok,
            cmd: "",
            ok_out: "",
            subj,
            var: r.next_u64(),
            attempt: 0,
            iteration: false,
            group: 0,
            dangling: false,
            dur: 0,
            it_off: 0,
            start_off: 0,
            end_off: 0,
        };
        let fail_p = match tool.kind {
            Kind::Shell(_) => {
                let (progs, weights) = &self.shell_progs[usize::from(ti)];
                c.prog = if prog != NO_PROG {
                    prog
                } else {
                    progs[r.weighted(weights)]
                };
                let p = &PROGS[usize::from(c.prog)];
                let pick = r.pick(p.cmds);
                c.cmd = pick.0;
                c.ok_out = pick.1;
                p.fail_p
            }
            Kind::Fam(f) => vocab::fam(f).fail_p,
        };
        let writer = &AGENTS[ai].0.writer;
        if gated && r.chance(writer.reject_p) {
            c.out = Out::Rejected;
            return c;
        }
        if c.prog != NO_PROG {
            let p = &PROGS[usize::from(c.prog)];
            if p.benign_p > 0.0 && r.chance(p.benign_p) {
                let pick = r.pick(p.benign);
                c.cmd = pick.0;
                c.ok_out = pick.1;
                c.out = Out::Benign;
                return c;
            }
        }
        let slot = slot_of(ti, c.prog);
        // Incidents first: during one, its class hits the slot at its own rate.
        for inc in &mut self.incidents {
            if t >= inc.from && t < inc.to && inc.hits[slot] != u16::MAX && r.chance(inc.p) {
                inc.failures += 1;
                c.out = Out::Fail(inc.hits[slot]);
                break;
            }
        }
        if c.out == Out::Ok && r.chance(fail_p) {
            let (start, len) = self.slots[slot];
            let fails = &self.pats[usize::from(start)..usize::from(start + len)];
            let mut total = 0u64;
            for p in fails {
                total += u64::from(p.fail.weight);
            }
            let mut x = r.below(total);
            for (k, p) in fails.iter().enumerate() {
                let w = u64::from(p.fail.weight);
                if x < w {
                    let active = match p.profile {
                        TProfile::Steady => true,
                        TProfile::New => t >= self.end - 5 * DAY_MS,
                        TProfile::Resolved => t < self.end - 16 * DAY_MS,
                    };
                    if active {
                        c.out = Out::Fail((usize::from(start) + k) as u16);
                    }
                    break;
                }
                x -= w;
            }
        }
        if let Out::Fail(pi) = c.out {
            let fail = self.pats[usize::from(pi)].fail;
            if !fail.cmds.is_empty() {
                let pick = self.rng.pick(fail.cmds);
                c.cmd = pick.0;
                c.ok_out = pick.1;
            }
        }
        c
    }

    /// Duration and timing of a planned call.
    fn time(&mut self, c: &mut PCall, off: u64) {
        let tool = &TOOLS[usize::from(c.tool)];
        let r = &mut self.rng;
        c.dur = match c.out {
            Out::Ok => r.log_range(tool.ok_ms.0, tool.ok_ms.1),
            Out::Benign => r.log_range(5, 400),
            Out::Cancelled => r.range(1, 30),
            Out::Rejected => r.log_range(2_000, 120_000),
            Out::Fail(pi) => {
                let fail = self.pats[usize::from(pi)].fail;
                match (fail.class, tool.kind) {
                    (Class::Timeout, Kind::Shell(_)) if fail.exit >= 0 => 30_000 + r.below(500),
                    (Class::Timeout, _) => tool.ceiling_ms - 15 + r.below(260),
                    (Class::CommandFailed | Class::Oom, Kind::Shell(_)) => r.log_range(400, 90_000),
                    (_, Kind::Shell(_)) => r.log_range(8, 3_000),
                    _ => r.log_range(tool.ok_ms.0, tool.ok_ms.1.min(tool.ceiling_ms / 4)),
                }
            }
        };
        c.it_off = off
            + if c.iteration {
                r.log_range(700, 20_000)
            } else {
                r.range(20, 900)
            };
        c.start_off = if c.iteration {
            c.it_off + r.range(3, 40)
        } else {
            c.it_off
        };
        c.end_off = c.start_off + c.dur;
    }

    /// Plans the calls of one run of agent `ai` (about `n_calls` fresh ones plus repeats).
    fn plan(&mut self, ai: usize, nominal: i64, n_calls: u64) {
        self.calls.clear();
        let run_bits = self.rng.next_u64() & 0xFFFF_0000_0000_0000;
        let mut off: u64 = 0;
        let mut made: u64 = 0;
        // A repeat of a failed call (same tool, same arguments), due at a call index.
        let mut retry: Option<(PCall, usize)> = None;
        // A much later identical call (beyond the retry window), due at a call index.
        let mut late: Option<(PCall, usize)> = None;
        // After a failure not repeated: the next call uses the same tool with other arguments.
        let mut next_same: Option<(usize, u8)> = None;
        let n_tools = self.agents[ai].tools.len();
        while (made < n_calls || retry.is_some()) && self.calls.len() + 4 < MAX_CALLS {
            let idx = self.calls.len();
            let t = nominal + off as i64;
            let mut first = if let Some((c, due)) = retry.filter(|(_, due)| *due <= idx) {
                let _ = due;
                retry = None;
                let (_, recover, _) = match c.out {
                    Out::Fail(pi) => self.pats[usize::from(pi)].class.retry(),
                    _ => (0.0, 1.0, 0),
                };
                let mut c = c;
                c.attempt += 1;
                c.var = self.rng.next_u64();
                if self.rng.chance(recover) {
                    c.out = Out::Ok;
                }
                c.iteration = self.rng.chance(0.8);
                c.group = 0;
                c
            } else if let Some((c, _)) = late.filter(|(_, due)| *due <= idx) {
                late = None;
                let mut c = c;
                c.attempt += 1;
                c.var = self.rng.next_u64();
                c.out = Out::Ok;
                c.iteration = self.rng.chance(0.6);
                c
            } else {
                made += 1;
                let (k, prog) = match next_same.take() {
                    Some(x) => x,
                    None => (self.rng.weighted(&self.agents[ai].weights), NO_PROG),
                };
                let mut c = self.fresh(ai, k.min(n_tools - 1), prog, t, run_bits);
                c.iteration = idx == 0 || self.rng.chance(0.6);
                if self.agents[ai].parallel[k.min(n_tools - 1)]
                    && made < n_calls
                    && self.rng.chance(0.12)
                {
                    c.group = 1;
                }
                c
            };
            self.time(&mut first, off);
            off = first.end_off;
            let lead_idx = self.calls.len();
            self.calls.push(first);
            if first.group == 1 {
                // One or two siblings issued with it; once one fails, the later ones are
                // cancelled. Every start precedes every completion of the group, and
                // completions come in the order of the starts.
                let mut failed = matches!(first.out, Out::Fail(_));
                let mut last_start = first.start_off;
                for _ in 0..self.rng.range(1, 2) {
                    let k = loop {
                        let k = self.rng.weighted(&self.agents[ai].weights);
                        if self.agents[ai].parallel[k] {
                            break k;
                        }
                    };
                    made += 1;
                    let mut s = self.fresh(ai, k, NO_PROG, t, run_bits);
                    if failed {
                        s.out = Out::Cancelled;
                    }
                    failed |= matches!(s.out, Out::Fail(_));
                    s.group = 2;
                    self.time(&mut s, 0);
                    s.it_off = first.it_off;
                    s.start_off = last_start + self.rng.range(2, 40);
                    last_start = s.start_off;
                    self.calls.push(s);
                }
                let mut end = first.end_off.max(last_start + 1);
                self.calls[lead_idx].end_off = end;
                for s in &mut self.calls[lead_idx + 1..] {
                    end = (s.start_off + s.dur).max(end + 1 + (s.subj % 19));
                    s.end_off = end;
                }
                off = end;
            }
            // Follow-ups of the last failure of what was just issued.
            let after = self.calls.len();
            let last_fail = self.calls[lead_idx..]
                .iter()
                .rev()
                .find(|c| matches!(c.out, Out::Fail(_)))
                .copied();
            if let Some(c) = last_fail
                && let Out::Fail(pi) = c.out
            {
                let class = self.pats[usize::from(pi)].class;
                let (p_retry, _, between) = class.retry();
                let decay = 0.85f64.powi(i32::from(c.attempt));
                if retry.is_none()
                    && c.attempt + 1 < MAX_ATTEMPTS
                    && self.rng.chance(p_retry * decay)
                {
                    let mut rc = c;
                    rc.group = 0;
                    retry = Some((rc, after + self.rng.below(between + 1) as usize));
                } else if self.rng.chance(0.45) {
                    let k = self.agents[ai]
                        .tools
                        .iter()
                        .position(|&t| t == c.tool)
                        .unwrap_or(0);
                    next_same = Some((k, c.prog));
                }
                if late.is_none() && self.rng.chance(0.05) {
                    let mut lc = c;
                    lc.group = 0;
                    late = Some((lc, after + RETRY_WINDOW + self.rng.below(6) as usize));
                }
            }
            off += self.rng.range(200, 6_000);
        }
    }

    /// Plans and writes one run.
    fn run(&mut self, mode: Mode, nominal: i64, lo: i64, hi: i64) -> Result<(), SynthError> {
        let ai = self.rng.weighted(&self.agent_weights);
        let agent = &AGENTS[ai].0;
        let writer = agent.writer;
        let model = self.rng.pick(agent.models);
        let fmt = writer.ts_format(&mut self.rng);
        let variants = self.rng.chance(writer.variants);
        let name_key = if variants && self.rng.chance(0.4) {
            "tool_name"
        } else {
            "name"
        };
        let dur_key = if variants && self.rng.chance(0.5) {
            "duration_ms"
        } else {
            "duration"
        };
        let int_bool = variants && self.rng.chance(0.4);
        let error_key = variants && self.rng.chance(0.5);
        let recording = match self.rng.weighted(&writer.recording) {
            0 => Recording::Specific,
            1 => Recording::Generic,
            2 => Recording::Absent,
            _ => Recording::Null,
        };
        let attempt_key = writer.variants > 0.0 && self.rng.chance(0.5);
        let reorder = writer.variants > 0.0 && self.rng.chance(0.3);
        let n_calls = match mode {
            Mode::Stalled { .. } | Mode::Live { .. } => self.rng.range(2, 5),
            _ => {
                let m = agent.mean_calls;
                let extra = if self.rng.chance(0.06) {
                    self.rng.below(3 * m)
                } else {
                    0
                };
                1 + self.rng.below(m) + self.rng.below(m) + extra
            }
        };
        self.plan(ai, nominal, n_calls);
        let Some(last) = self.calls.last().copied() else {
            return Ok(());
        };

        // Status.
        let any_failure = self.calls.iter().any(|c| matches!(c.out, Out::Fail(_)));
        let status = match mode {
            Mode::Stalled { .. } | Mode::Live { .. } => Status::Running,
            Mode::Appended => Status::Completed,
            Mode::Normal => {
                let r = &mut self.rng;
                if r.chance(0.025) {
                    Status::Cancelled
                } else if (matches!(last.out, Out::Fail(_)) && r.chance(0.7))
                    || (any_failure && r.chance(0.06))
                    || r.chance(0.015)
                {
                    Status::Failed
                } else {
                    Status::Completed
                }
            }
        };
        if status == Status::Running
            && self.rng.chance(0.5)
            && let Some(c) = self.calls.last_mut()
            && c.group == 0
        {
            // The agent is waiting on a tool that has not answered (yet).
            c.dangling = true;
            c.out = Out::Ok;
        }
        let last = self.calls.last().copied().unwrap_or(last);
        let mut extent = if last.dangling {
            last.start_off
        } else {
            last.end_off
        };
        let (final_off, completion_off) = finish_offsets(&mut self.rng, status, &mut extent);
        let placed = Placement::new(mode, nominal, lo, hi, extent);
        let (start, at) = (placed.start, |off: u64| placed.at(off));

        write_run_id(&mut self.run_id, &mut self.rng, start);

        // Call ids.
        self.call_ids.clear();
        self.call_id_len = 0;
        if let Some(prefix) = writer.call_ids {
            self.call_id_len = prefix.len() + 22;
            for _ in 0..self.calls.len() {
                self.call_ids.push_str(prefix);
                let a = self.rng.next_u64();
                let b = self.rng.next_u64();
                let _ = write!(self.call_ids, "{a:016x}{:06x}", b & 0xFF_FFFF);
            }
        }

        // Events.
        self.done.clear();
        self.last_error.clear();
        self.durations.clear();
        self.durations.push('[');
        let mut step: i64 = 0;
        let mut iterations: i64 = 0;
        let mut total_calls: i64 = 0;
        let mut failed_calls: i64 = 0;
        let mut files_read: i64 = 0;
        let mut files_modified: i64 = 0;
        let mut tool_counts = vec![0u32; TOOLS.len()];
        let n = self.calls.len();
        let mut i = 0;
        let mut keys = [0u64; 4];
        while i < n {
            let mut j = i + 1;
            while j < n && self.calls[j].group == 2 {
                j += 1;
            }
            let lead = self.calls[i];
            if lead.iteration {
                iterations += 1;
                let j0 = self.sink.mark();
                let a = &mut self.sink.arena;
                a.push_str("{\"type\":\"iteration\",\"index\":");
                text::push_u64(a, iterations as u64);
                a.push('}');
                self.sink
                    .commit(j0, step, EventKind::Iteration, at(lead.it_off), fmt);
                step += 1;
            }
            // tool_start events of the batch.
            for k in i..j {
                let c = self.calls[k];
                let tool = &TOOLS[usize::from(c.tool)];
                let j0 = self.sink.mark();
                let a = &mut self.sink.arena;
                for part in [
                    "{\"type\":\"tool_start\",\"",
                    name_key,
                    "\":\"",
                    tool.name,
                    "\",",
                ] {
                    a.push_str(part);
                }
                if self.call_id_len > 0 {
                    let id = &self.call_ids[k * self.call_id_len..(k + 1) * self.call_id_len];
                    for part in ["\"call_id\":\"", id, "\","] {
                        a.push_str(part);
                    }
                }
                self.sink.arena.push_str("\"arguments\":");
                let vol = Volatile {
                    attempt: c.attempt,
                    attempt_key,
                    reversed: reorder && c.attempt % 2 == 1,
                    seed: c.var ^ 0x0076_6F6C,
                    at_ms: at(c.start_off),
                };
                let cx = Cx {
                    subj: c.subj,
                    tool: tool.name,
                    cmd: "",
                    core: "",
                };
                let key = match tool.kind {
                    Kind::Shell(shell) => {
                        let cmd = &mut self.batch_cmds[k - i];
                        cmd.clear();
                        text::shell_command(c.cmd, PROGS[usize::from(c.prog)].name, &cx, cmd);
                        text::shell_args(
                            &mut self.args,
                            shell,
                            &self.batch_cmds[k - i],
                            &cx,
                            vol,
                            &mut self.sink.arena,
                        )
                    }
                    Kind::Fam(f) => {
                        text::fam_args(&mut self.args, f, &cx, vol, &mut self.sink.arena)
                    }
                };
                keys[k - i] = key;
                if k == i && j > i + 1 {
                    // What a cancelled sibling names: the lead's main argument.
                    self.summary.clear();
                    let src = if matches!(tool.kind, Kind::Shell(_)) {
                        self.batch_cmds[0].clone()
                    } else {
                        let what = match tool.name {
                            "WebFetch" => "{url}",
                            "Grep" => "{query}",
                            "Glob" => "{dir}",
                            _ => "{path}",
                        };
                        let mut s = String::new();
                        text::fill(what, &cx, &mut Rng::new(1), &mut s);
                        s
                    };
                    let mut cut = src.len().min(40);
                    while !src.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    let _ = write!(self.summary, "{}({}", tool.name, &src[..cut]);
                    if cut < src.len() {
                        self.summary.push('…');
                    }
                    self.summary.push(')');
                }
                self.sink.arena.push('}');
                self.sink
                    .commit(j0, step, EventKind::ToolStart, at(c.start_off), fmt);
                step += 1;
                tool_counts[usize::from(c.tool)] += 1;
            }
            if lead.dangling {
                break;
            }
            // tool_complete events of the batch.
            for k in i..j {
                let c = self.calls[k];
                let tool = &TOOLS[usize::from(c.tool)];
                let mut vr = Rng::new(c.var);
                let cx = Cx {
                    subj: c.subj,
                    tool: tool.name,
                    cmd: if matches!(tool.kind, Kind::Shell(_)) {
                        &self.batch_cmds[k - i]
                    } else {
                        ""
                    },
                    core: "",
                };
                self.msg.clear();
                let mut exit: Option<i32> = None;
                match (c.out, tool.kind) {
                    (Out::Ok, Kind::Shell(shell)) => {
                        exit = Some(0);
                        text::shell_output(
                            shell,
                            &cx,
                            0,
                            c.dur,
                            c.ok_out,
                            &mut vr,
                            &mut self.scratch,
                            &mut self.msg,
                        );
                    }
                    (Out::Benign, Kind::Shell(shell)) => {
                        exit = Some(1);
                        text::shell_output(
                            shell,
                            &cx,
                            1,
                            c.dur,
                            c.ok_out,
                            &mut vr,
                            &mut self.scratch,
                            &mut self.msg,
                        );
                    }
                    (Out::Ok | Out::Benign, Kind::Fam(f)) => {
                        text::fam_success(vocab::fam(f), &cx, &mut vr, &mut self.msg);
                    }
                    (Out::Rejected, _) => self.msg.push_str(writer.rejection),
                    (Out::Cancelled, _) => {
                        let _ = write!(
                            self.msg,
                            "<tool_use_error>Cancelled: parallel tool call {} errored</tool_use_error>",
                            self.summary
                        );
                    }
                    (Out::Fail(pi), kind) => {
                        let fail = self.pats[usize::from(pi)].fail;
                        match kind {
                            Kind::Shell(shell) => {
                                let prog: &Prog = &PROGS[usize::from(c.prog)];
                                if fail.exit >= 0 {
                                    exit = Some(fail.exit);
                                }
                                text::shell_failure(
                                    shell,
                                    prog,
                                    fail,
                                    &cx,
                                    c.dur,
                                    &mut vr,
                                    &mut self.scratch,
                                    &mut self.msg,
                                );
                            }
                            Kind::Fam(f) => {
                                text::fam_failure(
                                    vocab::fam(f),
                                    fail,
                                    &cx,
                                    &mut vr,
                                    &mut self.scratch,
                                    &mut self.msg,
                                );
                            }
                        }
                    }
                }
                let failed = matches!(c.out, Out::Fail(_));
                let flagged = c.out != Out::Ok;
                let j0 = self.sink.mark();
                let a = &mut self.sink.arena;
                for part in [
                    "{\"type\":\"tool_complete\",\"",
                    name_key,
                    "\":\"",
                    tool.name,
                    "\",",
                ] {
                    a.push_str(part);
                }
                if self.call_id_len > 0 {
                    let id = &self.call_ids[k * self.call_id_len..(k + 1) * self.call_id_len];
                    for part in ["\"call_id\":\"", id, "\","] {
                        a.push_str(part);
                    }
                }
                let text_key = if flagged && error_key {
                    "error"
                } else {
                    "result"
                };
                for part in ["\"", text_key, "\":\""] {
                    a.push_str(part);
                }
                push_json_escaped(a, &self.msg);
                let is_error = match (int_bool, flagged) {
                    (true, true) => "1",
                    (true, false) => "0",
                    (false, true) => "true",
                    (false, false) => "false",
                };
                for part in ["\",\"", dur_key, "\":"] {
                    a.push_str(part);
                }
                text::push_u64(a, c.dur);
                a.push_str(",\"is_error\":");
                a.push_str(is_error);
                if let Some(source) = writer.duration_source {
                    a.push_str(",\"duration_source\":\"");
                    a.push_str(source);
                    a.push('"');
                }
                if writer.exit_code
                    && let Some(e) = exit
                {
                    let _ = write!(self.sink.arena, ",\"exit_code\":{e}");
                }
                let mut recorded: Option<&'static str> = None;
                if let Out::Fail(pi) = c.out {
                    let class = self.pats[usize::from(pi)].class;
                    match recording {
                        Recording::Specific => {
                            recorded = Some(class.recorded_name().unwrap_or("tool_error"));
                        }
                        Recording::Generic => recorded = Some("tool_error"),
                        Recording::Null => self.sink.arena.push_str(",\"error_type\":null"),
                        Recording::Absent => {}
                    }
                    if let Some(t) = recorded {
                        let _ = write!(self.sink.arena, ",\"error_type\":\"{t}\"");
                    }
                }
                self.sink.arena.push('}');
                let when = at(c.end_off);
                self.sink
                    .commit(j0, step, EventKind::ToolComplete, when, fmt);
                step += 1;
                total_calls += 1;
                if failed {
                    failed_calls += 1;
                    self.last_error.clear();
                    let mut cut = self.msg.len().min(600);
                    while !self.msg.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    self.last_error.push_str(&self.msg[..cut]);
                } else if c.out == Out::Ok {
                    match tool.name {
                        "Read" | "read_file" | "read_many_files" | "read_text_file" => {
                            files_read += 1;
                        }
                        "Edit" | "MultiEdit" | "Write" | "write_file" | "replace"
                        | "apply_patch" | "edit_file" | "str_replace_editor" => {
                            files_modified += 1;
                        }
                        _ => {}
                    }
                }
                if self.durations.len() > 1 {
                    self.durations.push(',');
                }
                text::push_u64(&mut self.durations, c.dur);
                let mut occ = u32::MAX;
                if let Out::Fail(pi) = c.out {
                    let acc = &mut self.acc[usize::from(pi)];
                    match recorded {
                        Some(t) if Some(t) == self.pats[usize::from(pi)].class.recorded_name() => {
                            acc.specific += 1;
                        }
                        Some(_) => acc.generic += 1,
                        None => acc.none += 1,
                    }
                    if self.collect {
                        occ = acc.list.len() as u32;
                        acc.list.push(Occurrence {
                            at_ms: fmt.truncate(when),
                            run_id: self.run_id.clone(),
                            step_index: step - 1,
                            recovered: false,
                            error_type: recorded.map(str::to_owned),
                        });
                    }
                }
                self.done.push(Done {
                    tool: c.tool,
                    prog: c.prog,
                    key: keys[k - i],
                    out: c.out,
                    at: fmt.truncate(when),
                    occ,
                });
            }
            i = j;
        }
        if let Some(off) = final_off {
            let j0 = self.sink.mark();
            let _ = write!(
                self.sink.arena,
                "{{\"type\":\"run_complete\",\"status\":\"completed\",\"iterations\":{iterations}}}"
            );
            self.sink
                .commit(j0, step, EventKind::RunComplete, at(off), fmt);
        }
        self.durations.push(']');
        self.sink.flush(&self.run_id)?;
        self.account();

        // The runs row.
        let r = &mut self.rng;
        let task = format!(
            "{} {}",
            r.pick(&[
                "Fix",
                "Investigate",
                "Implement",
                "Review",
                "Update",
                "Debug"
            ]),
            r.pick(&[
                "the flaky login test",
                "pagination in the orders API",
                "the nightly export",
                "retry handling for webhooks",
                "the dashboard query",
                "the release checklist",
                "the invoice rounding bug",
                "memory growth in the worker",
            ])
        );
        // Runs of harness transcripts carry what the importer writes for them.
        let metadata: Option<String> = match ai {
            0..=3 => Some(format!(
                "{{\"agent\":\"{0}\",\"source_format\":\"{0}\",\"cwd\":\"/home/{1}\",\"timestamps\":\"recorded\"}}",
                agent.workflow,
                r.pick(&[
                    "dev/webapp",
                    "alice/api-server",
                    "ci/infra",
                    "bob/data-lake"
                ])
            )),
            _ if r.chance(0.5) => Some(format!("{{\"agent\":\"{}\"}}", agent.workflow)),
            _ => None,
        };
        let error: Option<String> = match status {
            Status::Failed => Some(if !self.last_error.is_empty() && r.chance(0.8) {
                self.last_error.clone()
            } else {
                r.pick(&[
                    "max iterations (40) reached without completing the task",
                    "LLM provider error: 529 overloaded",
                    "context window exceeded",
                ])
                .to_owned()
            }),
            Status::Cancelled => Some("cancelled by user".to_owned()),
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
        self.run_stmt.execute(params![
            self.run_id,
            agent.workflow,
            task,
            STATUSES[status as usize],
            model,
            self.ts,
            completed_at,
            duration_ms,
            Option::<&str>::None,
            error,
            metadata
        ])?;

        if status != Status::Running && self.rng.chance(0.9) {
            self.tools_used.clear();
            self.tools_used.push('{');
            for (ti, &cnt) in tool_counts.iter().enumerate() {
                if cnt > 0 {
                    if self.tools_used.len() > 1 {
                        self.tools_used.push(',');
                    }
                    let _ = write!(self.tools_used, "\"{}\":{cnt}", TOOLS[ti].name);
                }
            }
            self.tools_used.push('}');
            let r = &mut self.rng;
            let tokens_in = iterations * r.range(3_000, 12_000) as i64 + r.range(500, 4_000) as i64;
            let tokens_out = iterations * r.range(80, 1_200) as i64;
            self.metrics_stmt.execute(params![
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
        self.runs_by_agent[ai] += 1;
        self.runs_by_status[status as usize] += 1;
        match mode {
            Mode::Stalled { .. } => self.stalled.push(self.run_id.clone()),
            Mode::Live { .. } => self.live.push(self.run_id.clone()),
            _ => {}
        }
        Ok(())
    }

    /// Counts the run's completed calls into the truth: recovery by retry follows the rule
    /// literally over what was written (the next `RETRY_WINDOW` calls, same tool, same
    /// canonical arguments, a success).
    fn account(&mut self) {
        let run_no = self.runs + 1;
        let n = self.done.len();
        for k in 0..n {
            let d = self.done[k];
            self.tool_calls += 1;
            self.calls_by_tool[usize::from(d.tool)] += 1;
            match d.out {
                Out::Fail(pi) => {
                    self.failed += 1;
                    self.failures_by_tool[usize::from(d.tool)] += 1;
                    let recovered = self.done[k + 1..n.min(k + 1 + RETRY_WINDOW)]
                        .iter()
                        .any(|e| e.tool == d.tool && e.key == d.key && e.out == Out::Ok);
                    let in_window = d.at >= self.win_from && d.at <= self.end;
                    let acc = &mut self.acc[usize::from(pi)];
                    acc.occurrences += 1;
                    acc.recovered += u64::from(recovered);
                    acc.first = Some(acc.first.map_or(d.at, |f| f.min(d.at)));
                    acc.last = Some(acc.last.map_or(d.at, |l| l.max(d.at)));
                    if acc.last_run != run_no {
                        acc.last_run = run_no;
                        acc.runs += 1;
                    }
                    if in_window {
                        acc.window.occurrences += 1;
                        acc.window.recovered += u64::from(recovered);
                        if acc.last_window_run != run_no {
                            acc.last_window_run = run_no;
                            acc.window.runs += 1;
                        }
                    }
                    if let Some(o) = acc.list.get_mut(d.occ as usize) {
                        o.recovered = recovered;
                    }
                }
                Out::Rejected | Out::Cancelled | Out::Benign => {
                    let o = match d.out {
                        Out::Rejected => 0,
                        Out::Cancelled => 1,
                        _ => 2,
                    };
                    let e = self
                        .outcome_counts
                        .entry((o, d.tool, d.prog))
                        .or_insert((0, 0));
                    e.0 += 1;
                    if d.at >= self.win_from && d.at <= self.end {
                        e.1 += 1;
                    }
                }
                Out::Ok => {}
            }
        }
    }

    /// The ground truth accumulated so far.
    pub(crate) fn into_truth(self, seed: u64) -> GroundTruth {
        let to_dt = |ms: i64| DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default();
        let prog_name = |p: u8| (p != NO_PROG).then(|| PROGS[usize::from(p)].name.to_owned());
        let mut causes: Vec<CauseTruth> = self
            .pats
            .iter()
            .zip(self.acc)
            .filter(|(_, a)| a.occurrences > 0)
            .map(|(p, a)| CauseTruth {
                class: p.class.as_str().to_owned(),
                tool: TOOLS[usize::from(p.tool)].name.to_owned(),
                program: prog_name(p.prog),
                profile: p.profile.label().to_owned(),
                occurrences: a.occurrences,
                runs: a.runs,
                recovered: a.recovered,
                recorded_specific: a.specific,
                recorded_generic: a.generic,
                recorded_none: a.none,
                first_seen_ms: a.first,
                last_seen_ms: a.last,
                window: a.window,
                occurrence_list: a.list,
            })
            .collect();
        causes
            .sort_by(|a, b| (&a.tool, &a.program, &a.class).cmp(&(&b.tool, &b.program, &b.class)));
        let outcomes = self
            .outcome_counts
            .iter()
            .map(|(&(o, tool, prog), &(count, in_window))| OutcomeTruth {
                outcome: OUTCOMES[o].to_owned(),
                tool: TOOLS[usize::from(tool)].name.to_owned(),
                program: prog_name(prog),
                count,
                in_window,
            })
            .collect();
        let incidents = self
            .incidents
            .iter()
            .map(|i| IncidentTruth {
                kind: INCIDENT_KINDS[i.kind].name.to_owned(),
                class: INCIDENT_KINDS[i.kind].class.as_str().to_owned(),
                from_ms: i.from,
                to_ms: i.to,
                failures: i.failures,
            })
            .collect();
        let by_name = |counts: &[u64]| {
            counts
                .iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .map(|(i, n)| (TOOLS[i].name.to_owned(), *n))
                .collect::<BTreeMap<_, _>>()
        };
        GroundTruth {
            seed,
            begin: to_dt(self.begin),
            end: to_dt(self.end),
            total_events: self.sink.events,
            total_runs: self.runs,
            tool_calls: self.tool_calls,
            failed_calls: self.failed,
            malformed_events: 0,
            patterns: Vec::new(),
            stalled_runs: self.stalled,
            live_running_runs: self.live,
            runs_by_agent: self
                .runs_by_agent
                .iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .map(|(i, n)| (AGENTS[i].0.workflow.to_owned(), *n))
                .collect(),
            runs_by_status: self
                .runs_by_status
                .iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .map(|(i, n)| (STATUSES[i].to_owned(), *n))
                .collect(),
            calls_by_tool: by_name(&self.calls_by_tool),
            failures_by_tool: by_name(&self.failures_by_tool),
            profile: "real".to_owned(),
            window_from_ms: self.win_from,
            window_to_ms: self.end,
            causes,
            outcomes,
            incidents,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn each_slot_has_distinct_classes() {
        for p in PROGS {
            let mut seen = std::collections::BTreeSet::new();
            for f in p.fails {
                assert!(seen.insert(f.class), "{}: {:?} twice", p.name, f.class);
            }
        }
        for t in TOOLS {
            if let Kind::Fam(f) = t.kind {
                let mut seen = std::collections::BTreeSet::new();
                for fail in vocab::fam(f).fails {
                    assert!(
                        seen.insert(fail.class),
                        "{}: {:?} twice",
                        t.name,
                        fail.class
                    );
                }
            }
        }
    }

    #[test]
    fn incidents_hit_existing_causes() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(crate::RUN_HISTORY_SCHEMA).unwrap();
        let eng = Engine::new(&conn, 3, 0, 90 * DAY_MS, false).unwrap();
        assert!(eng.incidents.len() >= 30);
        for inc in &eng.incidents {
            assert!(
                inc.hits.iter().any(|&h| h != u16::MAX),
                "{}",
                INCIDENT_KINDS[inc.kind].name
            );
        }
        assert!(eng.incidents.iter().any(|i| i.from >= 85 * DAY_MS));
    }
}
