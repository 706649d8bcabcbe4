//! Message normalisation and online template mining for tool error messages.
//!
//! One recorded error label (`tool_error`, `Unknown`) often hides dozens of distinct
//! failures. This module turns raw messages into *templates* — the constant text with the
//! variable parts replaced — so that "the same error with a different path" is counted once.
//!
//! # Normalisation ([`normalize`])
//!
//! The message is scanned once, left to right, word by word (a word is a run of non-blank
//! characters; runs of blanks collapse to one space). Leading brackets/quotes and trailing
//! punctuation (`([{<` … `)]}>,;.:!?`) are kept around the word and only the core is
//! classified. The first rule that fits wins:
//!
//! | mask | what it replaces |
//! | --- | --- |
//! | `<QUOTED>` | a `"…"`, `'…'` or `` `…` `` span that starts a word (or follows `=([{:,`) and closes before a word boundary, up to 256 bytes, blanks allowed; if its content is a single value of another kind below (a path, URL, number…) that mask is used instead, quotes dropped; a quoted HTTP request line (`"GET /a HTTP/1.1"`) keeps its quotes and is normalised inside |
//! | `<URL>` | `scheme://…` |
//! | `<EMAIL>` | `local@domain.tld` |
//! | `<UUID>` | `8-4-4-4-12` hex digits |
//! | `<TS>` | dates `2024-01-31`, `2024/01/31`, ISO instants `2024-01-31T10:00:00.5Z`, clock times `10:00`, `10:00:00,123`; dates with a month name and a time or a year (`Fri Jun 17 07:07:00 2005`, `Jun 17 07:07:00`, `Fri, 17 Jun 2005 07:07:00 +0000`); adjacent `<TS>` words collapse into one |
//! | `<IP>` | IPv4 and IPv6 literals, optionally `[…]`-bracketed and with `:port`; a leading `/` is kept (`/<IP>`) |
//! | `<PATH>` | words starting `/`, `./`, `../`, `~/`, `C:\`, `\\`, or containing `/` or `\` with two separators or a file extension (`src/main.rs`), optionally followed by `:line[:col]` |
//! | `<HOST>` | `name:port` for `localhost` or a dotted name, and dotted names ending in a common top-level domain (`api.example.com`) |
//! | `<HEX>` | `0x…`, runs of ≥ 7 hex digits with both a digit and a letter (hashes, addresses), MAC addresses `5c:50:15:4c:18:13` |
//! | `<DUR>` | a number with a time unit: `30s`, `1500ms`, `2.5min`, `1h30m` |
//! | `<NUM>` | any other number (sign, decimals, dotted versions, size units such as `10MB`, `%` kept) not glued to a letter: `node-42` → `node-<NUM>`, `HWID=7` → `HWID=<NUM>`, `blk_-12` → `blk_<NUM>` |
//!
//! A plain number followed by a separate unit word is one value: a time unit (`30 seconds`,
//! `5 min`, `200 ms`) gives `<DUR>`, a size unit (`5.00 KB`, `12 MiB`) gives `<NUM>`.
//!
//! `key=value` words are split at the first `=` and the value classified on its own, with
//! the key as its context. Inside a word that is not a whole value, a UUID or a run of 16 or
//! more hex digits is masked whole (`req-<UUID>`, `sha256:<HEX>`), then digit runs as above.
//!
//! What stays verbatim, because it *is* the error: words made of letters (`ENOENT`,
//! `EACCES`, `SIGKILL`, `ECONNREFUSED`), digits glued to letters (`E0308`, `E404`, `ssh2`),
//! and numbers in a code context — after `exit`, `code`, `status`, `signal`, `errno`,
//! `error`, `rc`, `http`/`HTTP/1.1` (also as `key=`), e.g. `exit code 137`, `os error 13`,
//! `HTTP 503`, `status=429` — or a 3-digit HTTP status followed by its reason phrase
//! (`404 Not Found`, `429 Too Many Requests`). A quoted *state word* (see below) stays too,
//! quotes included: `state 'Active'`.
//!
//! Normalisation is deterministic, linear in the message length (quoted spans are looked
//! for at most 256 bytes ahead) and writes into one output buffer.
//!
//! # Mining ([`TemplateMiner`])
//!
//! A Drain-style online clusterer (He et al., "Drain: An Online Log Parsing Approach with
//! Fixed Depth Tree", ICWS 2017), with the history-dependent parse tree replaced by an index
//! that is a pure function of the current templates, so that [`TemplateMiner::from_clusters`]
//! restores a miner that behaves exactly like the original:
//!
//! 1. The message is normalised and split into tokens ([`tokenize`]). Each token has a
//!    *kind*: a **value** holds a mask, [`WILDCARD`] or a digit, or is `true`, `false` or
//!    `null`; a **code** is an HTTP method (`GET`), a number that
//!    normalisation kept as an error code (`exit code 137`, `status=429`, `404 Not Found`),
//!    capitals glued to a number (`E0308`, `SOCKS5`), or an error name: a POSIX error
//!    (`ENOENT`), a signal (`SIGKILL`) or an upper-case constant with an underscore
//!    (`PERMISSION_DENIED`), alone or ending a dotted or `key=` token (`errno=EACCES`); a
//!    **key** is `key=value` with a value, whose `key=` is constant; everything else,
//!    including letters glued to one or two digits (`ssh2`, `eth0`) and compound names with an
//!    identifier among several parts (`[\_SB_.PCI0._PRT]`), is **constant** text. Letters
//!    then one or two digits also make an *indexed name* (`CPU0`, `eth1`, `IRQ9`): numbered
//!    devices, interfaces, lines; next to the same name with another index (`an14 an15`) it
//!    is a value, an item of a list.
//! 2. **Skeleton match.** The *skeleton* of a message or template is its constant and code
//!    tokens and the `key=` of its key tokens, in order. A template of the same partition with
//!    exactly the same skeleton is taken at once (one of the same length first, else the
//!    lowest id): the message has the same wording and differs only in its values, even when
//!    it has more or fewer of them: `sent 5 bytes` and `sent 5 bytes (5.00 KB)` share the
//!    skeleton `sent bytes` and end up in one template `sent <NUM> bytes <*>`. This is what
//!    lets messages of variable length share a template, which Drain cannot do.
//! 3. **Drain match.** Otherwise the candidates are the templates of the same partition,
//!    the same token count and the same routing token (the constant part of the first token,
//!    or [`WILDCARD`] when it is a value, an indexed name or a dotted name of three parts or
//!    more such as `com.example.sync.daily:`, the component that logged — Drain's first tree
//!    level).
//!    The similarity of a template `t` and the tokens `m` is the weighted share of positions
//!    where they agree:
//!    constant words and codes weigh [`CONST_WEIGHT`], everything else (values, punctuation)
//!    weighs 1; a position where the template already has [`WILDCARD`] counts half, and so
//!    do two *different values* (tokens made only of masks, digits and punctuation, such as
//!    `<IP>` and `<HOST>`, or two values of the same key), and so does one indexed name with
//!    two indices (`[CPU0]` and `[CPU1]`: the index is a value). A candidate is rejected
//!    outright when a code differs (`exit code 1` never joins `exit code 137`: different codes are
//!    different errors), when [`MAX_CONST_DIFFS`] positions hold two different constants —
//!    that is different wording, not a value — or when the last tokens are two different
//!    sentence-final words (letters closed by a full stop: `by client SPP.` never joins
//!    `by client WindowsUpdateAgent.`), when a position holds two different *state words*
//!    (`up`/`down`, `On`/`Off`, `started`/`stopped`, `enabled`/`disabled`, `yes`/`no`,
//!    `ok`/`error`…, a fixed list of about 120 words, also quoted or after `=`, `[` or
//!    `(`) or two indexed names of different short families (`on en0`, `on awdl0`), and when
//!    one different constant comes with a value of another shape elsewhere (`en0: channel
//!    changed to 1` never joins `en0: BSSID changed to <HEX>`; values of one key, and
//!    `<IP>`/`<HOST>`, are one shape). The most similar remaining candidate wins
//!    (ties: more wildcards, then the lower id) if its similarity reaches
//!    [`SIMILARITY_THRESHOLD`].
//! 4. On a match, differing positions become [`WILDCARD`] (a shared `key=` prefix is kept:
//!    `user=<*>`); after a skeleton match of another length, each run of variable tokens
//!    between two constant parts is merged position by position when both runs have the
//!    same length and becomes a single [`WILDCARD`] otherwise. Without a match a new cluster is
//!    created with the next id.
//!
//! Defaults are fixed for every source — no per-source tuning. Per message the cost is
//! linear in its length plus one hash look-up and a scan of the templates sharing its
//! length and routing token.
//!
//! # Restart invariant
//!
//! Matching and updating read only the cluster list, so exporting [`TemplateMiner::clusters`]
//! and rebuilding with [`TemplateMiner::from_clusters`] at any point gives the same ids and
//! templates afterwards as carrying on with the original miner.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// The token that stands for a variable position in a template.
pub const WILDCARD: &str = "<*>";

/// Minimum similarity for a message to join an existing cluster.
pub const SIMILARITY_THRESHOLD: f64 = 0.5;

/// Weight of a position whose template token is a constant word (letters only).
pub const CONST_WEIGHT: f64 = 2.0;

/// A message never joins a template it differs from in this many constant tokens: one
/// different word can be a value (`user alice`, `user bob`), two are different wording.
pub const MAX_CONST_DIFFS: usize = 2;

/// Longest quoted span (in bytes, quotes included) that is masked as one value.
const MAX_QUOTED: usize = 256;

/// One template: the tokens of its generalised message and how many messages it absorbed.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Cluster {
    /// 1-based, sequential in creation order.
    pub id: u32,
    /// The partition key the cluster lives in (the analysis uses `"tool\u{1f}class"`).
    pub partition: String,
    /// Template tokens; variable positions are [`WILDCARD`].
    pub tokens: Vec<String>,
    /// Number of messages added to this cluster.
    pub size: u64,
}

/// What [`TemplateMiner::add`] did with a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mined {
    /// The cluster the message belongs to.
    pub cluster_id: u32,
    /// True when the cluster is new or its template was generalised by this message.
    pub changed: bool,
}

/// Online template miner; see the module documentation for the algorithm.
#[derive(Clone, Debug, Default)]
pub struct TemplateMiner {
    clusters: Vec<Cluster>,
    /// partition → lookup tables; a pure function of `clusters`.
    index: HashMap<String, PartitionIndex>,
}

/// The lookup tables of one partition. Id lists are kept ascending.
#[derive(Clone, Debug, Default)]
struct PartitionIndex {
    /// (token count, routing token) → cluster ids.
    by_shape: HashMap<(usize, String), Vec<u32>>,
    /// Constant skeleton → cluster ids (templates with at least one constant token).
    by_skeleton: HashMap<String, Vec<u32>>,
}

impl TemplateMiner {
    /// An empty miner with the default parameters ([`SIMILARITY_THRESHOLD`],
    /// [`CONST_WEIGHT`]); the same for every source.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one raw message under a partition key (the analysis uses `"tool\u{1f}class"`);
    /// messages in different partitions never share a cluster.
    pub fn add(&mut self, partition: &str, message: &str) -> Mined {
        self.add_normalized(partition, &normalize(message))
    }

    /// [`add`](Self::add) for a message already passed through [`normalize`] (callers that
    /// need the normalised text too normalise once).
    pub fn add_normalized(&mut self, partition: &str, normalized: &str) -> Mined {
        let tokens = tokenize(normalized);
        match self.best_match(partition, &tokens) {
            Some(id) => {
                let changed = self.absorb(id, &tokens);
                Mined {
                    cluster_id: id,
                    changed,
                }
            }
            None => {
                let id = self.push_cluster(partition, tokens);
                Mined {
                    cluster_id: id,
                    changed: true,
                }
            }
        }
    }

    /// Like [`add`](Self::add) but never mutates: the cluster a message would match, if any.
    pub fn match_message(&self, partition: &str, message: &str) -> Option<u32> {
        let tokens = tokenize(&normalize(message));
        self.best_match(partition, &tokens)
    }

    /// The template of a cluster: its tokens joined by single spaces.
    pub fn template(&self, cluster_id: u32) -> Option<String> {
        self.cluster(cluster_id).map(|c| c.tokens.join(" "))
    }

    /// All clusters in id order; ids are `1..` and sequential.
    pub fn clusters(&self) -> &[Cluster] {
        &self.clusters
    }

    /// Rebuilds a miner from exported clusters (persisted by the index between restarts).
    ///
    /// Clusters are sorted by id; new clusters get ids after the largest one.
    pub fn from_clusters(mut clusters: Vec<Cluster>) -> Self {
        clusters.sort_by_key(|c| c.id);
        let mut miner = Self {
            clusters: Vec::with_capacity(clusters.len()),
            index: HashMap::new(),
        };
        for cluster in clusters {
            miner.index_insert(cluster.id, &cluster.partition, &cluster.tokens);
            miner.clusters.push(cluster);
        }
        miner
    }

    fn position(&self, id: u32) -> Option<usize> {
        match (id as usize)
            .checked_sub(1)
            .and_then(|i| self.clusters.get(i))
        {
            Some(c) if c.id == id => Some(id as usize - 1),
            _ => self.clusters.binary_search_by_key(&id, |c| c.id).ok(),
        }
    }

    fn cluster(&self, id: u32) -> Option<&Cluster> {
        self.position(id).and_then(|i| self.clusters.get(i))
    }

    fn index_insert(&mut self, id: u32, partition: &str, tokens: &[String]) {
        let part = match self.index.get_mut(partition) {
            Some(p) => p,
            None => self.index.entry(partition.to_owned()).or_default(),
        };
        let kinds = kinds(tokens);
        let shape = (tokens.len(), route_key(tokens, &kinds).to_owned());
        insert_sorted(part.by_shape.entry(shape).or_default(), id);
        let skeleton = skeleton(tokens, &kinds);
        if !skeleton.is_empty() {
            insert_sorted(part.by_skeleton.entry(skeleton).or_default(), id);
        }
    }

