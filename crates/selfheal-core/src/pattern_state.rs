//! The bounded, mergeable state of one pattern over a span of time.
//!
//! The index keeps one [`PatternState`] per pattern and hour and per pattern and day, written
//! by the catch-up as failures arrive. A window's state is the merge of its whole days, its
//! whole hours and the few failures of its partial edges, so what a pattern lists (templates,
//! contexts, recorded types, recent runs, run count, classes, recovery) costs the number of
//! hours and days in the window, not the number of occurrences.
//!
//! Every part is bounded:
//! - templates, contexts and recorded types keep their [`MAP_CAP`] most frequent entries
//!   (ties: the smaller id), so counts are exact until a pattern has more distinct ones than
//!   that in one hour or day;
//! - recent runs keep the [`RECENT_RUNS_CAP`] runs with the latest occurrence; merging keeps
//!   exactly the latest ones overall, since a run among the latest overall is among the latest
//!   of the span holding its last occurrence;
//! - distinct runs are counted with a k-minimum-values sketch ([`RunSketch`]): exact up to
//!   [`SKETCH_K`] runs, an estimate (relative error about 1/√k ≈ 3%) above.
//!
//! States encode to a compact byte string (LEB128 varints) for the index.

use std::collections::HashMap;

use crate::classify::FailureClass;
use crate::pattern::{Occurrence, RUN_SAMPLE_CAP};
use crate::retry::RetryState;

/// Distinct templates, contexts and recorded types kept per state.
pub const MAP_CAP: usize = 256;
/// Runs with the latest occurrences kept per state.
pub const RECENT_RUNS_CAP: usize = RUN_SAMPLE_CAP;
/// Size of the distinct-run sketch: exact below it.
pub const SKETCH_K: usize = 1024;

const CLASSES: usize = FailureClass::ALL.len();
const RETRY_STATES: usize = 5;
const FORMAT: u8 = 2;
/// Confidences are summed in millionths: integer sums are exact, so a window's mean does not
/// depend on the order its spans were merged in.
pub const CONFIDENCE_SCALE: f64 = 1_000_000.0;

/// Distinct runs, as the `SKETCH_K` smallest 64-bit hashes of their keys (sorted, unique).
///
/// Merged sketches are gathered and reduced once ([`normalize`](Self::normalize)), so merging
/// the many spans of a window costs one sort, not one pass per span.
#[derive(Clone, Debug, Default)]
pub struct RunSketch {
    hashes: Vec<u64>,
    /// Hashes merged in, not yet reduced.
    pending: Vec<u64>,
}

impl PartialEq for RunSketch {
    fn eq(&self, other: &Self) -> bool {
        self.reduced() == other.reduced()
    }
}

impl RunSketch {
    pub fn insert(&mut self, run: u32) {
        self.normalize();
        let h = mix(u64::from(run));
        if self.hashes.len() >= SKETCH_K && self.hashes.last().is_some_and(|l| h >= *l) {
            return;
        }
        if let Err(at) = self.hashes.binary_search(&h) {
            self.hashes.insert(at, h);
            self.hashes.truncate(SKETCH_K);
        }
    }

    pub fn merge(&mut self, other: &RunSketch) {
        self.pending.extend_from_slice(&other.hashes);
        self.pending.extend_from_slice(&other.pending);
        if self.pending.len() > 8 * SKETCH_K {
            self.normalize();
        }
    }

    /// Reduces what was merged in to the sketch proper.
    pub fn normalize(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        self.hashes.append(&mut self.pending);
        self.hashes.sort_unstable();
        self.hashes.dedup();
        self.hashes.truncate(SKETCH_K);
    }

    fn reduced(&self) -> std::borrow::Cow<'_, [u64]> {
        if self.pending.is_empty() {
            return std::borrow::Cow::Borrowed(&self.hashes);
        }
        let mut s = self.clone();
        s.normalize();
        std::borrow::Cow::Owned(s.hashes)
    }

    /// Distinct runs: exact below `SKETCH_K`, else the KMV estimate `(k − 1) / h_k`.
    pub fn count(&self) -> u64 {
        let hashes = self.reduced();
        if hashes.len() < SKETCH_K {
            return hashes.len() as u64;
        }
        let kth = hashes[SKETCH_K - 1] as f64 / u64::MAX as f64;
        ((SKETCH_K - 1) as f64 / kth.max(f64::MIN_POSITIVE)).round() as u64
    }

    /// Whether [`count`](Self::count) is exact.
    pub fn is_exact(&self) -> bool {
        self.reduced().len() < SKETCH_K
    }
}

