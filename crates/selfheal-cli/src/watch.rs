//! `self-heal watch`: the daemon loop around `App::watch_pass`.
//!
//! Each pass's report is one JSON line on stdout; problems go to stderr and the loop goes on
//! (a briefly locked or missing database is retried at the next pass). SIGINT and SIGTERM stop
//! it cleanly between passes or during the wait.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use selfheal_app::App;

pub fn run(app: App, interval_s: u64, once: bool) -> anyhow::Result<()> {
    if interval_s == 0 {
        anyhow::bail!("--interval must be at least 1 second");
    }
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    loop {
        let report = app.watch_pass();
        for e in &report.errors {
            eprintln!("watch: {}", selfheal_app::sanitize::error_text(e));
        }
        println!("{}", selfheal_app::sanitize::json_string(&report, false)?);
        if once {
            return Ok(());
        }
        let until = Instant::now() + Duration::from_secs(interval_s);
        while Instant::now() < until {
            if stop.load(Ordering::Relaxed) {
                eprintln!("watch: stopping");
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if stop.load(Ordering::Relaxed) {
            eprintln!("watch: stopping");
            return Ok(());
        }
    }
}