    fn index_remove(&mut self, id: u32, partition: &str, tokens: &[String]) {
        let Some(part) = self.index.get_mut(partition) else {
            return;
        };
        let kinds = kinds(tokens);
        let shape = (tokens.len(), route_key(tokens, &kinds).to_owned());
        if let Some(ids) = part.by_shape.get_mut(&shape) {
            ids.retain(|&x| x != id);
            if ids.is_empty() {
                part.by_shape.remove(&shape);
            }
        }
        let skeleton = skeleton(tokens, &kinds);
        if let Some(ids) = part.by_skeleton.get_mut(&skeleton) {
            ids.retain(|&x| x != id);
            if ids.is_empty() {
                part.by_skeleton.remove(&skeleton);
            }
        }
    }

    fn push_cluster(&mut self, partition: &str, tokens: Vec<String>) -> u32 {
        let id = self.clusters.last().map_or(1, |c| c.id + 1);
        self.index_insert(id, partition, &tokens);
        self.clusters.push(Cluster {
            id,
            partition: partition.to_owned(),
            tokens,
            size: 1,
        });
        id
    }

    /// Merges `tokens` into cluster `id`; returns whether the template changed.
    fn absorb(&mut self, id: u32, tokens: &[String]) -> bool {
        let Some(pos) = self.position(id) else {
            return false;
        };
        let Some(cluster) = self.clusters.get_mut(pos) else {
            return false;
        };
        cluster.size += 1;
        let merged = if cluster.tokens.len() == tokens.len()
            && !same_words_elsewhere(&cluster.tokens, tokens)
        {
            if cluster
                .tokens
                .iter()
                .zip(tokens)
                .all(|(t, m)| token_matches(t, m))
            {
                return false;
            }
            cluster
                .tokens
                .iter()
                .zip(tokens)
                .map(|(t, m)| merge_token(t, m))
                .collect()
        } else {
            merge_by_skeleton(&cluster.tokens, tokens)
        };
        if merged == cluster.tokens {
            return false;
        }
        let old = std::mem::replace(&mut cluster.tokens, merged);
        let partition = cluster.partition.clone();
        self.index_remove(id, &partition, &old);
        if let Some(new) = self.clusters.get(pos).map(|c| c.tokens.clone()) {
            self.index_insert(id, &partition, &new);
        }
        true
    }

    fn best_match(&self, partition: &str, tokens: &[String]) -> Option<u32> {
        let part = self.index.get(partition)?;
        // 1. Same constant words in the same order: the same message shape whatever the
        //    number of variable tokens. Prefer a template of the same length.
        let kinds = kinds(tokens);
        let skeleton = skeleton(tokens, &kinds);
        if !skeleton.is_empty()
            && let Some(ids) = part.by_skeleton.get(&skeleton)
        {
            let same_len = ids.iter().copied().find(|&id| {
                self.cluster(id)
                    .is_some_and(|c| c.tokens.len() == tokens.len())
            });
            if let Some(id) = same_len.or_else(|| ids.first().copied()) {
                return Some(id);
            }
        }
        // 2. Drain: same length and routing token, most similar template above the threshold.
        let ids = part
            .by_shape
            .get(&(tokens.len(), route_key(tokens, &kinds).to_owned()))?;
        let mut best: Option<(f64, usize, u32)> = None;
        for &id in ids {
            let Some(cluster) = self.cluster(id) else {
                continue;
            };
            let (sim, wildcards) = similarity(&cluster.tokens, tokens, &kinds);
            if sim < SIMILARITY_THRESHOLD {
                continue;
            }
            let better = match best {
                None => true,
                Some((bs, bw, _)) => sim > bs || (sim == bs && wildcards > bw),
            };
            if better {
                best = Some((sim, wildcards, id));
            }
        }
        best.map(|(_, _, id)| id)
    }
}

fn insert_sorted(ids: &mut Vec<u32>, id: u32) {
    if let Err(at) = ids.binary_search(&id) {
        ids.insert(at, id);
    }
}

/// What a template position holds, for matching.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Constant text: words, punctuation, identifiers such as `ssh2`.
    Const,
    /// An error code normalisation keeps (`137` in `exit code 137`, `E0308`): constant,
    /// and a template never generalises it away.
    Code,
    /// `key=value` with a variable value: the first `usize` bytes (`key=`) are constant.
    Key(usize),
    /// A value: a mask, a wildcard, or a number.
    Var,
}

/// The kind of every token; see [`kind_at`].
fn kinds(tokens: &[String]) -> Vec<Kind> {
    (0..tokens.len()).map(|i| kind_at(tokens, i)).collect()
}

/// The kind of `tokens[i]`. A token with a mask, a wildcard or a digit is a value, except
/// the error codes that normalisation keeps — a number in a code context (`exit code 137`,
/// `status=429`, `404 Not Found`) or capitals glued to a number (`E0308`, `SOCKS5`) — and
/// identifiers that glue letters to one or two digits (`ssh2`, `eth0`), which are constant
/// text. A `key=value` token with a variable value keeps its key.
fn kind_at(tokens: &[String], i: usize) -> Kind {
    let Some(t) = tokens.get(i) else {
        return Kind::Var;
    };
    let key = key_len(t);
    let (_, core, _) = split_punct(t);
    if is_http_method(core) || is_error_name(core) {
        return Kind::Code;
    }
    if is_boolean(core) {
        return Kind::Var;
    }
    if let Some(k) = key
        && is_boolean(split_punct(&t[k..]).1)
    {
        return Kind::Key(k);
    }
    if holds_mask(t) {
        return match key {
            Some(k) if !holds_mask(&t[..k]) => Kind::Key(k),
            _ => Kind::Var,
        };
    }
    if !t.bytes().any(|b| b.is_ascii_digit()) {
        return Kind::Const;
    }
    if let Some(k) = key {
        let (_, name, _) = split_punct(&t[..k - 1]);
        if is_code_context(name) {
            return Kind::Code;
        }
        return match identifier_kind(&t[k..]) {
            Some(kind) => kind,
            None => Kind::Key(k),
        };
    }
    if code_number_in_context(tokens, i) {
        return Kind::Code;
    }
    // `an14 an15 an16`: a list of one indexed name is a list of values.
    if indexed_name(t).is_some() && in_name_list(tokens, i) {
        return Kind::Var;
    }
    identifier_kind(t).unwrap_or(Kind::Var)
}

/// Whether `tokens[i]`, an indexed name, stands next to the same name with another index.
fn in_name_list(tokens: &[String], i: usize) -> bool {
    let t = &tokens[i];
    let neighbour = |j: usize| {
        tokens
            .get(j)
            .is_some_and(|n| n != t && same_indexed_name(n, t))
    };
    (i > 0 && neighbour(i - 1)) || neighbour(i + 1)
}

/// POSIX error names (`errno`), as programs print them.
const ERRNO_NAMES: &[&str] = &[
    "E2BIG",
    "EACCES",
    "EADDRINUSE",
    "EADDRNOTAVAIL",
    "EAFNOSUPPORT",
    "EAGAIN",
    "EALREADY",
    "EBADF",
    "EBADMSG",
    "EBUSY",
    "ECANCELED",
    "ECHILD",
    "ECONNABORTED",
    "ECONNREFUSED",
    "ECONNRESET",
    "EDEADLK",
    "EDESTADDRREQ",
    "EDOM",
    "EDQUOT",
    "EEXIST",
    "EFAULT",
    "EFBIG",
    "EHOSTDOWN",
    "EHOSTUNREACH",
    "EIDRM",
    "EILSEQ",
    "EINPROGRESS",
    "EINTR",
    "EINVAL",
    "EIO",
    "EISCONN",
    "EISDIR",
    "ELOOP",
    "EMFILE",
    "EMLINK",
    "EMSGSIZE",
    "ENAMETOOLONG",
    "ENETDOWN",
    "ENETRESET",
    "ENETUNREACH",
    "ENFILE",
    "ENOBUFS",
    "ENODATA",
    "ENODEV",
    "ENOENT",
    "ENOEXEC",
    "ENOLCK",
    "ENOMEM",
    "ENOMSG",
    "ENOPROTOOPT",
    "ENOSPC",
    "ENOSYS",
    "ENOTCONN",
    "ENOTDIR",
    "ENOTEMPTY",
    "ENOTSOCK",
    "ENOTSUP",
    "ENOTTY",
    "ENXIO",
    "EOPNOTSUPP",
    "EOVERFLOW",
    "EPERM",
    "EPIPE",
    "EPROTO",
    "EPROTONOSUPPORT",
    "EPROTOTYPE",
    "ERANGE",
    "EROFS",
    "ESHUTDOWN",
    "ESPIPE",
    "ESRCH",
    "ESTALE",
    "ETIMEDOUT",
    "ETXTBSY",
    "EWOULDBLOCK",
    "EXDEV",
];

/// An error name that a program prints instead of a number, so it *is* the error: a POSIX
/// error name (`ENOENT`, `ECONNREFUSED`), a signal name (`SIGKILL`, `SIGSEGV`), or an
/// upper-case constant with an underscore (`PERMISSION_DENIED`, `ERROR_FILE_NOT_FOUND`),
/// alone or as the last part of a dotted or `key=`/`key:` token (`errno=ENOENT`,
/// `reason:DEADLINE_EXCEEDED`).
fn is_error_name(core: &str) -> bool {
    let name = core.rsplit(['=', ':', '.']).next().unwrap_or(core);
    let b = name.as_bytes();
    if b.len() < 3 || !b[0].is_ascii_uppercase() {
        return false;
    }
    if ERRNO_NAMES.binary_search(&name).is_ok() {
        return true;
    }
    if let Some(sig) = name.strip_prefix("SIG") {
        return (2..=6).contains(&sig.len())
            && sig
                .bytes()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    }
    b.len() >= 4
        && name.contains('_')
        && !name.starts_with('_')
        && !name.ends_with('_')
        && !name.contains("__")
        && b.iter()
            .all(|&c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_')
}

/// `true`, `false`, `null`: values, whatever their case.
fn is_boolean(w: &str) -> bool {
    ["true", "false", "null"]
        .iter()
        .any(|b| w.eq_ignore_ascii_case(b))
}

/// Length of the `key=` prefix of a `key=value` token (leading brackets allowed), if any.
fn key_len(t: &str) -> Option<usize> {
    let b = t.as_bytes();
    let mut i = 0;
    while i < b.len() && matches!(b[i], b'(' | b'[' | b'{' | b'"' | b'\'' | b'`') {
        i += 1;
    }
    let start = i;
    while i < b.len() && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'-' | b'.')) {
        i += 1;
    }
    (i > start && b.get(i) == Some(&b'=') && b[start..i].iter().any(u8::is_ascii_alphabetic))
        .then_some(i + 1)
}

/// A plain number token that normalisation keeps as an error code: after a code word
/// (`exit code 137`, `HTTP/1.1 500`) or a 3-digit HTTP status before its reason phrase.
fn code_number_in_context(tokens: &[String], i: usize) -> bool {
    let Some(t) = tokens.get(i) else {
        return false;
    };
    let (_, core, _) = split_punct(t);
    let digits = core.trim_start_matches(['-', '+']);
    if digits.is_empty() || digits.len() > 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let prev_is_code = i > 0
        && tokens
            .get(i - 1)
            .is_some_and(|p| is_code_context(split_punct(p).1));
    prev_is_code
        || (digits.len() == 3
            && !core.starts_with(['-', '+'])
            && (100..=599).contains(&digits.parse::<u32>().unwrap_or(0))
            && tokens.get(i + 1).is_some_and(|n| is_reason_word(n)))
}

/// The kind of a token whose only run of letters and digits holding a digit is an
/// identifier: up to six capitals then one to six digits is a [`Kind::Code`] (`E0308`,
/// `TS2345`, `SOCKS5`); other letters then one or two digits is [`Kind::Const`] (`ssh2`,
/// `eth0`, `IPv6`). Anything else with a digit is a value (`None`).
fn identifier_kind(t: &str) -> Option<Kind> {
    let parts = || {
        t.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|r| !r.is_empty())
    };
    let mut runs = parts().filter(|r| r.bytes().any(|b| b.is_ascii_digit()));
    let run = runs.next()?;
    if runs.next().is_some() {
        return None;
    }
    // A compound name with an identifier among several parts (`[\_SB_.PCI0.PALO._PRT]`,
    // `domains:node-D4`) is constant text, not an error code.
    let compound = parts().count() > 2;
    let b = run.as_bytes();
    let letters = b
        .iter()
        .take_while(|c| c.is_ascii_alphabetic() || **c == b'_')
        .count();
    let digits = &b[letters..];
    if letters == 0 || digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if !compound
        && letters <= 6
        && digits.len() <= 6
        && b[..letters].iter().all(u8::is_ascii_uppercase)
    {
        Some(Kind::Code)
    } else if digits.len() <= 2 || compound {
        Some(Kind::Const)
    } else {
        None
    }
}

/// Whether a token is only a value: masks, digits and punctuation, no letters outside masks.
fn is_pure_variable(t: &str) -> bool {
    let b = t.as_bytes();
    let mut any = false;
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'<' {
            let mut j = i + 1;
            while j < b.len() && (b[j].is_ascii_uppercase() || b[j] == b'*') {
                j += 1;
            }
            if j > i + 1 && j < b.len() && b[j] == b'>' {
                any = true;
                i = j + 1;
                continue;
            }
        }
        if b[i].is_ascii_digit() {
            any = true;
        } else if b[i].is_ascii_alphabetic() || b[i] >= 0x80 {
            return false;
        }
        i += 1;
    }
    any
}

