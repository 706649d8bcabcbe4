//! The first stage of a catch-up: reading `run_events` and deriving everything that one
//! event (and the starts before it) determines, on a thread of its own.
//!
//! A catch-up is a pipeline of two threads. This stage opens its own read-only connection to
//! the run history, reads the events after the high-water mark in id order, parses their
//! JSON, pairs each tool result with its `tool_start` (by call id, else the latest unmatched
//! start of the same tool in the run), fingerprints the arguments, and prepares the
//! classification of flagged calls (`selfheal_core::classify::prepare`: outcome, salient
//! line, program, the votes of every signal but the tool's timeout ceiling). The second stage ([`crate::index::Indexer`]) owns everything
//! stateful that the index stores: interning, timeout ceilings, template mining, retry
//! evidence, rollups and the SQL writes.
//!
//! The starts awaiting their result are this stage's state. At every batch boundary it sends
//! a snapshot of them with the batch's end, so the second stage commits them with the batch
//! and a restarted catch-up resumes exactly where the committed batch ended.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::SyncSender;

use rustc_hash::FxHashMap as HashMap;
use selfheal_core::arguments::{fingerprint as fingerprint_value, fingerprint_raw};
use selfheal_core::classify::{CallFacts, Prepared, prepare};
use selfheal_core::event::{
    SkipReason, TOOL_START_EVENT_TYPE, ToolCallRecord, is_tool_result_type, parse_tool_call,
    parse_tool_start,
};
use selfheal_core::shell::{command_of, is_shell_tool};
use selfheal_core::time::parse_timestamp;
use serde_json::Value;

use crate::error::{Result, StoreError};
use crate::history::RunHistory;

/// Starts kept per run at most (older ones are dropped: their results never came).
const PENDING_PER_RUN: usize = 64;
/// Starts of a run idle for this long (event time) are dropped at a batch boundary.
pub(crate) const IDLE_RUN_MS: i64 = 3_600_000;
/// Events sent to the second stage per message.
const CHUNK_EVENTS: usize = 8_192;
/// Chunks the channel to the second stage holds.
pub(crate) const CHANNEL_CHUNKS: usize = 12;

/// A `tool_start` waiting for its result.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PendingStart {
    /// A hash of the source's call id (matching needs no more).
    pub call_id: Option<u64>,
    pub tool: Arc<str>,
    pub input: StartInput,
    pub ts: i64,
}

/// A start's arguments.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum StartInput {
    /// As recorded (raw JSON), read only when its result needs them: the fingerprint when
    /// retry evidence can hang on it (see [`Reader::call`]), the command when it failed.
    /// Most results need neither.
    Raw(Option<Box<str>>),
    /// What was read of them: a start carried over from an earlier catch-up.
    Read {
        args: Option<u64>,
        /// The command line, for shell tools.
        command: Option<String>,
    },
}

impl PendingStart {
    /// The fingerprint of the arguments.
    pub fn args(&self) -> Option<u64> {
        match &self.input {
            StartInput::Raw(raw) => raw.as_deref().and_then(fingerprint_raw),
            StartInput::Read { args, .. } => *args,
        }
    }

    /// The command line, for shell tools (only a shell call's command names a program).
    pub fn command(&self) -> Option<String> {
        match &self.input {
            StartInput::Raw(raw) if is_shell_tool(&self.tool) => raw
                .as_deref()
                .and_then(|a| serde_json::from_str::<Value>(a).ok())
                .as_ref()
                .and_then(command_of),
            StartInput::Raw(_) => None,
            StartInput::Read { command, .. } => command.clone(),
        }
    }
}

/// The runs with a flagged result of some tool, as far as they can still hold an open retry
/// window: a result of another call of such a tool in the run is the only kind whose
/// arguments' fingerprint the retry evidence can need (besides flagged ones).
#[derive(Clone, Debug, Default)]
pub(crate) struct FlaggedRun {
    /// The time of the run's latest call.
    pub last_ms: i64,
    pub tools: Vec<Arc<str>>,
}

/// A hash of a call id (stable across runs: it is persisted).
pub(crate) fn call_hash(id: &str) -> u64 {
    selfheal_core::hash::words64(id.as_bytes())
}

/// The starts awaiting their result, per run id.
pub(crate) type Pending = HashMap<Arc<str>, Vec<PendingStart>>;

/// One event as the second stage needs it.
pub(crate) struct ParsedEvent {
    pub id: i64,
    /// Its run and type, as indexes into its chunk's [`Chunk::runs`] and [`Chunk::types`].
    pub run: u32,
    pub kind: u32,
    pub ts: Option<i64>,
    pub item: Item,
}

