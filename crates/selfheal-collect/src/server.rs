//! The OTLP/HTTP receiver: `POST /v1/logs` and `POST /v1/traces` into the run history.
//!
//! - A request is decoded and mapped on the HTTP side, then handed to the one writer thread
//!   through a bounded queue; it is answered **200 only after its records are committed**.
//!   The writer takes every request waiting at that moment into one transaction, so a busy
//!   receiver writes in large batches, and memory stays bounded by the queue.
//! - Answers follow OTLP/HTTP: the export response in the request's encoding, with
//!   `partial_success` (`rejected_log_records` / `rejected_spans` and the first reason) when
//!   some items were refused; `400` for a body that cannot be decoded, `413` above the size
//!   limit (the inflated size of a gzip body included), `415` for another content type, `429`
//!   with `Retry-After` when the queue is full (writes are backing up), `503` when the write
//!   failed. `POST /v1/metrics` is accepted and dropped (harnesses export metrics beside their
//!   logs and would log errors otherwise).
//! - Counters are kept for the progress line the command prints on stderr.

use selfheal_store::Database;
use std::borrow::Cow;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use prost::Message;
use selfheal_import::model::{Format, Record};
use selfheal_import::writer::{Batch, Writer};
use tokio::sync::oneshot;

use crate::decode::{DecodeError, Encoding, Export, Signal, decode, gunzip};
use crate::map::{self, Mapped};

/// How the receiver runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// The run history written to (created when missing): SQLite or PostgreSQL.
    pub db: Database,
    /// Largest body accepted, after inflating.
    pub max_body: usize,
    /// Requests waiting for the writer before new ones get 429.
    pub queue: usize,
    /// When set, every request must carry `Authorization: Bearer <token>` (401 otherwise).
    pub token: Option<String>,
    /// A request (its body read, decoded and committed) taking longer is answered 408.
    pub request_timeout: std::time::Duration,
}

impl Options {
    pub fn new(db: Database) -> Options {
        Options {
            db,
            max_body: 16 * 1024 * 1024,
            queue: 256,
            token: None,
            request_timeout: std::time::Duration::from_secs(30),
        }
    }
}

/// What the receiver has done so far.
#[derive(Debug, Default)]
pub struct Counters {
    pub requests: AtomicU64,
    /// Tool calls written (their results).
    pub tool_results: AtomicU64,
    /// Items refused inside accepted requests.
    pub rejected: AtomicU64,
    /// Requests answered 400 / 413 / 415.
    pub refused: AtomicU64,
    /// Requests answered 429.
    pub busy: AtomicU64,
    /// Requests whose write failed (503).
    pub failed: AtomicU64,
    /// Metrics requests accepted and dropped.
    pub metrics: AtomicU64,
}

impl Counters {
    /// One line for the progress display.
    pub fn line(&self) -> String {
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        format!(
            "{} requests, {} tool results written, {} items rejected, {} requests refused, {} busy (429), {} failed writes, {} metrics requests dropped",
            n(&self.requests),
            n(&self.tool_results),
            n(&self.rejected),
            n(&self.refused),
            n(&self.busy),
            n(&self.failed),
            n(&self.metrics)
        )
    }
}

/// Why the receiver could not start.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error(transparent)]
    Import(#[from] selfheal_import::ImportError),
    #[error("cannot serve on {addr}: {source}")]
    Serve {
        addr: String,
        source: std::io::Error,
    },
}

struct Job {
    records: Vec<Record>,
    reply: oneshot::Sender<Result<(), String>>,
}

#[derive(Clone)]
struct Shared {
    queue: SyncSender<Job>,
    counters: Arc<Counters>,
    /// Bodies decoded at once: a decoded export takes several times its body's memory, so
    /// this (one per core), not the number of clients, bounds the receiver's memory.
    decoding: Arc<tokio::sync::Semaphore>,
}