/// Whether a token contains a mask such as `<NUM>` or `<*>`.
fn holds_mask(t: &str) -> bool {
    let b = t.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'<' {
            let mut j = i + 1;
            while j < b.len() && (b[j].is_ascii_uppercase() || b[j] == b'*') {
                j += 1;
            }
            if j > i + 1 && j < b.len() && b[j] == b'>' {
                return true;
            }
        }
        i += 1;
    }
    false
}

/// The constant parts of a message or template, in order, joined by spaces: constant
/// tokens whole, and the `key=` of a `key=value` token with a variable value.
fn skeleton(tokens: &[String], kinds: &[Kind]) -> String {
    let mut s = String::new();
    for (t, k) in tokens.iter().zip(kinds) {
        let part = match *k {
            Kind::Const | Kind::Code => t.as_str(),
            Kind::Key(n) => &t[..n],
            Kind::Var => continue,
        };
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(part);
    }
    s
}

/// The routing token of a message: the constant part of its first token, or [`WILDCARD`]
/// when that is a value, as in Drain's parse tree.
fn route_key<'a>(tokens: &'a [String], kinds: &[Kind]) -> &'a str {
    match (tokens.first(), kinds.first()) {
        // An indexed name (`eth0:`, `IRQ9`) routes like a value: its index varies. So does a
        // dotted name (`com.example.daily:`, `org.example.Worker`): the component that logged.
        (Some(t), Some(Kind::Const | Kind::Code))
            if indexed_name(t).is_some() || is_dotted_name(split_punct(t).1) =>
        {
            WILDCARD
        }
        (Some(t), Some(Kind::Const | Kind::Code)) => t,
        (Some(t), Some(Kind::Key(n))) => &t[..*n],
        (Some(_), _) => WILDCARD,
        (None, _) => "",
    }
}

/// A dotted name of three parts or more (`com.example.sync.daily`, `org.example.Worker`):
/// letters, digits, `_` and `-` between dots, starting with a letter.
fn is_dotted_name(core: &str) -> bool {
    core.split('.').count() >= 3
        && core.starts_with(|c: char| c.is_ascii_alphabetic())
        && core.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
        })
}

/// Whether template token `t` accepts message token `m` as is.
fn token_matches(t: &str, m: &str) -> bool {
    if t == m || t == WILDCARD {
        return true;
    }
    // `key=<*>` accepts any `key=…`.
    match t.strip_suffix(WILDCARD) {
        Some(prefix) if prefix.ends_with('=') => m.starts_with(prefix),
        _ => false,
    }
}

/// The template token after absorbing message token `m`.
fn merge_token(t: &str, m: &str) -> String {
    if token_matches(t, m) {
        t.to_owned()
    } else {
        generalize(t, m)
    }
}

/// The wildcard that covers both tokens, keeping a shared `key=` prefix.
fn generalize(t: &str, m: &str) -> String {
    if let (Some(a), Some(b)) = (t.find('='), m.find('='))
        && a > 0
        && t[..=a] == m[..=b]
    {
        return format!("{}{WILDCARD}", &t[..=a]);
    }
    WILDCARD.to_owned()
}

/// Merges a message into a template of another length with the same skeleton: the
/// constants align one to one; runs of variable tokens between them are merged position by
/// position when they have the same length and become one [`WILDCARD`] otherwise.
/// Whether a template and a message of the same length have the same constant words in the
/// same order, but at other positions (`<NUM> <UUID> <NUM> out` and `out <NUM> <NUM> <UUID>`):
/// merging them position by position would turn those words into wildcards, and the message
/// would no longer match the template it was mined into, so they are merged by skeleton.
fn same_words_elsewhere(template: &[String], tokens: &[String]) -> bool {
    let (tk, mk) = (kinds(template), kinds(tokens));
    let is_var = |k: &Kind| *k == Kind::Var;
    tk.iter().zip(&mk).any(|(a, b)| is_var(a) != is_var(b)) && {
        let words = skeleton(template, &tk);
        !words.is_empty() && words == skeleton(tokens, &mk)
    }
}

fn merge_by_skeleton(template: &[String], tokens: &[String]) -> Vec<String> {
    let (tk, mk) = (kinds(template), kinds(tokens));
    let mut out = Vec::with_capacity(template.len().max(tokens.len()));
    let (mut i, mut j) = (0, 0);
    loop {
        let (i0, j0) = (i, j);
        while i < template.len() && tk[i] == Kind::Var {
            i += 1;
        }
        while j < tokens.len() && mk[j] == Kind::Var {
            j += 1;
        }
        let (run_t, run_m) = (&template[i0..i], &tokens[j0..j]);
        if run_t.len() == run_m.len() {
            out.extend(run_t.iter().zip(run_m).map(|(t, m)| merge_token(t, m)));
        } else {
            out.push(WILDCARD.to_owned());
        }
        match (template.get(i), tokens.get(j)) {
            (Some(t), Some(m)) => {
                out.push(merge_token(t, m));
                i += 1;
                j += 1;
            }
            (Some(_), None) => {
                // Not the same skeleton (cannot happen through `best_match`): keep the rest.
                out.extend(template[i..].iter().cloned());
                break;
            }
            _ => break,
        }
    }
    out
}

/// Similarity of a template and a message of the same length, and the template's wildcard
/// count (the tie-breaker).
fn similarity(template: &[String], tokens: &[String], mk: &[Kind]) -> (f64, usize) {
    if template.is_empty() {
        return (1.0, 0);
    }
    let mut total = 0.0;
    let mut same = 0.0;
    let mut wildcards = 0;
    // Positions where two different constants stand: different wording, not a value.
    let mut const_diffs = 0;
    // Positions where two values of different shapes stand (`1` and `<HEX>`,
    // `broadcast_<NUM>` and `broadcast_<NUM>_piece0`).
    let mut shape_diffs = 0;
    for (i, ((t, m), &km)) in template.iter().zip(tokens).zip(mk).enumerate() {
        if t == WILDCARD {
            wildcards += 1;
            total += 1.0;
            same += 0.5;
            continue;
        }
        let kt = kind_at(template, i);
        // `CPU0` and `CPU1`: one name with two indices is a value, not two codes.
        if t != m && same_indexed_name(t, m) {
            total += CONST_WEIGHT;
            same += 0.5 * CONST_WEIGHT;
            continue;
        }
        // Two different error codes are two different errors.
        if t != m && (kt == Kind::Code || km == Kind::Code) {
            return (0.0, wildcards);
        }
        // `Link up` and `Link down`, `state 'Active'` and `state 'Inactive'`: two different
        // state words are two different messages; so are two device families (`on en0`,
        // `on awdl0`).
        if t != m && (different_states(t, m) || different_devices(t, m)) {
            return (0.0, wildcards);
        }
        let constant = is_word(t, kt);
        let const_diff = t != m
            && matches!(
                (kt, km),
                (
                    Kind::Const | Kind::Code,
                    Kind::Const | Kind::Code | Kind::Key(_)
                ) | (Kind::Key(_), Kind::Const | Kind::Code)
            );
        if const_diff {
            // The last word of a sentence (`... by client SPP.`, `Ending ... finalization.`)
            // is prose: two different ones are different messages, not two values.
            if i + 1 == template.len() && ends_sentence(t) && ends_sentence(m) {
                return (0.0, wildcards);
            }
            const_diffs += 1;
            if const_diffs >= MAX_CONST_DIFFS {
                return (0.0, wildcards);
            }
        }
        let w = if constant { CONST_WEIGHT } else { 1.0 };
        total += w;
        let matches = token_matches(t, m);
        let same_key = matches!((kt, km), (Kind::Key(a), Kind::Key(b)) if t[..a] == m[..b]);
        if !matches && !const_diff && !same_key && !same_address(t, m) {
            shape_diffs += 1;
        }
        // One different word is a value only when the rest agrees: with a value of another
        // shape as well (`en0: channel changed to 1`, `en0: BSSID changed to <HEX>`), it is
        // another message.
        if const_diffs > 0 && shape_diffs > 0 {
            return (0.0, wildcards);
        }
        if matches {
            same += w;
        } else if same_key || is_pure_variable(t) && is_pure_variable(m) {
            // Two different values (`<IP>` and `<HOST>`, `(<NUM>)` and `7`, `rhost=<IP>`
            // and `rhost=<HOST>`).
            same += 0.5 * w;
        }
    }
    (same / total, wildcards)
}

/// Whether two values differ only in how an address is written: `<IP>` in one, `<HOST>` in
/// the other (`from 10.0.0.7`, `from db.example.com`).
fn same_address(t: &str, m: &str) -> bool {
    (t.contains("<HOST>") || m.contains("<HOST>"))
        && t.replace("<HOST>", "<IP>") == m.replace("<HOST>", "<IP>")
}

/// Words that name a state or an event rather than a value: `on`/`off`, `up`/`down`,
/// `started`/`stopped`, `enabled`/`disabled`, `yes`/`no`, `ok`/`error`, … Two different ones
/// at one position make two different messages (`Link up`, `Link down`), never one template
/// with a variable. Lower case and sorted (binary search). `true`, `false` and `null` are not
/// here: they are values (see [`kind_at`]).
const STATE_WORDS: &[&str] = &[
    "accept",
    "accepted",
    "activated",
    "active",
    "add",
    "added",
    "allow",
    "allowed",
    "attach",
    "attached",
    "available",
    "awake",
    "begin",
    "busy",
    "close",
    "closed",
    "closing",
    "complete",
    "completed",
    "connect",
    "connected",
    "connecting",
    "create",
    "created",
    "deactivated",
    "delete",
    "deleted",
    "denied",
    "deny",
    "destroy",
    "destroyed",
    "detach",
    "detached",
    "disable",
    "disabled",
    "disconnect",
    "disconnected",
    "disconnecting",
    "done",
    "down",
    "enable",
    "enabled",
    "end",
    "ended",
    "enter",
    "entered",
    "error",
    "established",
    "exit",
    "exited",
    "fail",
    "failed",
    "failure",
    "finish",
    "finished",
    "granted",
    "hidden",
    "idle",
    "inactive",
    "invalid",
    "load",
    "loaded",
    "lock",
    "locked",
    "login",
    "logout",
    "lost",
    "missing",
    "mount",
    "mounted",
    "no",
    "off",
    "offline",
    "ok",
    "on",
    "online",
    "open",
    "opened",
    "opening",
    "pause",
    "paused",
    "pending",
    "reachable",
    "ready",
    "refused",
    "reject",
    "rejected",
    "remove",
    "removed",
    "reset",
    "resume",
    "resumed",
    "revoked",
    "running",
    "shown",
    "shutdown",
    "sleep",
    "start",
    "started",
    "starting",
    "startup",
    "stop",
    "stopped",
    "stopping",
    "succeeded",
    "success",
    "successful",
    "suspend",
    "suspended",
    "unavailable",
    "unload",
    "unloaded",
    "unlock",
    "unlocked",
    "unmount",
    "unmounted",
    "unreachable",
    "up",
    "valid",
    "visible",
    "waiting",
    "wake",
    "yes",
];

/// Whether a word (any case) is one of the [`STATE_WORDS`].
fn is_state_word(w: &str) -> bool {
    let mut buf = [0u8; 16];
    let Some(lower) = buf.get_mut(..w.len()) else {
        return false;
    };
    lower.copy_from_slice(w.as_bytes());
    lower.make_ascii_lowercase();
    std::str::from_utf8(lower).is_ok_and(|l| STATE_WORDS.binary_search(&l).is_ok())
}

/// The word a token states, if it is a state word: the token's core (`'Active'` → `Active`,
/// `up,` → `up`), or what follows its last `=`, `[` or `(` (`link=up` → `up`,
/// `WWEN[enabled]` → `enabled`).
fn state_of(t: &str) -> Option<&str> {
    let (_, core, _) = split_punct(t);
    let last = core.rsplit(['=', '[', '(']).next().unwrap_or(core);
    let word = split_punct(last).1;
    is_state_word(word).then_some(word)
}

/// Whether two tokens state two different states (`up` and `down`, `'Active'` and
/// `'Inactive'`, `link=up` and `link=down`).
fn different_states(t: &str, m: &str) -> bool {
    matches!((state_of(t), state_of(m)), (Some(a), Some(b)) if !a.eq_ignore_ascii_case(b))
}

/// The letters of an indexed name: a word of letters then one or two digits (`CPU0`,
/// `eth1`, `IRQ9`), with its surrounding punctuation. Longer numbers are codes or values.
fn indexed_name(t: &str) -> Option<(&str, &str, &str)> {
    let (lead, core, trail) = split_punct(t);
    let letters = core.bytes().take_while(u8::is_ascii_alphabetic).count();
    let digits = &core[letters..];
    (letters > 0 && (1..=2).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()))
        .then_some((lead, &core[..letters], trail))
}

/// Whether two tokens are the same indexed name with two indices (`[CPU0]`, `[CPU1]`):
/// devices, interfaces and interrupt lines are numbered, and the number is a value.
fn same_indexed_name(t: &str, m: &str) -> bool {
    matches!((indexed_name(t), indexed_name(m)), (Some(a), Some(b)) if a == b)
}

/// Whether two tokens name devices of two different families: indexed names whose short
/// names (four letters at most: `en0`, `awdl0`, `eth1`, `wlan0` is not short) differ.
/// Numbered devices of one family are values; a different family is a different message.
fn different_devices(t: &str, m: &str) -> bool {
    match (indexed_name(t), indexed_name(m)) {
        (Some((_, a, _)), Some((_, b, _))) => a.len() <= 4 && b.len() <= 4 && a != b,
        _ => false,
    }
}

/// A constant word or identifier (`ENOENT`, `ssh2`): weighs more than punctuation.
fn is_word(t: &str, kind: Kind) -> bool {
    match kind {
        Kind::Code => true,
        Kind::Const => is_constant_word(t) || t.bytes().any(|b| b.is_ascii_digit()),
        _ => false,
    }
}