/// Events sent to the second stage at once, with the run ids and event types they name.
/// The names travel once per chunk, not per event: a reference count shared by both
/// threads and touched per event would bounce between their cores.
#[derive(Default)]
pub(crate) struct Chunk {
    pub events: Vec<ParsedEvent>,
    /// The calls of the events that are [`Item::Call`], in order (one allocation per chunk,
    /// not one per call).
    pub calls: Vec<ParsedCall>,
    pub runs: Vec<Arc<str>>,
    pub types: Vec<Arc<str>>,
}

impl Chunk {
    fn new() -> Self {
        Chunk {
            events: Vec::with_capacity(CHUNK_EVENTS),
            calls: Vec::with_capacity(CHUNK_EVENTS / 2),
            ..Chunk::default()
        }
    }

    /// The index of `run` in [`Chunk::runs`] (events of a run mostly follow each other).
    fn run_slot(&mut self, run: &Arc<str>) -> u32 {
        let recent = self.runs.len().saturating_sub(8);
        if let Some(i) = self.runs[recent..]
            .iter()
            .rposition(|r| Arc::ptr_eq(r, run))
        {
            return (recent + i) as u32;
        }
        self.runs.push(run.clone());
        (self.runs.len() - 1) as u32
    }

    /// The index of `kind` in [`Chunk::types`] (a history has a handful).
    fn type_slot(&mut self, kind: &str) -> u32 {
        let recent = self.types.len().saturating_sub(64);
        if let Some(i) = self.types[recent..].iter().position(|t| **t == *kind) {
            return (recent + i) as u32;
        }
        self.types.push(Arc::from(kind));
        (self.types.len() - 1) as u32
    }
}

pub(crate) enum Item {
    /// Not a tool result (iterations, starts, other events).
    Other,
    /// A tool result that cannot be read.
    Skip(SkipReason),
    /// A readable tool result: the next of its chunk's [`Chunk::calls`].
    Call,
}

/// A tool result with what was derived from it.
pub(crate) struct ParsedCall {
    pub record: ToolCallRecord,
    pub ts: i64,
    /// Fingerprint of the call's arguments (from its own event or its `tool_start`).
    pub args: Option<u64>,
    /// The command line of a flagged shell call (its own, else its start's).
    pub command: Option<String>,
    /// The classification so far of a flagged call, when this stage had the time for it
    /// (see [`Balance`]); [`ParsedCall::prepared`] completes it otherwise.
    pub prepared: Option<Prepared>,
}

impl ParsedCall {
    /// The classification so far of a flagged call (`None` for the others): the one this
    /// stage prepared, else prepared now.
    pub fn prepared(&mut self) -> Option<Prepared> {
        if !self.record.is_error {
            return None;
        }
        if let Some(p) = self.prepared.take() {
            return Some(p);
        }
        let record = &self.record;
        Some(prepare(&CallFacts {
            tool: &record.tool,
            error_type: record.error_type.as_deref(),
            message: record.message.as_deref(),
            duration_ms: record.duration_ms,
            duration_recorded: record.duration_recorded,
            timeout_ceiling_ms: None,
            exit_code: record.exit_code,
            interrupted: record.interrupted,
            status: record.status.as_deref(),
            command: self.command.as_deref(),
        }))
    }
}

/// How the two stages share the classification of flagged calls, the one piece of work
/// either can do (it is pure): the reader classifies while chunks wait for the indexer, and
/// leaves it to the indexer while the indexer waits for chunks. On a history where either
/// stage is the slower, the other takes this work off it.
#[derive(Clone, Default)]
pub(crate) struct Balance {
    /// Chunks sent and not yet taken.
    queued: Arc<AtomicUsize>,
}

impl Balance {
    /// Chunks waiting at which the indexer counts as the slower stage.
    const BACKLOG: usize = 2;

    fn sent(&self) {
        self.queued.fetch_add(1, Ordering::Relaxed);
    }

    /// Called by the indexer for every chunk it takes.
    pub fn taken(&self) {
        self.queued.fetch_sub(1, Ordering::Relaxed);
    }

    fn indexer_is_behind(&self) -> bool {
        self.queued.load(Ordering::Relaxed) >= Self::BACKLOG
    }
}

/// A message from the first stage to the second.
pub(crate) enum Msg {
    Events(Chunk),
    /// The end of a batch: its last event, that event's fingerprint, and the starts still
    /// awaiting their result after it.
    BatchEnd {
        last_id: i64,
        fingerprint: String,
        pending: Pending,
    },
    Failed(StoreError),
}

