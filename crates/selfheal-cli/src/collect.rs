//! `self-heal collect`: the OTLP/HTTP receiver as a long-lived process, with a progress line
//! on stderr every few seconds while something changes, and a clean stop on Ctrl-C / SIGTERM
//! (requests in flight are committed and answered first).

use selfheal_store::Database;
use std::sync::Arc;
use std::time::Duration;

use selfheal_collect::server::{Counters, Options, serve};

/// What `collect` accepts, from its flags.
pub struct Limits {
    pub max_body: usize,
    pub token: Option<String>,
    pub request_timeout: Duration,
}

pub fn run(db: Database, listen: &str, limits: Limits) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
        let addr = listener.local_addr()?;
        if !addr.ip().is_loopback() && limits.token.is_none() {
            anyhow::bail!(
                "collect listens on {addr}, which other machines reach: set a bearer token with --token or SELFHEAL_COLLECT_TOKEN (harnesses send it with OTEL_EXPORTER_OTLP_HEADERS=\"Authorization=Bearer <token>\"), or listen on 127.0.0.1"
            );
        }
        let counters = Arc::new(Counters::default());
        let progress = counters.clone();
        eprintln!(
            "collect: listening on http://{addr} (POST /v1/logs, /v1/traces), writing to {}",
            db.describe()
        );
        let ticker = tokio::spawn(async move {
            let mut last = String::new();
            loop {
                tokio::time::sleep(Duration::from_secs(5)).await;
                let line = progress.line();
                if line != last {
                    eprintln!("collect: {line}");
                    last = line;
                }
            }
        });
        let mut options = Options::new(db);
        options.max_body = limits.max_body;
        options.token = limits.token;
        options.request_timeout = limits.request_timeout;
        let stop = async {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
            }
        };
        let served = serve(listener, options, counters.clone(), stop).await;
        ticker.abort();
        eprintln!("collect: stopped; {}", counters.line());
        served.map_err(anyhow::Error::from)
    })
}