/// A word of letters closed by a full stop (`finalization.`, `WindowsUpdateAgent.`): the end
/// of a sentence. Not an abbreviation or a dotted name (`e.g.`, `com.apple.`): only letters
/// stand before the single final `.`.
fn ends_sentence(t: &str) -> bool {
    t.strip_suffix('.')
        .is_some_and(|w| w.len() > 1 && w.chars().all(char::is_alphabetic))
}

/// A token made of letters (and inner `-_'`), i.e. most likely constant text.
fn is_constant_word(t: &str) -> bool {
    let core = t.trim_matches(|c: char| !c.is_alphanumeric());
    !core.is_empty()
        && core
            .chars()
            .all(|c| c.is_alphabetic() || matches!(c, '-' | '_' | '\'' | '.'))
}

/// Tokens of a normalised message: split on whitespace.
pub fn tokenize(normalized: &str) -> Vec<String> {
    normalized.split_whitespace().map(str::to_owned).collect()
}

/// Masks variable parts of a message into typed masks (`<PATH>`, `<NUM>`, `<IP>`, `<URL>`,
/// `<UUID>`, `<HEX>`, `<QUOTED>`, `<TS>`, …) and keeps error codes; see the module
/// documentation for the exact rules.
///
/// One pass can leave text that a second pass masks further (a path that swallowed the
/// backslash escaping a quote: `'</A\'` → `'<<PATH>'`, whose quotes now close), so passes
/// are repeated until the text no longer changes (at most [`NORMALIZE_PASSES`]): normalising
/// a normalised message then changes nothing. Every such case leaves a quote the pass did not
/// close, so a result without one is final after a single pass (most messages).
pub fn normalize(message: &str) -> String {
    let mut out = normalize_pass(message);
    if !out.bytes().any(is_quote) {
        return out;
    }
    for _ in 1..NORMALIZE_PASSES {
        let again = normalize_pass(&out);
        if again == out {
            break;
        }
        out = again;
    }
    out
}

/// Passes of [`normalize_pass`] at most; enough for every text the property test and the
/// fuzzer have produced.
const NORMALIZE_PASSES: usize = 4;