/// SplitMix64's finaliser: spreads small run keys over 64 bits.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// What is known of one pattern's occurrences over a span.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PatternState {
    pub occurrences: u64,
    pub first_ms: i64,
    pub last_ms: i64,
    /// Per class: occurrences and the sum of their confidences in millionths
    /// ([`CONFIDENCE_SCALE`]).
    pub classes: [(u64, u64); CLASSES],
    /// Per class: the signals that fired.
    pub signal_bits: [u8; CLASSES],
    /// Per retry state (see [`RetryState::code`]).
    pub retry: [u64; RETRY_STATES],
    pub templates: HashMap<u32, u64>,
    pub contexts: HashMap<u32, u64>,
    /// Recorded `error_type` ids (0: none recorded).
    pub recorded: HashMap<u32, u64>,
    /// Run → its latest occurrence, for the runs with the latest occurrences.
    pub recent_runs: HashMap<u32, i64>,
    pub runs: RunSketch,
}

impl PatternState {
    /// Adds one occurrence (unbounded until [`compact`](Self::compact)).
    pub fn push(&mut self, o: &Occurrence) {
        self.span(o.ts_ms, o.ts_ms);
        self.occurrences += 1;
        let last = self.recent_runs.entry(o.run).or_insert(o.ts_ms);
        *last = (*last).max(o.ts_ms);
        self.runs.insert(o.run);
        *self.templates.entry(o.template).or_default() += 1;
        *self.contexts.entry(o.context).or_default() += 1;
        let slot = &mut self.classes[o.class.code() as usize];
        slot.0 += 1;
        slot.1 += (o.class_confidence.clamp(0.0, 1.0) * CONFIDENCE_SCALE).round() as u64;
        self.signal_bits[o.class.code() as usize] |= o.signal_bits;
        self.retry[o.retry.code() as usize] += 1;
        *self.recorded.entry(o.recorded).or_default() += 1;
    }

    fn span(&mut self, first: i64, last: i64) {
        if self.occurrences == 0 {
            (self.first_ms, self.last_ms) = (first, last);
        } else {
            self.first_ms = self.first_ms.min(first);
            self.last_ms = self.last_ms.max(last);
        }
    }

    /// Adds another span's state (unbounded until [`compact`](Self::compact)).
    pub fn merge(&mut self, other: &PatternState) {
        if other.occurrences == 0 {
            return;
        }
        self.span(other.first_ms, other.last_ms);
        self.occurrences += other.occurrences;
        for (a, b) in self.classes.iter_mut().zip(&other.classes) {
            a.0 += b.0;
            a.1 += b.1;
        }
        for (a, b) in self.signal_bits.iter_mut().zip(&other.signal_bits) {
            *a |= b;
        }
        for (a, b) in self.retry.iter_mut().zip(&other.retry) {
            *a += b;
        }
        for (map, from) in [
            (&mut self.templates, &other.templates),
            (&mut self.contexts, &other.contexts),
            (&mut self.recorded, &other.recorded),
        ] {
            for (k, n) in from {
                *map.entry(*k).or_default() += n;
            }
        }
        for (run, ts) in &other.recent_runs {
            let last = self.recent_runs.entry(*run).or_insert(*ts);
            *last = (*last).max(*ts);
        }
        self.runs.merge(&other.runs);
    }

    /// Moves one occurrence from retry state `from` to `to` (its retry evidence arrived later).
    pub fn move_retry(&mut self, from: RetryState, to: RetryState, n: u64) {
        let from = &mut self.retry[from.code() as usize];
        let moved = n.min(*from);
        *from -= moved;
        self.retry[to.code() as usize] += moved;
    }

    /// Keeps the bounded parts within their caps.
    pub fn compact(&mut self) {
        self.runs.normalize();
        for map in [&mut self.templates, &mut self.contexts, &mut self.recorded] {
            keep_top(map, MAP_CAP, |(k, n)| (std::cmp::Reverse(*n), *k));
        }
        keep_top(&mut self.recent_runs, RECENT_RUNS_CAP, |(run, ts)| {
            (std::cmp::Reverse(*ts), *run)
        });
    }