/// The first stage's state for one catch-up.
pub(crate) struct Reader {
    pending: Pending,
    runs: HashMap<String, Arc<str>>,
    /// The run of the previous event: most events follow one of their own run.
    last_run: Option<Arc<str>>,
    tools: HashMap<String, Arc<str>>,
    /// Runs with flagged calls, for [`Reader::needs_args`].
    flagged: HashMap<Arc<str>, FlaggedRun>,
    /// Within the last chunks of the catch-up: this stage is about to finish while the
    /// indexer still has its queue to work through, so it classifies every flagged call.
    near_end: bool,
    balance: Balance,
}

impl Reader {
    /// `flagged`: the runs whose retry windows are open as the catch-up starts (with their
    /// tools), so that the calls continuing them are fingerprinted.
    pub fn new(pending: Pending, flagged: HashMap<Arc<str>, FlaggedRun>, balance: Balance) -> Self {
        Reader {
            flagged,
            near_end: false,
            balance,
            pending,
            runs: HashMap::default(),
            last_run: None,
            tools: HashMap::default(),
        }
    }

    /// Reads the events after `hw` up to `max_id` from `source` (a connection of this
    /// stage's own) and sends them in batches of `batch` events. Stops quietly when the
    /// second stage hangs up.
    pub fn run(
        mut self,
        source: Box<dyn RunHistory>,
        hw: i64,
        max_id: i64,
        batch: i64,
        out: SyncSender<Msg>,
    ) {
        if let Err(e) = self.read_all(&*source, hw, max_id, batch, &out) {
            let _ = out.send(Msg::Failed(e));
        }
    }

    fn read_all(
        &mut self,
        source: &dyn RunHistory,
        mut hw: i64,
        max_id: i64,
        batch: i64,
        out: &SyncSender<Msg>,
    ) -> Result<()> {
        while hw < max_id {
            let mut chunk = Chunk::new();
            let (mut last_id, mut max_ts) = (hw, i64::MIN);
            let mut hung_up = false;
            source
                .events_after(hw, batch, &mut |event| {
                    last_id = event.id;
                    self.near_end = max_id - event.id <= (CHUNK_EVENTS * CHANNEL_CHUNKS) as i64;
                    let parsed = self.parse(
                        &mut chunk,
                        event.id,
                        event.run_id,
                        event.event_type,
                        event.event_data,
                        event.timestamp,
                    );
                    if let Some(ts) = parsed.ts {
                        max_ts = max_ts.max(ts);
                    }
                    chunk.events.push(parsed);
                    if chunk.events.len() >= CHUNK_EVENTS {
                        let full = std::mem::replace(&mut chunk, Chunk::new());
                        self.balance.sent();
                        if out.send(Msg::Events(full)).is_err() {
                            hung_up = true;
                            return Err(StoreError::Index("catch-up stopped".into()));
                        }
                    }
                    Ok(())
                })
                .or_else(|e| if hung_up { Ok(()) } else { Err(e) })?;
            if hung_up {
                return Ok(());
            }
            if last_id == hw {
                break; // nothing more to read (events vanished under us)
            }
            if !chunk.events.is_empty() {
                self.balance.sent();
                if out.send(Msg::Events(chunk)).is_err() {
                    return Ok(());
                }
            }
            if max_ts > i64::MIN {
                let idle_before = max_ts - IDLE_RUN_MS;
                self.pending.retain(|_, list| {
                    list.retain(|s| s.ts >= idle_before);
                    !list.is_empty()
                });
                // The second stage closes these runs' retry windows at the same boundary.
                self.flagged.retain(|_, run| run.last_ms >= idle_before);
            }
            // The same reading as `SourceDb::event_fingerprint`, which the next catch-up
            // compares with.
            let fingerprint = source.event_fingerprint(last_id)?.unwrap_or_default();
            let end = Msg::BatchEnd {
                last_id,
                fingerprint,
                pending: self.pending.clone(),
            };
            if out.send(end).is_err() {
                return Ok(());
            }
            hw = last_id;
        }
        Ok(())
    }

    fn intern(map: &mut HashMap<String, Arc<str>>, text: &str) -> Arc<str> {
        if let Some(a) = map.get(text) {
            return a.clone();
        }
        if map.len() > 16_384 {
            map.clear();
        }
        let a: Arc<str> = Arc::from(text);
        map.insert(text.to_string(), a.clone());
        a
    }