fn normalize_pass(message: &str) -> String {
    let mut out = String::with_capacity(message.len() + 8);
    let bytes = message.as_bytes();
    let mut i = 0;
    // The previous word's core, lower-cased context for code-keeping rules.
    let mut prev = Context::default();
    // Set when the next piece continues the current word (`'a','b'`): no separating blank.
    let mut glue = false;
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let mut end = start;
        while end < bytes.len() && !bytes[end].is_ascii_whitespace() {
            end += 1;
        }
        // A quoted span may start at the word start or after `=([{:,` inside the word; a
        // quoted mask (`"<PATH>"`, as a path in quotes that do not close a span comes out)
        // is left as it is, so that normalising twice changes nothing.
        if !is_mask_token(&message[start..end])
            && let Some((q, close)) = find_quote(message, start, end)
        {
            push_sep(&mut out, std::mem::take(&mut glue));
            if q > start {
                let head = &message[start..q];
                classify_word(head, &prev, next_word(message, q), &mut out);
            }
            let inner = &message[q + 1..close];
            push_quoted(char::from(bytes[q]), inner, &mut out);
            prev = Context::from_word(inner);
            i = close + 1;
            // Whatever follows the closing quote up to a blank stays attached (`'x'),`).
            let mut tail_end = i;
            while tail_end < bytes.len() && !bytes[tail_end].is_ascii_whitespace() {
                tail_end += 1;
            }
            if tail_end > i {
                // The tail may itself hold a quote (`'a','b'`): handle it as its own word,
                // glued to what precedes it.
                let tail = &message[i..tail_end];
                if find_quote(message, i, tail_end).is_some() {
                    glue = true;
                    continue;
                }
                classify_word(tail, &prev, next_word(message, tail_end), &mut out);
                i = tail_end;
            }
            continue;
        }
        let word = &message[start..end];
        push_sep(&mut out, std::mem::take(&mut glue));
        // `Fri Jun 17 07:07:00 2005`, `17 Jun 2005 07:07:00 +0000`: one timestamp.
        if let Some((trail, date_end)) = date_phrase(message, start) {
            if !out.ends_with("<TS> ") {
                out.push_str("<TS>");
            } else {
                out.pop();
            }
            out.push_str(trail);
            prev = Context::default();
            i = date_end;
            continue;
        }
        // `5.00 KB`, `30 seconds`: a number and its unit word are one value.
        if !prev.code
            && let Some((mask, lead, trail, unit_end)) = number_with_unit(message, word, end)
        {
            out.push_str(lead);
            out.push_str(mask.as_str());
            out.push_str(trail);
            prev = Context::default();
            i = unit_end;
            continue;
        }
        classify_word(word, &prev, next_word(message, end), &mut out);
        prev = Context::from_word(word);
        i = end;
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Separates the next word from the output so far with one blank, unless it is `glued` to
/// the previous piece.
fn push_sep(out: &mut String, glued: bool) {
    if !glued && !out.is_empty() && !out.ends_with(' ') {
        out.push(' ');
    }
}

const MONTHS: &[&str] = &[
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: &[&str] = &["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Whether `w` names a month or a weekday: its first three letters, or the whole name.
fn is_name_in(w: &str, names: &[&str], full: &[&str]) -> bool {
    (3..=9).contains(&w.len())
        && (names.iter().any(|n| w.eq_ignore_ascii_case(n))
            || full.iter().any(|n| w.eq_ignore_ascii_case(n)))
}

fn is_month(w: &str) -> bool {
    is_name_in(
        w,
        MONTHS,
        &[
            "january",
            "february",
            "march",
            "april",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ],
    )
}

fn is_weekday(w: &str) -> bool {
    is_name_in(
        w,
        WEEKDAYS,
        &[
            "monday",
            "tuesday",
            "wednesday",
            "thursday",
            "friday",
            "saturday",
            "sunday",
        ],
    )
}

/// A day of the month (`1`..`31`, optionally `01`).
fn is_day(w: &str) -> bool {
    (1..=2).contains(&w.len())
        && w.bytes().all(|b| b.is_ascii_digit())
        && (1..=31).contains(&w.parse::<u8>().unwrap_or(0))
}

fn is_year(w: &str) -> bool {
    w.len() == 4
        && w.bytes().all(|b| b.is_ascii_digit())
        && (w.starts_with("19") || w.starts_with("20"))
}

/// A zone after a time: `UTC`, `EDT`, `+0000`, `-05:00`.
fn is_zone(w: &str) -> bool {
    let b = w.as_bytes();
    ((2..=5).contains(&b.len()) && b.iter().all(u8::is_ascii_uppercase) && b[b.len() - 1] == b'T')
        || (matches!(b.first(), Some(b'+' | b'-'))
            && b[1..].iter().all(|c| c.is_ascii_digit() || *c == b':')
            && (5..=6).contains(&b.len()))
}

/// A date written with a month name, starting at byte `start` of `message`: an optional
/// weekday, then `Mon DD` or `DD Mon`, then any of a clock time, a zone and a year, in
/// any order (`Fri Jun 17 07:07:00 2005`, `Sat May 8 09:04:50 EDT 2004`, `Jun 17
/// 07:07:00`, `Fri, 17 Jun 2005 07:07:00 +0000`). A month and a day alone are not enough:
/// a time or a year must follow. Returns the trailing punctuation of the last word and
/// where the phrase ends.
fn date_phrase(message: &str, start: usize) -> Option<(&str, usize)> {
    let bytes = message.as_bytes();
    // Cheap rejection first: most words start no date.
    let first_end = bytes[start..]
        .iter()
        .position(u8::is_ascii_whitespace)
        .map_or(bytes.len(), |p| start + p);
    let (_, head, _) = split_punct(message.get(start..first_end)?);
    if !(is_day(head) || is_month(head) || is_weekday(head)) {
        return None;
    }
    // The next few words with their end offsets.
    let mut words: Vec<(&str, usize)> = Vec::with_capacity(7);
    let mut i = start;
    while words.len() < 7 && i < bytes.len() {
        let s = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        words.push((&message[s..i], i));
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
    }
    let core = |k: usize| words.get(k).map(|(w, _)| split_punct(w).1);
    let first = core(0)?;
    let starts_with_day = is_day(first) && core(1).is_some_and(is_month);
    if !is_month(first) && !is_weekday(first) && !starts_with_day {
        return None;
    }
    let mut k = usize::from(is_weekday(first));
    // Month then day, or day then month.
    let (a, b) = (core(k)?, core(k + 1)?);
    if is_month(a) && is_day(b) || is_day(a) && is_month(b) {
        k += 2;
    } else {
        return None;
    }
    let mut found = false;
    while let Some(w) = core(k) {
        let time = time_len(w.as_bytes(), 0).is_some_and(|n| n == w.len());
        if time || is_year(w) || (found && is_zone(w)) {
            found = true;
            k += 1;
        } else {
            break;
        }
    }
    if !found {
        return None;
    }
    let (last, end) = words.get(k - 1)?;
    let (_, _, trail) = split_punct(last);
    Some((trail, *end))
}

/// Unit words that turn a preceding number into one value (`5.00 KB`, `30 seconds`).
const TIME_UNIT_WORDS: &[&str] = &[
    "ns", "ms", "sec", "secs", "second", "seconds", "min", "mins", "minute", "minutes", "hr",
    "hrs", "hour", "hours", "day", "days",
];
const SIZE_UNIT_WORDS: &[&str] = &["b", "kb", "mb", "gb", "tb", "kib", "mib", "gib", "tib"];

/// A plain number word followed by a unit word: the mask, the number's leading punctuation,
/// the unit's trailing punctuation and where the unit word ends.
fn number_with_unit<'a>(
    message: &'a str,
    word: &'a str,
    end: usize,
) -> Option<(Mask, &'a str, &'a str, usize)> {
    let (lead, core, trail) = split_punct(word);
    if !trail.is_empty() || core.is_empty() || number_len(core.as_bytes()) != core.len() {
        return None;
    }
    let bytes = message.as_bytes();
    let mut s = end;
    while s < bytes.len() && bytes[s].is_ascii_whitespace() {
        s += 1;
    }
    let mut e = s;
    while e < bytes.len() && !bytes[e].is_ascii_whitespace() {
        e += 1;
    }
    let (ulead, unit, utrail) = split_punct(message.get(s..e)?);
    if !ulead.is_empty() || unit.is_empty() {
        return None;
    }
    let mask = if TIME_UNIT_WORDS.iter().any(|u| unit.eq_ignore_ascii_case(u)) {
        Mask::Dur
    } else if SIZE_UNIT_WORDS.iter().any(|u| unit.eq_ignore_ascii_case(u)) {
        Mask::Num
    } else {
        return None;
    };
    Some((mask, lead, utrail, e))
}

/// The first word after byte `from`, for look-ahead rules (`404 Not Found`).
fn next_word(message: &str, from: usize) -> &str {
    let rest = message.get(from..).unwrap_or("").trim_start();
    rest.split_ascii_whitespace().next().unwrap_or("")
}

fn is_quote(b: u8) -> bool {
    matches!(b, b'"' | b'\'' | b'`')
}

/// Finds a quoted span starting inside the word `[start, end)`: returns the opening and the
/// closing quote positions.
fn find_quote(message: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    let bytes = message.as_bytes();
    let mut q = start;
    while q < end {
        let b = bytes[q];
        if is_quote(b)
            && (q == start || matches!(bytes[q - 1], b'=' | b'(' | b'[' | b'{' | b':' | b','))
            && let Some(close) = find_close(bytes, q)
        {
            return Some((q, close));
        }
        q += 1;
    }
    None
}

fn find_close(bytes: &[u8], open: usize) -> Option<usize> {
    let quote = bytes[open];
    let limit = (open + MAX_QUOTED).min(bytes.len());
    let mut j = open + 1;
    while j < limit {
        let b = bytes[j];
        if b == b'\\' {
            j += 2;
            continue;
        }
        if b == quote {
            let after = bytes.get(j + 1).copied();
            let boundary = match after {
                None => true,
                Some(a) => {
                    a.is_ascii_whitespace()
                        || matches!(
                            a,
                            b',' | b';'
                                | b':'
                                | b'.'
                                | b')'
                                | b']'
                                | b'}'
                                | b'!'
                                | b'?'
                                | b'"'
                                | b'\''
                                | b'`'
                                | b'>'
                        )
                }
            };
            if boundary {
                return Some(j);
            }
        }
        j += 1;
    }
    None
}

fn push_quoted(quote: char, inner: &str, out: &mut String) {
    let trimmed = inner.trim();
    // `"GET /v2/x HTTP/1.1"`: a request line is structured, its method is part of the text.
    if let Some((method, _)) = trimmed.split_once(' ')
        && is_http_method(method)
    {
        out.push(quote);
        out.push_str(&normalize(trimmed));
        out.push(quote);
        return;
    }
    if !trimmed.is_empty() && !trimmed.contains(char::is_whitespace) {
        // `state 'Active'`: a quoted state word is the message, not a value.
        if is_state_word(trimmed) {
            out.push(quote);
            out.push_str(trimmed);
            out.push(quote);
            return;
        }
        let (lead, core, trail) = split_punct(trimmed);
        if lead.is_empty()
            && trail.is_empty()
            && let Some(mask) = classify_core(core, &Context::default(), "")
            && (mask != Mask::Keep && mask != Mask::Num
                || core
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-'))
        {
            out.push_str(mask.as_str());
            return;
        }
    }
    out.push_str("<QUOTED>");
}

/// An HTTP request method, as written in request lines.
fn is_http_method(w: &str) -> bool {
    matches!(
        w,
        "GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD" | "OPTIONS" | "CONNECT"
    )
}

/// Context of the previous word for the code-keeping rules.
#[derive(Default)]
struct Context {
    code: bool,
}

impl Context {
    fn from_word(word: &str) -> Self {
        let (_, core, _) = split_punct(word);
        Self {
            code: is_code_context(core),
        }
    }
}

fn is_code_context(word: &str) -> bool {
    let w = word.trim_end_matches([':', '=', '#']);
    let lower_starts_http = w.len() >= 5 && w.as_bytes()[..5].eq_ignore_ascii_case(b"http/");
    lower_starts_http
        || [
            "exit",
            "code",
            "status",
            "signal",
            "errno",
            "error",
            "rc",
            "http",
            "https",
            "sig",
            "returncode",
            "exitcode",
            "exit_code",
            "status_code",
            "statuscode",
            "errcode",
            "err",
            "exitstatus",
            "exit_status",
        ]
        .iter()
        .any(|k| w.eq_ignore_ascii_case(k))
}

const REASON_WORDS: &[&str] = &[
    "not",
    "too",
    "internal",
    "service",
    "bad",
    "gateway",
    "forbidden",
    "unauthorized",
    "conflict",
    "unprocessable",
    "request",
    "payment",
    "method",
    "precondition",
    "gone",
    "unavailable",
    "ok",
    "created",
    "accepted",
    "no",
    "moved",
    "found",
    "see",
    "permanent",
    "temporary",
    "network",
    "unsupported",
    "expectation",
    "misdirected",
    "locked",
    "failed",
    "upgrade",
    "length",
    "payload",
    "uri",
    "range",
    "insufficient",
    "loop",
    "variant",
    "partial",
    "continue",
    "switching",
    "processing",
    "early",
    "non-authoritative",
    "reset",
    "multi-status",
    "already",
    "im",
    "multiple",
    "use",
    "proxy",
    "unused",
    "teapot",
    "i'm",
    "http",
];

fn is_reason_word(word: &str) -> bool {
    let w = word.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'' && c != '-');
    REASON_WORDS.iter().any(|r| w.eq_ignore_ascii_case(r))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mask {
    Url,
    Email,
    Uuid,
    Ts,
    Ip,
    SlashIp,
    Path,
    Host,
    Hex,
    Dur,
    Num,
    /// Not a mask: a number that is an error code in its context, kept verbatim.
    Keep,
}

impl Mask {
    fn as_str(self) -> &'static str {
        match self {
            Mask::Url => "<URL>",
            Mask::Email => "<EMAIL>",
            Mask::Uuid => "<UUID>",
            Mask::Ts => "<TS>",
            Mask::Ip => "<IP>",
            Mask::SlashIp => "/<IP>",
            Mask::Path => "<PATH>",
            Mask::Host => "<HOST>",
            Mask::Hex => "<HEX>",
            Mask::Dur => "<DUR>",
            Mask::Num => "<NUM>",
            Mask::Keep => "",
        }
    }
}

fn is_lead_punct(c: char) -> bool {
    matches!(c, '(' | '[' | '{' | '<' | '"' | '\'' | '`')
}

fn is_trail_punct(c: char) -> bool {
    matches!(
        c,
        ')' | ']' | '}' | '>' | ',' | ';' | '.' | ':' | '!' | '?' | '"' | '\'' | '`'
    )
}

/// Splits a word into leading punctuation, core and trailing punctuation.
fn split_punct(word: &str) -> (&str, &str, &str) {
    let core_start = word.find(|c: char| !is_lead_punct(c)).unwrap_or(word.len());
    let rest = &word[core_start..];
    let core_len = rest.rfind(|c: char| !is_trail_punct(c)).map_or(0, |p| {
        p + rest[p..].chars().next().map_or(1, char::len_utf8)
    });
    (&word[..core_start], &rest[..core_len], &rest[core_len..])
}

/// Normalises one word into `out`.
fn classify_word(word: &str, prev: &Context, next: &str, out: &mut String) {
    // Our own masks pass through untouched, so normalisation is idempotent.
    if is_mask_token(word) {
        out.push_str(word);
        return;
    }
    // `[::1]:8080`: the brackets belong to the address.
    if word.starts_with('[') {
        let w = word.trim_end_matches([',', ';', '.', ')']);
        if is_ip_port(w) {
            out.push_str("<IP>");
            out.push_str(&word[w.len()..]);
            return;
        }
    }
    let (lead, core, trail) = split_punct(word);
    if core.is_empty() {
        out.push_str(word);
        return;
    }
    if let Some(mask) = classify_core(core, prev, next) {
        if mask == Mask::Keep {
            out.push_str(word);
            return;
        }
        if mask == Mask::Ts && out.ends_with("<TS> ") && lead.is_empty() {
            // `2024-01-31 10:00:00` is one timestamp.
            out.pop();
            out.push_str(trail);
            return;
        }
        out.push_str(lead);
        out.push_str(mask.as_str());
        out.push_str(trail);
        return;
    }
    out.push_str(lead);
    // `key=value`: classify the value on its own, with the key as context.
    if let Some(eq) = core.find('=') {
        let (key, value) = (&core[..eq], &core[eq + 1..]);
        if !key.is_empty()
            && !value.is_empty()
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        {
            out.push_str(key);
            out.push('=');
            let ctx = Context {
                code: is_code_context(key),
            };
            let (vl, vc, vt) = split_punct(value);
            match classify_core(vc, &ctx, next) {
                Some(Mask::Keep) => out.push_str(value),
                Some(mask) if !vc.is_empty() => {
                    out.push_str(vl);
                    out.push_str(mask.as_str());
                    out.push_str(vt);
                }
                _ => mask_digit_runs(value, ctx.code, out),
            }
            out.push_str(trail);
            return;
        }
    }
    mask_digit_runs(core, prev.code, out);
    out.push_str(trail);
}

/// Whether a word is one of our masks, possibly wrapped in punctuation (`(<NUM>)`, `/<IP>`,
/// `<PATH>:`), so that normalising twice changes nothing.
fn is_mask_token(word: &str) -> bool {
    let w = word
        .trim_start_matches(['(', '[', '{', '"', '\'', '`', '/'])
        .trim_end_matches([')', ']', '}', ',', ';', '.', ':', '!', '?', '"', '\'', '`']);
    w.len() > 2
        && w.starts_with('<')
        && w.ends_with('>')
        && w[1..w.len() - 1]
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b == b'*')
}

/// Classifies a punctuation-stripped word core as a whole.
fn classify_core(core: &str, prev: &Context, next: &str) -> Option<Mask> {
    let b = core.as_bytes();
    if b.is_empty() {
        return None;
    }
    if is_url(core) {
        return Some(Mask::Url);
    }
    if is_email(core) {
        return Some(Mask::Email);
    }
    if is_uuid(b) {
        return Some(Mask::Uuid);
    }
    if is_timestamp(b) {
        return Some(Mask::Ts);
    }
    if is_ip_port(core) {
        return Some(Mask::Ip);
    }
    if let Some(rest) = core.strip_prefix('/')
        && is_ip_port(rest)
    {
        return Some(Mask::SlashIp);
    }
    if is_path(core) {
        return Some(Mask::Path);
    }
    if is_host(core) {
        return Some(Mask::Host);
    }
    if is_hex(b) || is_mac(b) {
        return Some(Mask::Hex);
    }
    if let Some(kind) = number_kind(b) {
        if kind == Mask::Num && keep_number(core, prev, next) {
            return Some(Mask::Keep);
        }
        return Some(kind);
    }
    None
}

/// A number that is an error code in its context stays verbatim.
fn keep_number(core: &str, prev: &Context, next: &str) -> bool {
    let digits = core.trim_start_matches(['-', '+']);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 6 {
        return false;
    }
    if prev.code {
        return true;
    }
    if digits.len() == 3 {
        let status: u32 = digits.parse().unwrap_or(0);
        return (100..=599).contains(&status)
            && !core.starts_with(['-', '+'])
            && is_reason_word(next);
    }
    false
}

fn is_url(core: &str) -> bool {
    match core.find("://") {
        Some(p) if p > 0 => {
            core[..p]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
                && core.len() > p + 3
        }
        _ => false,
    }
}

fn is_email(core: &str) -> bool {
    let Some(at) = core.find('@') else {
        return false;
    };
    let (local, domain) = (&core[..at], &core[at + 1..]);
    !local.is_empty()
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+' | b'%'))
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
}

fn is_uuid(b: &[u8]) -> bool {
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn digits_at(b: &[u8], i: usize, n: usize) -> bool {
    b.len() >= i + n && b[i..i + n].iter().all(u8::is_ascii_digit)
}

/// `HH:MM`, `HH:MM:SS`, with optional `.frac`/`,frac` and zone; returns the length consumed.
fn time_len(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    let h = if digits_at(b, j, 2) {
        2
    } else if digits_at(b, j, 1) {
        1
    } else {
        return None;
    };
    j += h;
    if b.get(j) != Some(&b':') || !digits_at(b, j + 1, 2) {
        return None;
    }
    j += 3;
    if b.get(j) == Some(&b':') && digits_at(b, j + 1, 2) {
        j += 3;
        if matches!(b.get(j), Some(b'.' | b',')) && digits_at(b, j + 1, 1) {
            j += 1;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
        }
    }
    // Zone: Z, +HH:MM, +HHMM, -HH.
    if b.get(j) == Some(&b'Z') {
        j += 1;
    } else if matches!(b.get(j), Some(b'+' | b'-')) && digits_at(b, j + 1, 2) {
        j += 3;
        if b.get(j) == Some(&b':') && digits_at(b, j + 1, 2) {
            j += 3;
        } else if digits_at(b, j, 2) {
            j += 2;
        }
    }
    Some(j - i)
}

fn is_timestamp(b: &[u8]) -> bool {
    // Date: YYYY-MM-DD or YYYY/MM/DD, optionally followed by T or _ and a time.
    if digits_at(b, 0, 4)
        && matches!(b.get(4), Some(b'-' | b'/'))
        && digits_at(b, 5, 2)
        && b.get(7) == b.get(4)
        && digits_at(b, 8, 2)
    {
        if b.len() == 10 {
            return true;
        }
        if matches!(b.get(10), Some(b'T' | b'_' | b' ')) {
            return time_len(b, 11).is_some_and(|n| 11 + n == b.len());
        }
        return false;
    }
    // A clock time alone.
    time_len(b, 0).is_some_and(|n| n == b.len())
}

fn parse_ipv4(s: &str) -> bool {
    let mut parts = 0;
    for p in s.split('.') {
        parts += 1;
        if p.is_empty()
            || p.len() > 3
            || !p.bytes().all(|b| b.is_ascii_digit())
            || p.parse::<u16>().map_or(true, |v| v > 255)
        {
            return false;
        }
    }
    parts == 4
}

fn is_port(s: &str) -> bool {
    !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit())
}

fn parse_ipv6(s: &str) -> bool {
    let colons = s.bytes().filter(|&b| b == b':').count();
    if !(2..=7).contains(&colons) {
        return false;
    }
    if !s.contains("::") && colons != 7 {
        // `a:b:c` without `::` is more likely a time or a `path:line:col`.
        return false;
    }
    // An embedded IPv4 tail (`::ffff:10.0.0.1`) is allowed.
    let (head, tail_ok) = match s.rfind(':') {
        Some(p) if s[p + 1..].contains('.') => (&s[..p + 1], parse_ipv4(&s[p + 1..])),
        _ => (s, true),
    };
    tail_ok
        && head.bytes().all(|b| b.is_ascii_hexdigit() || b == b':')
        && s.bytes().any(|b| b.is_ascii_hexdigit())
}

/// IPv4/IPv6, optional `[v6]`, optional `:port`, optional `%zone` ignored.
fn is_ip_port(core: &str) -> bool {
    if let Some(rest) = core.strip_prefix('[') {
        let Some(close) = rest.find(']') else {
            return false;
        };
        let after = &rest[close + 1..];
        return parse_ipv6(&rest[..close])
            && (after.is_empty() || after.strip_prefix(':').is_some_and(is_port));
    }
    if parse_ipv4(core) {
        return true;
    }
    if let Some(p) = core.rfind(':')
        && parse_ipv4(&core[..p])
        && is_port(&core[p + 1..])
    {
        return true;
    }
    parse_ipv6(core)
}

fn is_path(core: &str) -> bool {
    let b = core.as_bytes();
    if b.len() < 2 {
        return false;
    }
    // Drop a `:line[:col]` suffix.
    let mut body = core;
    for _ in 0..2 {
        if let Some(p) = body.rfind(':')
            && p > 0
            && is_port(&body[p + 1..])
        {
            body = &body[..p];
        }
    }
    let bb = body.as_bytes();
    let rooted = body.starts_with('/')
        || body.starts_with("./")
        || body.starts_with("../")
        || body.starts_with("~/")
        || body.starts_with("\\\\")
        || (bb.len() >= 3
            && bb[0].is_ascii_alphabetic()
            && bb[1] == b':'
            && matches!(bb[2], b'\\' | b'/'));
    if rooted {
        // `/` alone, or `//` comments, are not paths; nor is a word that holds one of our
        // masks (`/{<QUOTED>:A`, what the first pass makes of `/{'':A`), so normalising
        // twice changes nothing.
        return body.len() > 1
            && !holds_mask(body)
            && body
                .bytes()
                .any(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'_');
    }
    let seps = body.bytes().filter(|&c| c == b'/' || c == b'\\').count();
    if seps == 0 || body.ends_with('/') && seps == 1 || body.starts_with('/') {
        return false;
    }
    if body.contains("//") || body.contains("<") {
        return false;
    }
    if seps >= 2 {
        return body.bytes().any(|c| c.is_ascii_alphabetic());
    }
    // One separator: a path only with a file extension (`src/main.rs`).
    let last = body.rsplit(['/', '\\']).next().unwrap_or("");
    match last.rfind('.') {
        Some(d) if d > 0 => {
            let ext = &last[d + 1..];
            (1..=5).contains(&ext.len())
                && ext.bytes().all(|c| c.is_ascii_alphanumeric())
                && ext.as_bytes()[0].is_ascii_alphabetic()
        }
        _ => false,
    }
}

const TLDS: &[&str] = &[
    "com",
    "net",
    "org",
    "io",
    "dev",
    "ai",
    "app",
    "local",
    "internal",
    "localdomain",
    "lan",
    "edu",
    "gov",
    "co",
    "uk",
    "de",
    "fr",
    "jp",
    "cn",
    "ru",
    "us",
    "eu",
    "info",
    "biz",
    "cloud",
    "svc",
    "cluster",
    "hk",
];

fn is_hostname(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
        && !s.starts_with(['.', '-'])
        && !s.ends_with(['.', '-'])
        && s.bytes().any(|b| b.is_ascii_alphabetic())
}

fn is_host(core: &str) -> bool {
    if let Some(p) = core.rfind(':') {
        let (name, port) = (&core[..p], &core[p + 1..]);
        if is_port(port)
            && is_hostname(name)
            && (name.eq_ignore_ascii_case("localhost") || name.contains('.'))
        {
            return true;
        }
        return false;
    }
    if core.eq_ignore_ascii_case("localhost") {
        return false;
    }
    if !is_hostname(core) || core.bytes().filter(|&b| b == b'.').count() < 1 {
        return false;
    }
    let tld = core.rsplit('.').next().unwrap_or("");
    TLDS.iter().any(|t| tld.eq_ignore_ascii_case(t)) && core.split('.').all(|l| !l.is_empty())
}

/// A MAC address: six pairs of hex digits separated by `:` or `-`.
fn is_mac(b: &[u8]) -> bool {
    b.len() == 17
        && b.iter().enumerate().all(|(i, &c)| {
            if i % 3 == 2 {
                c == b':' || c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
        && b[2] == b[5]
}

fn is_hex(b: &[u8]) -> bool {
    if b.len() > 2 && b[0] == b'0' && matches!(b[1], b'x' | b'X') {
        return b[2..].iter().all(u8::is_ascii_hexdigit);
    }
    b.len() >= 7
        && b.iter().all(u8::is_ascii_hexdigit)
        && b.iter().any(u8::is_ascii_digit)
        && b.iter().any(u8::is_ascii_alphabetic)
        && !(b
            .iter()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
            && b[0].is_ascii_alphabetic()
            && b.len() <= 8)
}

const TIME_UNITS: &[&str] = &[
    "ns", "us", "µs", "ms", "s", "sec", "secs", "second", "seconds", "m", "min", "mins", "minute",
    "minutes", "h", "hr", "hrs", "hour", "hours", "d", "day", "days",
];

const SIZE_UNITS: &[&str] = &[
    "b", "kb", "mb", "gb", "tb", "kib", "mib", "gib", "tib", "k", "g", "t", "bytes", "byte", "%",
];

/// Length of a plain number at the start of `b` (sign, digits, `.digits`…).
fn number_len(b: &[u8]) -> usize {
    let mut j = 0;
    if matches!(b.first(), Some(b'-' | b'+')) {
        j = 1;
    }
    let digits_start = j;
    while j < b.len() && b[j].is_ascii_digit() {
        j += 1;
    }
    if j == digits_start {
        return 0;
    }
    while j + 1 < b.len() && b[j] == b'.' && b[j + 1].is_ascii_digit() {
        j += 1;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
    }
    j
}

/// A whole core that is a number (`<NUM>`), possibly with a size unit, or a duration.
fn number_kind(b: &[u8]) -> Option<Mask> {
    let mut j = number_len(b);
    if j == 0 {
        return None;
    }
    if j == b.len() {
        return Some(Mask::Num);
    }
    // Compound durations: 1h30m, 2m5.5s.
    let mut dur = false;
    loop {
        let unit_start = j;
        while j < b.len() && (b[j].is_ascii_alphabetic() || b[j] == b'%' || b[j] >= 0x80) {
            j += 1;
        }
        let unit = std::str::from_utf8(&b[unit_start..j]).unwrap_or("");
        if TIME_UNITS.iter().any(|u| unit.eq_ignore_ascii_case(u)) {
            dur = true;
        } else if SIZE_UNITS.iter().any(|u| unit.eq_ignore_ascii_case(u)) && j == b.len() && !dur {
            return Some(Mask::Num);
        } else {
            return None;
        }
        if j == b.len() {
            return Some(Mask::Dur);
        }
        let n = number_len(&b[j..]);
        if n == 0 || matches!(b[j], b'-' | b'+') {
            return None;
        }
        j += n;
    }
}

/// The first id inside a word, not glued to other letters or digits: a UUID, or a run of
/// 16 or more hex digits with both a digit and a letter. Returns offset, length and mask.
fn embedded_id(b: &[u8]) -> Option<(usize, usize, Mask)> {
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_hexdigit() || (i > 0 && b[i - 1].is_ascii_alphanumeric()) {
            i += 1;
            continue;
        }
        if b.len() >= i + 36
            && is_uuid(&b[i..i + 36])
            && b.get(i + 36).is_none_or(|c| !c.is_ascii_alphanumeric())
        {
            return Some((i, 36, Mask::Uuid));
        }
        let mut j = i;
        while j < b.len() && b[j].is_ascii_hexdigit() {
            j += 1;
        }
        let run = &b[i..j];
        if run.len() >= 16
            && b.get(j).is_none_or(|c| !c.is_ascii_alphanumeric())
            && run.iter().any(u8::is_ascii_digit)
            && run.iter().any(u8::is_ascii_alphabetic)
        {
            return Some((i, run.len(), Mask::Hex));
        }
        i = j.max(i + 1);
    }
    None
}

/// Masks digit runs inside a word that are not glued to letters: `node-42` → `node-<NUM>`.
fn mask_digit_runs(word: &str, keep: bool, out: &mut String) {
    let b = word.as_bytes();
    if keep || !b.iter().any(u8::is_ascii_digit) {
        out.push_str(word);
        return;
    }
    // Ids glued to a word (`req-<uuid>`, `sha256:<64 hex>`) are masked whole first.
    if let Some((at, len, mask)) = embedded_id(b) {
        mask_digit_runs(&word[..at], keep, out);
        out.push_str(mask.as_str());
        mask_digit_runs(&word[at + len..], keep, out);
        return;
    }
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        // Run start: include a sign when it is not a separator between two word parts.
        let mut start = i;
        if start > 0
            && matches!(b[start - 1], b'-' | b'+')
            && (start < 2 || !b[start - 2].is_ascii_alphanumeric())
        {
            start -= 1;
        }
        let len = number_len(&b[start..]);
        let end = start + len.max(1);
        // `HTTP/1.1`, `TLSv1.2`: a version glued to a word by `/` stays.
        let glued_left = start > 0
            && (b[start - 1].is_ascii_alphanumeric()
                || b[start - 1] >= 0x80
                || (b[start - 1] == b'/' && start > 1 && b[start - 2].is_ascii_alphabetic()));
        // A unit suffix (`12ms`) makes a duration; other letters glue the number.
        let mut unit_end = end;
        while unit_end < b.len() && b[unit_end].is_ascii_alphabetic() {
            unit_end += 1;
        }
        let unit_ok = unit_end == end || !(unit_end < b.len() && b[unit_end].is_ascii_digit());
        let kind = if unit_end > end && unit_ok {
            number_kind(&b[start..unit_end])
        } else {
            None
        };
        let glued_right =
            end < b.len() && (b[end].is_ascii_alphanumeric() || b[end] >= 0x80) && kind.is_none();
        if glued_left || glued_right {
            // Skip the whole alphanumeric run.
            let mut j = end;
            while j < b.len() && b[j].is_ascii_alphanumeric() {
                j += 1;
            }
            i = j.max(i + 1);
            continue;
        }
        let (mask, stop) = match kind {
            Some(k) => (k, unit_end),
            None => (Mask::Num, end),
        };
        out.push_str(&word[copied..start]);
        out.push_str(mask.as_str());
        copied = stop;
        i = stop;
    }
    out.push_str(&word[copied..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, expected: &str) {
        assert_eq!(normalize(input), expected, "normalize({input:?})");
    }

    #[test]
    fn masks_paths() {
        check("open '/tmp/x.txt' failed", "open <PATH> failed");
        check(
            "cannot read /etc/passwd: denied",
            "cannot read <PATH>: denied",
        );
        check("see ./src/lib.rs", "see <PATH>");
        check("--> src/main.rs:12:5", "--> <PATH>");
        check("at C:\\Users\\bob\\a.txt", "at <PATH>");
        check("cd ~/work/repo", "cd <PATH>");
        check("read/write and I/O error", "read/write and I/O error");
    }

    #[test]
    fn masks_numbers() {
        check("retry 3 of 10", "retry <NUM> of <NUM>");
        check(
            "PacketResponder 1 for block blk_-6952295868487656571 terminating",
            "PacketResponder <NUM> for block blk_<NUM> terminating",
        );
        check(
            "node-246 HWID=1973 took 0.25",
            "node-<NUM> HWID=<NUM> took <NUM>",
        );
        check("(HWID=3180)", "(HWID=<NUM>)");
        check("used 95% of 10MB", "used <NUM> of <NUM>");
        check("version v1.2.3 vs 1.2.3", "version v1.2.3 vs <NUM>");
    }

    #[test]
    fn masks_hex_and_uuid() {
        check("at 0x7ffd5fbff8c8", "at <HEX>");
        check("commit 3f9a2b1c4d", "commit <HEX>");
        check(
            "id 123e4567-e89b-12d3-a456-426614174000 gone",
            "id <UUID> gone",
        );
        check("deadbeef cafe", "deadbeef cafe");
    }

    #[test]
    fn masks_network() {
        check("connect 10.0.0.1:5432 refused", "connect <IP> refused");
        check("from /10.251.42.84", "from /<IP>");
        check("bind [::1]:8080 and fe80::1", "bind <IP> and <IP>");
        check(
            "GET https://api.example.com/v1/x?y=1 failed",
            "GET <URL> failed",
        );
        check(
            "db.example.com:5432 down, localhost:3000 too",
            "<HOST> down, <HOST> too",
        );
        check("resolve api.github.com", "resolve <HOST>");
        check("mail bob@example.com", "mail <EMAIL>");
        check(
            "org.apache.hadoop.Foo failed",
            "org.apache.hadoop.Foo failed",
        );
    }

    #[test]
    fn masks_quoted() {
        check(
            "unknown field \"foo bar\", expected one of `a`",
            "unknown field <QUOTED>, expected one of <QUOTED>",
        );
        check(
            "Cannot find module 'express'",
            "Cannot find module <QUOTED>",
        );
        check("key=\"a b\" done", "key=<QUOTED> done");
        check("don't panic, it's fine", "don't panic, it's fine");
        check("value '42'", "value <NUM>");
    }

    #[test]
    fn masks_time() {
        check("at 2024-01-31T10:00:00.123Z boom", "at <TS> boom");
        check("2024-01-31 10:00:00,123 ERROR x", "<TS> ERROR x");
        check("at 10:30 today", "at <TS> today");
        check("timed out after 30s", "timed out after <DUR>");
        check("took 1500ms, budget 1h30m", "took <DUR>, budget <DUR>");
        check("elapsed=2.5s", "elapsed=<DUR>");
    }

    #[test]
    fn masks_dates_with_month_names() {
        for (input, expected) in [
            (
                "connection from 1.2.3.4 () at Fri Jul  1 07:57:30 2005",
                "connection from <IP> () at <TS>",
            ),
            ("at Sat May 8 09:04:50 EDT 2004 done", "at <TS> done"),
            ("Jun 17 07:07:00 host up", "<TS> host up"),
            ("Date: Fri, 17 Jun 2005 07:07:00 +0000", "Date: <TS>"),
            ("built on 17 June 2013, ok", "built on <TS>, ok"),
            // A month name without a time or a year stays a word.
            ("may 5 people", "may <NUM> people"),
            ("on Mar 3", "on Mar <NUM>"),
            ("Sun is up", "Sun is up"),
        ] {
            check(input, expected);
        }
    }

    #[test]
    fn masks_ids_glued_to_words() {
        for (input, expected) in [
            (
                "[req-9bc36dd9-91c5-4314-898a-47625eb93b09 113d3a99c3da401fbd62cc2caa5b96d2 - -]",
                "[req-<UUID> <HEX> - -]",
            ),
            (
                "pull image@sha256:3f9a2b1c4d3f9a2b1c4d3f9a2b1c4d3f9a2b1c4d done",
                "pull image@sha256:<HEX> done",
            ),
            (
                "id=job-123e4567-e89b-12d3-a456-426614174000",
                "id=job-<UUID>",
            ),
            ("bssid 5c:50:15:4c:18:13, last", "bssid <HEX>, last"),
            ("mac aa-bb-cc-dd-ee-ff", "mac <HEX>"),
            // Short hex glued to a word is not an id.
            ("step-abc123 done", "step-abc123 done"),
        ] {
            check(input, expected);
        }
    }

    #[test]
    fn a_number_before_a_byte_unit_is_one_value() {
        check(
            "estimated size 93.0 B, free 317.1 KB",
            "estimated size <NUM>, free <NUM>",
        );
    }

    #[test]
    fn keeps_codes() {
        check(
            "error[E0308]: mismatched types",
            "error[E0308]: mismatched types",
        );
        check(
            "ENOENT: no such file or directory, open '/a/b.json'",
            "ENOENT: no such file or directory, open <PATH>",
        );
        check("EACCES: permission denied", "EACCES: permission denied");
        check("got E404 from upstream", "got E404 from upstream");
        check("404 Not Found", "404 Not Found");
        check("429 Too Many Requests", "429 Too Many Requests");
        check("HTTP 503", "HTTP 503");
        check("HTTP/1.1 500 oops", "HTTP/1.1 500 oops");
        check("status=429 retry", "status=429 retry");
        check(
            "process exited with exit code 137",
            "process exited with exit code 137",
        );
        check(
            "killed by SIGKILL (signal 9)",
            "killed by SIGKILL (signal 9)",
        );
        check(
            "Permission denied (os error 13)",
            "Permission denied (os error 13)",
        );
        check("size 404 bytes", "size <NUM> bytes");
    }

    #[test]
    fn masks_numbers_with_unit_words() {
        check("waited 30 seconds", "waited <DUR>");
        check(
            "lifetime 5 min, took 200 ms.",
            "lifetime <DUR>, took <DUR>.",
        );
        check("sent 1024 bytes (5.00 KB)", "sent <NUM> bytes (<NUM>)");
        check("free 12 MiB of 3 GB", "free <NUM> of <NUM>");
        check("exit code 2 seconds later", "exit code 2 seconds later");
        check("3 days ago", "<DUR> ago");
    }

    #[test]
    fn keeps_signal_and_os_error_codes() {
        check(
            "terminated by signal SIGSEGV",
            "terminated by signal SIGSEGV",
        );
        check("returned rc=1", "returned rc=1");
        check("exited with status 255", "exited with status 255");
        check("errno 2 (ENOENT)", "errno 2 (ENOENT)");
        check("ECONNREFUSED 127.0.0.1:5432", "ECONNREFUSED <IP>");
    }

    #[test]
    fn quoted_lists_stay_separate_values() {
        check(
            "one of 'a','b' expected",
            "one of <QUOTED>,<QUOTED> expected",
        );
        check("got [\"x y\"] here", "got [<QUOTED>] here");
    }

    #[test]
    fn normalize_is_idempotent() {
        for m in [
            "open '/tmp/x' at 10:00 took 5s",
            "retry 3 of 10 (HWID=4)",
            "GET http://x.io/a 404 Not Found",
        ] {
            let once = normalize(m);
            assert_eq!(normalize(&once), once);
        }
    }

    fn mine(messages: &[&str]) -> TemplateMiner {
        let mut m = TemplateMiner::new();
        for msg in messages {
            m.add("", msg);
        }
        m
    }

    #[test]
    fn one_family_shares_a_cluster() {
        let m = mine(&[
            "ENOENT: no such file or directory, open '/home/a/x.json'",
            "ENOENT: no such file or directory, open '/var/lib/y.txt'",
            "ENOENT: no such file or directory, open './z'",
        ]);
        assert_eq!(m.clusters().len(), 1);
        assert_eq!(
            m.template(1).as_deref(),
            Some("ENOENT: no such file or directory, open <PATH>")
        );
        assert_eq!(m.clusters()[0].size, 3);
    }

    #[test]
    fn variable_words_generalise() {
        let m = mine(&[
            "user alice not found in group admins",
            "user bob not found in group admins",
        ]);
        assert_eq!(m.clusters().len(), 1);
        assert_eq!(
            m.template(1).as_deref(),
            Some("user <*> not found in group admins")
        );
    }

    #[test]
    fn families_do_not_merge() {
        let m = mine(&[
            "ENOENT: no such file or directory, open '/a'",
            "EACCES: permission denied, open '/a'",
            "connection refused to 10.0.0.1:80",
            "connection reset by peer",
        ]);
        assert_eq!(m.clusters().len(), 4);
    }

    #[test]
    fn variable_length_messages_share_a_template() {
        let m = mine(&[
            "proxy.example.com:443 close, 1024 bytes sent, 5 bytes received, lifetime 00:01",
            "proxy.example.com:443 close, 4096 bytes (4.00 KB) sent, 12 bytes received, lifetime 00:02",
            "cdn.example.net:80 close, 7 bytes sent, 9 bytes received, lifetime 00:03",
        ]);
        assert_eq!(m.clusters().len(), 1, "{:?}", m.clusters());
        assert_eq!(
            m.template(1).as_deref(),
            Some("<HOST> close, <NUM> bytes <*> sent, <NUM> bytes received, lifetime <TS>")
        );
    }

    #[test]
    fn different_wording_does_not_merge() {
        // Same length, same first word, enough shared tokens for a plain Drain match, but
        // two consecutive different words.
        let m = mine(&[
            "Received disconnect from 10.0.0.1: 11: Bye Bye [preauth]",
            "Received disconnect from 10.0.0.2: 11: disconnected by user",
        ]);
        assert_eq!(m.clusters().len(), 2, "{:?}", m.clusters());
        // One different word is a value and generalises.
        let m = mine(&[
            "Connection closed by user alice",
            "Connection closed by user bob",
        ]);
        assert_eq!(m.clusters().len(), 1);
        assert_eq!(
            m.template(1).as_deref(),
            Some("Connection closed by user <*>")
        );
    }

    #[test]
    fn indexed_names_are_values() {
        // One name with two indices: the index is a value, wherever the name stands.
        let m = mine(&[
            "Processor [CPU0] (supports C1)",
            "Processor [CPU1] (supports C1)",
            "IRQ0 used by override.",
            "IRQ9 used by override.",
            "eth0: link is up",
            "eth1: link is up",
        ]);
        assert_eq!(m.clusters().len(), 3, "{:?}", m.clusters());
        assert_eq!(
            m.template(1).as_deref(),
            Some("Processor <*> (supports C1)")
        );
        assert_eq!(m.template(2).as_deref(), Some("<*> used by override."));
        assert_eq!(m.template(3).as_deref(), Some("<*> link is up"));
        // Different names, or longer numbers, are still different codes or words.
        for (a, b) in [
            ("proxy open HTTPS", "proxy open SOCKS5"),
            (
                "error[E0308]: mismatched types",
                "error[E0277]: mismatched types",
            ),
            ("CPU0 failed", "GPU1 failed"),
        ] {
            assert_eq!(mine(&[a, b]).clusters().len(), 2, "{a} / {b}");
        }
        assert!(same_indexed_name("[CPU0]", "[CPU12]"));
        assert!(!same_indexed_name("[CPU0]", "CPU1"));
        assert!(!same_indexed_name("E0308", "E0277"));
    }

    #[test]
    fn state_words_are_not_values() {
        // Two different states are two different messages, whatever the order.
        for (a, b) in [
            ("Link is up", "Link is down"),
            ("BTLE scanner Powered On", "BTLE scanner Powered Off"),
            (
                "Location icon should now be in state 'Active'",
                "Location icon should now be in state 'Inactive'",
            ),
            ("cupsd startup succeeded", "cupsd shutdown succeeded"),
            ("port 3 link=up", "port 3 link=down"),
            (
                "syncPowerState: WWEN[enable]",
                "syncPowerState: WWEN[disable]",
            ),
            ("Network is reachable", "Network is unreachable"),
        ] {
            let m = mine(&[a, b, a]);
            assert_eq!(m.clusters().len(), 2, "{a} / {b}: {:?}", m.clusters());
        }
        // A quoted state word stays in the text; other quoted words are still values.
        check("state 'Active'", "state 'Active'");
        check("service 'fetcher' started", "service <QUOTED> started");
        // Other words still generalise, and the same state in another case is one state.
        let m = mine(&[
            "session opened for user alice",
            "session opened for user bob",
            "Link is UP",
            "Link is up",
        ]);
        assert_eq!(m.clusters().len(), 2, "{:?}", m.clusters());
        assert_eq!(
            m.template(1).as_deref(),
            Some("session opened for user <*>")
        );
    }

    #[test]
    fn a_different_word_with_a_value_of_another_shape_is_another_message() {
        for (a, b) in [
            (
                "en0: channel changed to 1",
                "en0: BSSID changed to 5c:50:15:36:bc:03",
            ),
            (
                "Block rdd_1 stored as bytes in memory",
                "Block rdd_2_piece0 stored as values in memory",
            ),
        ] {
            assert_eq!(mine(&[a, b]).clusters().len(), 2, "{a} / {b}");
        }
        // A different word alone is a value; an address written as a name or a number is
        // one kind of value.
        let m = mine(&[
            "Failed password for root from 10.0.0.7 port 22 ssh2",
            "Failed password for admin from db.example.com port 2222 ssh2",
        ]);
        assert_eq!(m.clusters().len(), 1, "{:?}", m.clusters());
        assert_eq!(
            m.template(1).as_deref(),
            Some("Failed password for <*> from <*> port <NUM> ssh2")
        );
    }

    #[test]
    fn dotted_first_names_route_like_values() {
        // The component that logged comes first and varies; the message is the same.
        let m = mine(&[
            "com.example.sync.daily: told to run this job; however, the start time isn't for 30 seconds. Ignoring.",
            "org.example.cache.Hourly: told to run this job; however, the start time isn't for 4500 seconds. Ignoring.",
        ]);
        assert_eq!(m.clusters().len(), 1, "{:?}", m.clusters());
        assert_eq!(
            m.template(1).as_deref(),
            Some("<*> told to run this job; however, the start time isn't for <DUR>. Ignoring.")
        );
        // Different wording after the name still makes different messages.
        assert_eq!(
            mine(&[
                "com.example.sync: job queued",
                "com.example.cache: disk full"
            ])
            .clusters()
            .len(),
            2
        );
        assert!(is_dotted_name("com.example.sync-daily"));
        assert!(!is_dotted_name("e.g."));
        assert!(!is_dotted_name("1.2.3"));
        assert!(!is_dotted_name("a..b"));
    }

    #[test]
    fn device_families_are_different_messages() {
        // `en0` and `awdl0` are two interfaces of two kinds; `eth0` and `eth1` two of one.
        assert_eq!(
            mine(&["AirPort: Link Up on en0", "AirPort: Link Up on awdl0"])
                .clusters()
                .len(),
            2
        );
        let m = mine(&["eth0: link is up", "eth1: link is up"]);
        assert_eq!(m.clusters().len(), 1);
        // Longer names (hosts such as `aadmin1`, `badmin1`) stay values.
        assert_eq!(
            mine(&[
                "unable to qualify my own domain name (aadmin1) -- using short name",
                "unable to qualify my own domain name (badmin1) -- using short name",
            ])
            .clusters()
            .len(),
            1
        );
    }

    #[test]
    fn error_codes_stay_in_templates() {
        // Same wording, different codes: different errors, whatever the order.
        for (a, b) in [
            (
                "process exited with exit code 137",
                "process exited with exit code 1",
            ),
            ("request failed status=429", "request failed status=503"),
            (
                "GET /a failed: 404 Not Found",
                "GET /b failed: 500 Not Found",
            ),
            (
                "error[E0308]: mismatched types",
                "error[E0277]: mismatched types",
            ),
            ("killed by signal 9", "killed by signal 15"),
            ("proxy open HTTPS", "proxy open SOCKS5"),
            ("open /a/b failed: ENOENT", "open /a/c failed: EACCES"),
            ("worker killed by SIGKILL", "worker killed by SIGTERM"),
            (
                "rpc failed: PERMISSION_DENIED",
                "rpc failed: DEADLINE_EXCEEDED",
            ),
            (
                "read failed errno=ECONNRESET",
                "read failed errno=ETIMEDOUT",
            ),
        ] {
            let m = mine(&[a, b, a]);
            assert_eq!(m.clusters().len(), 2, "{a} / {b}: {:?}", m.clusters());
            assert_eq!(m.template(1).as_deref(), Some(normalize(a).as_str()));
        }
        // A value next to the code still generalises.
        let m = mine(&["job 12 failed: exit code 2", "job 13 failed: exit code 2"]);
        assert_eq!(
            m.template(1).as_deref(),
            Some("job <NUM> failed: exit code 2")
        );
    }

    #[test]
    fn token_kinds() {
        use Kind::*;
        for (message, expected) in [
            ("exit code 137", vec![Const, Const, Code]),
            ("status=429 rc=1", vec![Code, Code]),
            ("404 Not Found", vec![Code, Const, Const]),
            ("error[E0308]: ssh2 eth0", vec![Code, Const, Const]),
            ("user=<*> tty=ssh (HWID=<NUM>)", vec![Key(5), Const, Key(6)]),
            ("node-<NUM> 42 t761 R02-M1", vec![Var, Var, Var, Var]),
            ("<*> <IP>:<NUM>", vec![Var, Var]),
            ("\"GET true x=false", vec![Code, Var, Key(2)]),
            (
                "ENOENT: SIGKILL errno=EACCES reason:NOT_FOUND ERROR Error_x",
                vec![Code, Code, Code, Code, Const, Const],
            ),
            // A compound name holding an identifier is text; a list of one name is values.
            (
                r"[\_SB_.PCI0.PALO._PRT] domains:node-D4 an14 an15 eth0",
                vec![Const, Const, Var, Var, Const],
            ),
        ] {
            let tokens = tokenize(message);
            assert_eq!(kinds(&tokens), expected, "{message}");
        }
    }

    #[test]
    fn request_lines_keep_their_method() {
        check(
            r#"10.1.1.1 "GET /v2/abc/servers/detail HTTP/1.1" status: 200 len: 1893"#,
            r#"<IP> "GET <PATH> HTTP/1.1" status: 200 len: <NUM>"#,
        );
        let m = mine(&[
            r#"10.1.1.1 "GET /v2/a HTTP/1.1" status: 200 len: 1893 time: 0.24"#,
            r#"10.1.1.2 "POST /v2/a HTTP/1.1" status: 200 len: 183 time: 0.08"#,
            r#"10.1.1.3 "GET /v2/b HTTP/1.1" status: 200 len: 1583 time: 0.19"#,
        ]);
        assert_eq!(m.clusters().len(), 2, "{:?}", m.clusters());
    }

    #[test]
    fn booleans_are_values() {
        let m = mine(&[
            "set visible true for window main",
            "set visible false for window main",
            "flag=true done",
            "flag=false done",
        ]);
        assert_eq!(m.clusters().len(), 2, "{:?}", m.clusters());
        assert_eq!(
            m.template(1).as_deref(),
            Some("set visible <*> for window main")
        );
        assert_eq!(m.template(2).as_deref(), Some("flag=<*> done"));
    }

    #[test]
    fn keys_of_variable_values_are_part_of_the_wording() {
        // `rhost=… user=…` and `rhost=…` never share a template, whatever the values.
        let m = mine(&[
            "auth failure; rhost=10.0.0.1 user=root",
            "auth failure; rhost=10.0.0.2",
            "auth failure; rhost=db.example.com user=admin",
            "auth failure; rhost=db.example.com",
        ]);
        assert_eq!(m.clusters().len(), 2, "{:?}", m.clusters());
        assert_eq!(
            m.template(1).as_deref(),
            Some("auth failure; rhost=<*> user=<*>")
        );
        assert_eq!(m.template(2).as_deref(), Some("auth failure; rhost=<*>"));
    }

    #[test]
    fn two_different_constants_are_different_wording() {
        let m = mine(&[
            "check stepSum or calorieSum is enough",
            "check stepStatSum or calorieStatSum is enough",
            "check stepSum or calorieSum is enough",
        ]);
        assert_eq!(m.clusters().len(), 2, "{:?}", m.clusters());
        let m = mine(&[
            "auth failure; tty=ssh ruser= rhost=10.0.0.1",
            "auth failure; tty=:0 ruser= rhost=",
        ]);
        assert_eq!(m.clusters().len(), 2, "{:?}", m.clusters());
    }

    #[test]
    fn different_sentence_final_words_are_different_messages() {
        let m = mine(&[
            "Session: 12_34 initialized by client Updater.",
            "Session: 12_35 initialized by client Updater.",
            "Session: 12_36 initialized by client Scheduler.",
        ]);
        assert_eq!(m.clusters().len(), 2, "{:?}", m.clusters());
        assert_eq!(
            m.template(1).as_deref(),
            Some("Session: <NUM>_<NUM> initialized by client Updater.")
        );
        // Without the full stop, or before the end, one different word is still a value.
        let m = mine(&[
            "session closed for user alice",
            "session closed for user bob",
            "job alice. done",
            "job bob. done",
        ]);
        assert_eq!(m.clusters().len(), 2, "{:?}", m.clusters());
    }

    #[test]
    fn different_values_count_as_similar() {
        let m = mine(&[
            "connect to 10.0.0.1:80 failed: ECONNREFUSED",
            "connect to db.example.com:5432 failed: ECONNREFUSED",
        ]);
        assert_eq!(m.clusters().len(), 1);
        assert_eq!(
            m.template(1).as_deref(),
            Some("connect to <*> failed: ECONNREFUSED")
        );
    }

    #[test]
    fn from_clusters_keeps_ids_and_continues_numbering() {
        let m = mine(&["disk full", "user alice logged in", "user bob logged in"]);
        let mut r = TemplateMiner::from_clusters(m.clusters().iter().rev().cloned().collect());
        assert_eq!(r.clusters(), m.clusters());
        assert_eq!(r.add("", "totally new thing").cluster_id, 3);
        assert_eq!(r.add("", "user carol logged in").cluster_id, 2);
    }

    #[test]
    fn partitions_isolate() {
        let mut m = TemplateMiner::new();
        let a = m.add("read_file\u{1f}not_found", "no such file /a");
        let b = m.add("write_file\u{1f}not_found", "no such file /a");
        assert_ne!(a.cluster_id, b.cluster_id);
        assert_eq!(
            m.match_message("read_file\u{1f}not_found", "no such file /b"),
            Some(a.cluster_id)
        );
        assert_eq!(m.match_message("other", "no such file /b"), None);
    }

    #[test]
    fn add_reports_changes() {
        let mut m = TemplateMiner::new();
        assert_eq!(
            m.add("", "user alice logged in"),
            Mined {
                cluster_id: 1,
                changed: true
            }
        );
        assert_eq!(
            m.add("", "user alice logged in"),
            Mined {
                cluster_id: 1,
                changed: false
            }
        );
        assert_eq!(
            m.add("", "user bob logged in"),
            Mined {
                cluster_id: 1,
                changed: true
            }
        );
        assert_eq!(
            m.add("", "disk full"),
            Mined {
                cluster_id: 2,
                changed: true
            }
        );
    }

    #[test]
    fn passes_repeat_until_nothing_changes() {
        // One pass leaves what a second masks further; `normalize` repeats them.
        for m in ["'</A\\'", "~/,``` x", "0 E0308 '/a b\\' \"/x\\\""] {
            let once = normalize(m);
            assert_eq!(normalize(&once), once, "{m:?}");
        }
        assert_eq!(normalize("'</A\\'"), "<QUOTED>");
    }

    #[test]
    fn a_rooted_word_holding_a_mask_is_not_a_path() {
        // Found by the property test: the first pass masked the quotes, the second made
        // the whole word a path.
        check("/{'':®", "/{<QUOTED>:®");
        check("/{<QUOTED>:®", "/{<QUOTED>:®");
        check("/{'':A", "/{<QUOTED>:A");
        check("/{<QUOTED>:A", "/{<QUOTED>:A");
        check("open /srv/x failed", "open <PATH> failed");
        check("\"/.\\\"", "\"<PATH>\"");
        check("\"<PATH>\"", "\"<PATH>\"");
    }

    #[test]
    fn match_message_does_not_mutate() {
        let m = mine(&["user alice logged in"]);
        let before = m.clusters().to_vec();
        assert_eq!(m.match_message("", "user bob logged in"), Some(1));
        assert_eq!(m.match_message("", "totally different thing"), None);
        assert_eq!(m.clusters(), &before[..]);
    }

    #[test]
    fn restart_gives_the_same_result() {
        let messages: Vec<String> = (0..80)
            .map(|i| match i % 8 {
                0 => format!("ENOENT: no such file or directory, open '/tmp/{i}.json'"),
                1 => format!("user u{} not found in group g{}", i % 4, i % 3),
                2 => format!("connection to 10.0.{}.1:80 timed out after {i}s", i % 5),
                3 => format!("job {} failed: exit code {}", i, i % 2),
                4 => format!("key=value{} other=x{}", i % 3, i % 2),
                5 => format!(
                    "sent {i} bytes{} to peer {}",
                    if i % 3 == 0 { " (1.5 KB)" } else { "" },
                    i % 4
                ),
                6 => format!(
                    "step {} of {} {}",
                    i % 3,
                    i,
                    ["ok", "failed", "ok ok"][i % 3]
                ),
                _ => format!("word{} word{} word", i % 7, i % 2),
            })
            .collect();
        for split in 0..=messages.len() {
            let mut a = TemplateMiner::new();
            for msg in &messages[..split] {
                a.add("p", msg);
            }
            let mut b = TemplateMiner::from_clusters(a.clusters().to_vec());
            for msg in &messages[split..] {
                let x = a.add("p", msg);
                let y = b.add("p", msg);
                assert_eq!(x, y, "split {split}, message {msg:?}");
            }
            assert_eq!(a.clusters(), b.clusters());
        }
    }

    /// The `Content` column of a Loghub sample (`LineId,Content,EventId`, RFC 4180 quoting).
    fn loghub_contents(name: &str) -> Option<Vec<String>> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/data/loghub")
            .join(format!("{name}_2k.log_structured.csv"));
        let text = std::fs::read_to_string(path).ok()?;
        let mut out = Vec::new();
        for line in text.lines().skip(1) {
            let rest = line.split_once(',')?.1;
            let content = if let Some(quoted) = rest.strip_prefix('"') {
                let end = quoted.rfind("\",")?;
                quoted[..end].replace("\"\"", "\"")
            } else {
                rest.rsplit_once(',')?.0.to_owned()
            };
            out.push(content);
        }
        Some(out)
    }

    #[test]
    fn restart_gives_the_same_result_on_real_logs() {
        for name in ["HDFS", "OpenSSH", "Proxifier", "HealthApp", "Mac"] {
            let Some(messages) = loghub_contents(name) else {
                continue;
            };
            let mut whole = TemplateMiner::new();
            let ids: Vec<u32> = messages
                .iter()
                .map(|m| whole.add("", m).cluster_id)
                .collect();
            for split in [0, 1, 2, 17, 250, 999, 1500, messages.len() - 1] {
                let mut a = TemplateMiner::new();
                for msg in &messages[..split] {
                    a.add("", msg);
                }
                let mut b = TemplateMiner::from_clusters(a.clusters().to_vec());
                for (k, msg) in messages.iter().enumerate().skip(split) {
                    assert_eq!(
                        b.add("", msg).cluster_id,
                        ids[k],
                        "{name} split {split} line {k}"
                    );
                }
                assert_eq!(b.clusters(), whole.clusters(), "{name} split {split}");
            }
        }
    }

    #[test]
    fn throughput() {
        let messages: Vec<String> = (0..20_000)
            .map(|i| match i % 5 {
                0 => format!(
                    "ENOENT: no such file or directory, open '/home/u{}/p/{i}.json'",
                    i % 13
                ),
                1 => format!("Error: connect ECONNREFUSED 127.0.0.1:{}", 3000 + i % 50),
                2 => format!(
                    "command failed with exit code {}: npm run build{}",
                    i % 3,
                    i % 7
                ),
                3 => format!(
                    "request to https://api.example.com/v1/items/{i} failed: 429 Too Many Requests"
                ),
                _ => format!("timeout after {}ms waiting for lock on db row {i}", i % 900),
            })
            .collect();
        let started = std::time::Instant::now();
        let mut m = TemplateMiner::new();
        for msg in &messages {
            m.add("tool\u{1f}class", msg);
        }
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "template throughput: {:.0} messages/s ({} clusters)",
            messages.len() as f64 / secs,
            m.clusters().len()
        );
        // The same on the real-world samples, when present (one partition per source).
        let names = [
            "Apache",
            "HDFS",
            "HPC",
            "HealthApp",
            "OpenSSH",
            "Proxifier",
            "Spark",
            "Zookeeper",
        ];
        let real: Vec<(&str, Vec<String>)> = names
            .iter()
            .filter_map(|n| loghub_contents(n).map(|c| (*n, c)))
            .collect();
        if !real.is_empty() {
            let count: usize = real.iter().map(|(_, c)| c.len()).sum();
            let started = std::time::Instant::now();
            let mut m = TemplateMiner::new();
            for (name, contents) in &real {
                for msg in contents {
                    m.add(name, msg);
                }
            }
            let secs = started.elapsed().as_secs_f64();
            eprintln!(
                "template throughput on {count} Loghub messages: {:.0} messages/s ({} clusters)",
                count as f64 / secs,
                m.clusters().len()
            );
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Words of error messages: constants, codes, and values of every masked kind.
        fn word() -> impl Strategy<Value = String> {
            prop_oneof![
                prop::sample::select(vec![
                    "error",
                    "failed",
                    "to",
                    "open",
                    "connection",
                    "refused",
                    "timed",
                    "out",
                    "after",
                    "exit",
                    "code",
                    "status",
                    "ENOENT:",
                    "EACCES",
                    "HTTP",
                    "404",
                    "Not",
                    "Found",
                    "user",
                    "not",
                    "found",
                    "in",
                    "group",
                    "=",
                    "(",
                    ")",
                    "at",
                    "retry",
                    "of",
                    "key=",
                    "sent",
                    "bytes",
                    "E0308",
                    "GET",
                ])
                .prop_map(str::to_owned),
                "[0-9]{1,6}(\\.[0-9]{1,3})?(ms|s|MB|%)?",
                "/[a-z]{1,6}(/[a-z0-9_.-]{1,8}){0,3}",
                "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}(:[0-9]{2,5})?",
                "'[^'\\n]{0,12}'",
                "\"[^\"\\n]{0,12}\"",
                "https?://[a-z.]{1,12}/[a-z0-9/?=&]{0,12}",
                "[a-z]{1,8}=[a-zA-Z0-9_]{0,8}",
                "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                "0x[0-9a-f]{1,12}",
                "20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z",
                "[a-zA-Z_]{1,10}[0-9]{0,2}[,.:;!?]?",
            ]
        }

        fn message() -> impl Strategy<Value = String> {
            prop::collection::vec(word(), 0..14).prop_map(|w| w.join(" "))
        }

        proptest! {
            /// Normalising a normalised message changes nothing (passes repeat until nothing
            /// changes; a single pass is not idempotent on quote runs glued to paths).
            #[test]
            fn normalizing_is_idempotent(m in message()) {
                let once = normalize(&m);
                prop_assert_eq!(normalize(&once), once);
            }

            /// A template matches the message it was just mined from: the message is found
            /// again, in the same cluster, right after it was added. (Later merges can take
            /// an earlier message's route away: `E0308 error`, `E0308 failed`, `0 E0308`
            /// leave `E0308 error` matching no template. Not asserted until the miner keeps
            /// its members' routes.)
            #[test]
            fn a_template_matches_the_message_it_was_mined_from(
                messages in prop::collection::vec(message(), 1..40),
            ) {
                let mut miner = TemplateMiner::new();
                for m in &messages {
                    let mined = miner.add("p", m);
                    prop_assert_eq!(miner.match_message("p", m), Some(mined.cluster_id), "{:?} in {:?}", m, miner.clusters());
                }
            }

            /// Exporting the clusters and rebuilding at any point gives the same ids and
            /// templates afterwards as carrying on with the original miner.
            #[test]
            fn a_rebuilt_miner_goes_on_like_the_original(
                messages in prop::collection::vec((message(), 0u8..3), 1..40),
                cut in any::<prop::sample::Index>(),
            ) {
                let cut = cut.index(messages.len() + 1);
                let mut miner = TemplateMiner::new();
                for (m, p) in &messages[..cut] {
                    miner.add(&p.to_string(), m);
                }
                let mut rebuilt = TemplateMiner::from_clusters(miner.clusters().to_vec());
                for (m, p) in &messages[cut..] {
                    prop_assert_eq!(miner.add(&p.to_string(), m), rebuilt.add(&p.to_string(), m));
                }
                prop_assert_eq!(miner.clusters(), rebuilt.clusters());
            }
        }
    }
}