    /// Runs with the latest occurrences, latest first (ties: smaller key).
    pub fn latest_runs(&self) -> Vec<u32> {
        let mut runs: Vec<(u32, i64)> = self.recent_runs.iter().map(|(r, t)| (*r, *t)).collect();
        runs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        runs.into_iter()
            .take(RECENT_RUNS_CAP)
            .map(|(r, _)| r)
            .collect()
    }

    /// The compact byte form kept by the index (compacts first).
    pub fn encode(&mut self) -> Vec<u8> {
        self.compact();
        let mut out = vec![FORMAT];
        put(&mut out, self.occurrences);
        put_signed(&mut out, self.first_ms);
        put_signed(&mut out, self.last_ms);
        let classes: Vec<usize> = (0..CLASSES)
            .filter(|i| self.classes[*i].0 > 0 || self.signal_bits[*i] != 0)
            .collect();
        put(&mut out, classes.len() as u64);
        for i in classes {
            out.push(i as u8);
            put(&mut out, self.classes[i].0);
            put(&mut out, self.classes[i].1);
            out.push(self.signal_bits[i]);
        }
        for n in self.retry {
            put(&mut out, n);
        }
        for map in [&self.templates, &self.contexts, &self.recorded] {
            let mut entries: Vec<(u32, u64)> = map.iter().map(|(k, n)| (*k, *n)).collect();
            entries.sort_unstable();
            put(&mut out, entries.len() as u64);
            for (k, n) in entries {
                put(&mut out, u64::from(k));
                put(&mut out, n);
            }
        }
        let mut runs: Vec<(u32, i64)> = self.recent_runs.iter().map(|(r, t)| (*r, *t)).collect();
        runs.sort_unstable();
        put(&mut out, runs.len() as u64);
        for (r, t) in runs {
            put(&mut out, u64::from(r));
            put_signed(&mut out, t);
        }
        put(&mut out, self.runs.hashes.len() as u64);
        let mut prev = 0u64;
        for h in &self.runs.hashes {
            put(&mut out, h - prev);
            prev = *h;
        }
        out
    }

    /// Reads [`encode`](Self::encode)'s form; `None` for bytes it did not write.
    pub fn decode(bytes: &[u8]) -> Option<PatternState> {
        let mut r = Reader { bytes, at: 0 };
        if r.byte()? != FORMAT {
            return None;
        }
        let mut s = PatternState {
            occurrences: r.uint()?,
            first_ms: r.int()?,
            last_ms: r.int()?,
            ..PatternState::default()
        };
        for _ in 0..r.len(CLASSES)? {
            let i = usize::from(r.byte()?);
            let count = r.uint()?;
            let conf = r.uint()?;
            let bits = r.byte()?;
            let slot = s.classes.get_mut(i)?;
            *slot = (count, conf);
            s.signal_bits[i] = bits;
        }
        for n in s.retry.iter_mut() {
            *n = r.uint()?;
        }
        for map in [&mut s.templates, &mut s.contexts, &mut s.recorded] {
            for _ in 0..r.len(MAP_CAP)? {
                let k = u32::try_from(r.uint()?).ok()?;
                map.insert(k, r.uint()?);
            }
        }
        for _ in 0..r.len(RECENT_RUNS_CAP)? {
            let run = u32::try_from(r.uint()?).ok()?;
            s.recent_runs.insert(run, r.int()?);
        }
        let mut h = 0u64;
        for _ in 0..r.len(SKETCH_K)? {
            h = h.checked_add(r.uint()?)?;
            s.runs.hashes.push(h);
        }
        (r.at == bytes.len()).then_some(s)
    }
}

/// Keeps the `cap` smallest entries of `map` by `key`.
fn keep_top<V: Copy, K: Ord>(map: &mut HashMap<u32, V>, cap: usize, key: impl Fn(&(u32, V)) -> K) {
    if map.len() <= cap {
        return;
    }
    let mut entries: Vec<(u32, V)> = map.drain().collect();
    entries.sort_by_key(|e| key(e));
    entries.truncate(cap);
    map.extend(entries);
}