/// Serves on `listener` until `shutdown` completes; requests in flight are finished and
/// their records committed before it returns.
pub async fn serve(
    listener: tokio::net::TcpListener,
    options: Options,
    counters: Arc<Counters>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), CollectError> {
    // Opened off the async threads: the PostgreSQL client blocks (and runs a runtime of its own).
    let db = options.db.clone();
    let writer = tokio::task::spawn_blocking(move || selfheal_postgres::open_writer(&db))
        .await
        .map_err(|e| CollectError::Serve {
            addr: "the writer".into(),
            source: std::io::Error::other(e.to_string()),
        })??;
    let (queue, jobs) = sync_channel::<Job>(options.queue);
    let writing = std::thread::Builder::new()
        .name("collect-writer".into())
        .spawn(move || write_loop(writer, jobs))
        .map_err(|source| CollectError::Serve {
            addr: "the writer thread".into(),
            source,
        })?;
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let shared = Shared {
        queue,
        counters: counters.clone(),
        decoding: Arc::new(tokio::sync::Semaphore::new(cores.clamp(1, 4))),
    };
    let app = Router::new()
        .route("/v1/logs", post(logs))
        .route("/v1/traces", post(traces))
        .route("/v1/metrics", post(metrics))
        .layer(DefaultBodyLimit::max(options.max_body))
        .layer(axum::middleware::from_fn_with_state(
            Guard {
                token: options.token.clone().map(Arc::from),
                timeout: options.request_timeout,
            },
            guard,
        ))
        .with_state((shared, options.max_body));
    let addr = listener
        .local_addr()
        .map(|a: SocketAddr| a.to_string())
        .unwrap_or_default();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|source| CollectError::Serve { addr, source });
    // The router (and with it the queue's last sender) is gone: the writer drains and ends.
    let _ = writing.join();
    served
}

/// The writer thread: every waiting request in one transaction, then their answers.
fn write_loop(mut writer: Writer, jobs: Receiver<Job>) {
    const MAX_RECORDS: usize = 20_000;
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        let mut size = batch[0].records.len();
        while size < MAX_RECORDS {
            match jobs.try_recv() {
                Ok(job) => {
                    size += job.records.len();
                    batch.push(job);
                }
                Err(_) => break,
            }
        }
        let mut records = Vec::with_capacity(size);
        let mut replies = Vec::with_capacity(batch.len());
        for job in batch {
            records.extend(job.records);
            replies.push(job.reply);
        }
        let now = now_ms();
        let result = writer
            .apply(&Batch {
                format: Format::Otel,
                source_file: None,
                fallback_ms: now,
                records: &records,
                file: None,
            })
            .map(|_| ())
            .map_err(|e| e.to_string());
        if let Err(e) = &result {
            tracing::error!(error = %e, "cannot write collected records");
        }
        for reply in replies {
            let _ = reply.send(result.clone());
        }
    }
}

/// What every request is checked against before its body is read.
#[derive(Clone)]
struct Guard {
    token: Option<Arc<str>>,
    timeout: std::time::Duration,
}

/// The bearer token (when one is required) and the request timeout, which also bounds a
/// client that sends its body slowly.
async fn guard(
    State(guard): State<Guard>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if let Some(token) = &guard.token {
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !same_secret(given.trim().as_bytes(), token.as_bytes()) {
            let mut r = refuse(
                StatusCode::UNAUTHORIZED,
                "a bearer token is required (OTEL_EXPORTER_OTLP_HEADERS=\"Authorization=Bearer <token>\")".into(),
            );
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return r;
        }
    }
    match tokio::time::timeout(guard.timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => refuse(
            StatusCode::REQUEST_TIMEOUT,
            format!("the request took longer than {} s", guard.timeout.as_secs()),
        ),
    }
}

/// Compares two secrets in time that depends on their lengths only.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

type AppState = (Shared, usize);

/// A body the extractor refused (over the limit: 413), counted like the others.
type Body = Result<Bytes, BytesRejection>;

async fn logs(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    receive(state, Signal::Logs, &headers, body).await
}

async fn traces(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    receive(state, Signal::Traces, &headers, body).await
}

async fn metrics(State((shared, _)): State<AppState>, headers: HeaderMap) -> Response {
    shared.counters.metrics.fetch_add(1, Ordering::Relaxed);
    let json = encoding_of(&headers) != Some(Encoding::Protobuf);
    answer(StatusCode::OK, json, Vec::new(), "{}")
}

fn encoding_of(headers: &HeaderMap) -> Option<Encoding> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(Encoding::of_content_type)
}