    /// Derives what one event determines.
    pub fn parse(
        &mut self,
        chunk: &mut Chunk,
        id: i64,
        run_id: &str,
        event_type: &str,
        event_data: &str,
        timestamp: &str,
    ) -> ParsedEvent {
        let ts = parse_timestamp(timestamp);
        let run_id = match &self.last_run {
            Some(last) if **last == *run_id => last.clone(),
            _ => {
                let interned = Self::intern(&mut self.runs, run_id);
                self.last_run = Some(interned.clone());
                interned
            }
        };
        let run = chunk.run_slot(&run_id);
        let kind = chunk.type_slot(event_type);
        let item = if event_type == TOOL_START_EVENT_TYPE {
            self.start(&run_id, event_data, ts);
            Item::Other
        } else if is_tool_result_type(event_type) {
            match (parse_tool_call(event_data), ts) {
                (Err(reason), _) => Item::Skip(reason),
                (Ok(_), None) => Item::Skip(SkipReason::BadTimestamp),
                (Ok(record), Some(ts)) => {
                    chunk.calls.push(self.call(&run_id, record, ts));
                    Item::Call
                }
            }
        } else {
            Item::Other
        };
        ParsedEvent {
            id,
            run,
            kind,
            ts,
            item,
        }
    }

    fn start(&mut self, run_id: &Arc<str>, event_data: &str, ts: Option<i64>) {
        // A start without a readable tool name or time is not an error of the history: its
        // result (if any) is what counts.
        let (Ok(start), Some(ts)) = (parse_tool_start(event_data), ts) else {
            return;
        };
        let list = self.pending.entry(run_id.clone()).or_default();
        if list.len() >= PENDING_PER_RUN {
            list.remove(0);
        }
        let tool = Self::intern(&mut self.tools, &start.tool);
        list.push(PendingStart {
            call_id: start.call_id.as_deref().map(call_hash),
            tool,
            input: StartInput::Raw(start.arguments.map(Box::from)),
            ts,
        });
    }

    /// Whether the retry evidence can need the fingerprint of this call's arguments: it is
    /// flagged (it may open a retry window), or its run has had a flagged call of the same
    /// tool (whose window may still be open). Notes the run's time and a flagged tool.
    fn needs_args(&mut self, run_id: &Arc<str>, tool: &str, flagged: bool, ts: i64) -> bool {
        if let Some(run) = self.flagged.get_mut(run_id) {
            run.last_ms = run.last_ms.max(ts);
            let known = run.tools.iter().any(|t| **t == *tool);
            if flagged && !known {
                run.tools.push(Arc::from(tool));
            }
            return flagged || known;
        }
        if flagged {
            self.flagged.insert(
                run_id.clone(),
                FlaggedRun {
                    last_ms: ts,
                    tools: vec![Arc::from(tool)],
                },
            );
        }
        flagged
    }

    fn call(&mut self, run_id: &Arc<str>, mut record: ToolCallRecord, ts: i64) -> ParsedCall {
        // Only pairing needs the call id; freed on this thread.
        let call_id = record.call_id.take();
        let start = self.take_start(run_id, &record.tool, call_id.as_deref());
        let needs_args = self.needs_args(run_id, &record.tool, record.is_error, ts);
        let needs_command = record.is_error && is_shell_tool(&record.tool);
        let own_args: Option<Value> = if needs_args || needs_command {
            record
                .arguments
                .as_deref()
                .and_then(|a| serde_json::from_str(a).ok())
                .filter(|v: &Value| !v.is_null())
        } else {
            None
        };
        // Each read from the call's own arguments, else its start's; left unread when nothing
        // needs it (no retry window of this tool open here; not a failed shell call).
        let start = start.as_ref();
        let args = needs_args
            .then(|| own_args.as_ref().map(fingerprint_value))
            .and_then(|own| own.or_else(|| start.and_then(PendingStart::args)));
        let command = needs_command
            .then(|| own_args.as_ref().and_then(command_of))
            .and_then(|own| own.or_else(|| start.and_then(PendingStart::command)));
        let mut call = ParsedCall {
            record,
            ts,
            args,
            command,
            prepared: None,
        };
        if self.balance.indexer_is_behind() || self.near_end {
            call.prepared = call.prepared();
        }
        call
    }

    /// The start of the call a result belongs to: by call id, else the most recent unmatched
    /// start of the same tool in the run (a start whose result was unreadable must not shift
    /// the pairing of the calls after it).
    fn take_start(
        &mut self,
        run_id: &Arc<str>,
        tool: &str,
        call_id: Option<&str>,
    ) -> Option<PendingStart> {
        let list = self.pending.get_mut(run_id)?;
        let pos = match call_id.map(call_hash) {
            Some(id) => list.iter().position(|s| s.call_id == Some(id)).or_else(|| {
                list.iter()
                    .rposition(|s| s.call_id.is_none() && *s.tool == *tool)
            }),
            None => list.iter().rposition(|s| *s.tool == *tool),
        }?;
        let start = list.remove(pos);
        if list.is_empty() {
            self.pending.remove(run_id);
        }
        Some(start)
    }
}