fn put(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_signed(out: &mut Vec<u8>, v: i64) {
    put(out, ((v << 1) ^ (v >> 63)) as u64);
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn uint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f).checked_shl(shift)?;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    fn int(&mut self) -> Option<i64> {
        let u = self.uint()?;
        Some(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    /// A length prefix, refused above `cap`.
    fn len(&mut self, cap: usize) -> Option<usize> {
        usize::try_from(self.uint()?).ok().filter(|n| *n <= cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn occ(run: u32, ts: i64, template: u32, retry: RetryState) -> Occurrence {
        Occurrence {
            pattern: 1,
            run,
            ts_ms: ts,
            class: FailureClass::NotFound,
            class_confidence: 0.5,
            signal_bits: 0b10,
            template,
            context: template + 100,
            retry,
            recorded: 0,
        }
    }

    #[test]
    fn merging_spans_equals_pushing_everything() {
        let all: Vec<Occurrence> = (0..300u32)
            .map(|i| occ(i % 37, 1_000 + i64::from(i) * 7, i % 5, RetryState::Pending))
            .collect();
        let mut whole = PatternState::default();
        all.iter().for_each(|o| whole.push(o));
        let mut merged = PatternState::default();
        for part in all.chunks(41) {
            let mut s = PatternState::default();
            part.iter().for_each(|o| s.push(o));
            // Through the stored form, as the index keeps it.
            merged.merge(&PatternState::decode(&s.encode()).unwrap());
            merged.compact();
        }
        whole.compact();
        assert_eq!(merged.occurrences, 300);
        assert_eq!((merged.first_ms, merged.last_ms), (1_000, 1_000 + 299 * 7));
        assert_eq!(merged.templates, whole.templates);
        assert_eq!(merged.runs.count(), 37);
        assert_eq!(merged.latest_runs(), whole.latest_runs());
        assert_eq!(
            merged.classes[FailureClass::NotFound.code() as usize].0,
            300
        );
        assert_eq!(
            merged.classes[FailureClass::NotFound.code() as usize].1,
            150 * CONFIDENCE_SCALE as u64
        );
        assert_eq!(merged.signal_bits, whole.signal_bits);
    }

    #[test]
    fn encoding_round_trips_and_refuses_foreign_bytes() {
        let mut s = PatternState::default();
        s.push(&occ(3, -5, 1, RetryState::Pending));
        s.push(&occ(4, i64::MAX / 2, 2, RetryState::Pending));
        let bytes = s.encode();
        assert_eq!(PatternState::decode(&bytes), Some(s));
        assert_eq!(PatternState::decode(&[]), None);
        assert_eq!(PatternState::decode(&bytes[..bytes.len() - 1]), None);
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(PatternState::decode(&longer), None);
        assert_eq!(PatternState::decode(&[FORMAT, 0xff, 0xff]), None);
    }

    #[test]
    fn parts_stay_bounded() {
        let mut s = PatternState::default();
        for i in 0..5_000u32 {
            s.push(&occ(i, i64::from(i), i, RetryState::Pending));
        }
        let bytes = s.encode();
        assert_eq!(s.templates.len(), MAP_CAP);
        assert_eq!(s.contexts.len(), MAP_CAP);
        assert_eq!(s.recent_runs.len(), RECENT_RUNS_CAP);
        assert_eq!(s.latest_runs()[0], 4_999);
        // The sketch estimates 5,000 distinct runs within a few percent.
        let n = s.runs.count() as f64;
        assert!(!s.runs.is_exact());
        assert!((n - 5_000.0).abs() / 5_000.0 < 0.1, "{n}");
        assert!(bytes.len() < 16_000, "{}", bytes.len());
    }

    #[test]
    fn the_sketch_is_exact_below_its_size_and_merges_as_a_union() {
        let mut a = RunSketch::default();
        let mut b = RunSketch::default();
        (0..600).for_each(|r| a.insert(r));
        (400..1_000).for_each(|r| b.insert(r));
        a.merge(&b);
        assert!(a.is_exact());
        assert_eq!(a.count(), 1_000);
        (0..1_000).for_each(|r| a.insert(r));
        assert_eq!(a.count(), 1_000);
    }

    #[test]
    fn retry_evidence_moves_between_states() {
        let mut s = PatternState::default();
        s.push(&occ(1, 1, 1, RetryState::Pending));
        s.push(&occ(1, 2, 1, RetryState::Pending));
        s.move_retry(RetryState::Pending, RetryState::Recovered, 1);
        assert_eq!(s.retry[RetryState::Pending.code() as usize], 1);
        assert_eq!(s.retry[RetryState::Recovered.code() as usize], 1);
        // Never below zero, whatever it is told.
        s.move_retry(RetryState::MovedOn, RetryState::Recovered, 3);
        assert_eq!(s.retry.iter().sum::<u64>(), 2);
    }
}