fn answer(status: StatusCode, json: bool, protobuf: Vec<u8>, json_body: &str) -> Response {
    let (content_type, body) = if json {
        ("application/json", json_body.as_bytes().to_vec())
    } else {
        ("application/x-protobuf", protobuf)
    };
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// An error answer: OTLP/HTTP says a `google.rpc.Status` may be sent; the message as text is
/// what clients log.
fn refuse(status: StatusCode, message: String) -> Response {
    (status, message).into_response()
}

async fn receive(
    (shared, max_body): AppState,
    signal: Signal,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    let counters = &shared.counters;
    counters.requests.fetch_add(1, Ordering::Relaxed);
    let body = match body {
        Ok(b) => b,
        Err(rejection) => {
            counters.refused.fetch_add(1, Ordering::Relaxed);
            return rejection.into_response();
        }
    };
    let Some(encoding) = encoding_of(headers) else {
        counters.refused.fetch_add(1, Ordering::Relaxed);
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/x-protobuf or application/json".into(),
        );
    };
    let gzip = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase());
    let Ok(decoding) = shared.decoding.clone().acquire_owned().await else {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "the receiver is stopping".into(),
        );
    };
    // A plain body is decoded where it lies; only an inflated one is a new buffer.
    let plain: Result<Cow<'_, [u8]>, DecodeError> = match gzip.as_deref() {
        None | Some("identity") => Ok(Cow::Borrowed(&body)),
        Some("gzip") => gunzip(&body, max_body).map(Cow::Owned),
        Some(other) => Err(DecodeError::Invalid(format!(
            "Content-Encoding {other} is not supported (gzip is)"
        ))),
    };
    let mapped = plain
        .and_then(|b| decode(signal, encoding, &b))
        .map(|e| match e {
            Export::Logs(req) => map::logs(&req),
            Export::Traces(req) => map::traces(&req),
        });
    let Mapped {
        records,
        tool_results,
        rejected,
        reason,
    } = match mapped {
        Ok(m) => m,
        Err(e) => {
            counters.refused.fetch_add(1, Ordering::Relaxed);
            let status = match e {
                DecodeError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                DecodeError::Invalid(_) => StatusCode::BAD_REQUEST,
            };
            return refuse(status, e.to_string());
        }
    };
    // Decoded and mapped: the export itself is gone, the records are what waits.
    drop(decoding);
    if !records.is_empty() {
        let (reply, done) = oneshot::channel();
        match shared.queue.try_send(Job { records, reply }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                counters.busy.fetch_add(1, Ordering::Relaxed);
                let mut r = refuse(
                    StatusCode::TOO_MANY_REQUESTS,
                    "writes are backing up; retry later".into(),
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                return r;
            }
            Err(TrySendError::Disconnected(_)) => {
                counters.failed.fetch_add(1, Ordering::Relaxed);
                return refuse(StatusCode::SERVICE_UNAVAILABLE, "the writer stopped".into());
            }
        }
        match done.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                // The database is down or restarting: nothing was written; the exporter
                // retries after the pause it is told.
                counters.failed.fetch_add(1, Ordering::Relaxed);
                let mut r = refuse(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("the records could not be written: {e}"),
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                return r;
            }
            Err(_) => {
                counters.failed.fetch_add(1, Ordering::Relaxed);
                return refuse(StatusCode::SERVICE_UNAVAILABLE, "the writer stopped".into());
            }
        }
    }
    counters
        .tool_results
        .fetch_add(tool_results, Ordering::Relaxed);
    counters.rejected.fetch_add(rejected, Ordering::Relaxed);
    let json = encoding == Encoding::Json;
    let message = reason.unwrap_or_default();
    match signal {
        Signal::Logs => {
            let response = ExportLogsServiceResponse {
                partial_success: (rejected > 0).then(|| ExportLogsPartialSuccess {
                    rejected_log_records: rejected as i64,
                    error_message: message.clone(),
                }),
            };
            let json_body = partial_json("rejectedLogRecords", rejected, &message);
            answer(StatusCode::OK, json, response.encode_to_vec(), &json_body)
        }
        Signal::Traces => {
            let response = ExportTraceServiceResponse {
                partial_success: (rejected > 0).then(|| ExportTracePartialSuccess {
                    rejected_spans: rejected as i64,
                    error_message: message.clone(),
                }),
            };
            let json_body = partial_json("rejectedSpans", rejected, &message);
            answer(StatusCode::OK, json, response.encode_to_vec(), &json_body)
        }
    }
}

/// The OTLP/JSON export response: `{}`, or `{"partialSuccess": {…}}` (int64 as a string).
fn partial_json(field: &str, rejected: u64, message: &str) -> String {
    if rejected == 0 {
        return "{}".into();
    }
    serde_json::json!({"partialSuccess": {field: rejected.to_string(), "errorMessage": message}})
        .to_string()
}
