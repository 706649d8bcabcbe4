//! `self-heal watch`: the daemon loop around `App::watch_pass_with`.
//!
//! Each pass's report is one JSON line on stdout; problems go to stderr and the loop goes on
//! (a briefly locked or missing database is retried at the next pass). SIGINT and SIGTERM stop
//! it cleanly between passes or during the wait.
//!
//! With `--heal` the loop acts under the healing policy while it holds the one-healer lock
//! (`<database>.heal.lock`, an OS file lock released when the process ends, however it ends);
//! without the lock it only detects, and tries to take the lock again at each pass.
//! `--heal --dry-run` prints what one pass would do (the policy's plan) and changes nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use selfheal_app::App;
use selfheal_app::policy::HealLock;
use selfheal_app::watch::Healer;

pub struct Options {
    pub interval_s: u64,
    pub once: bool,
    pub heal: bool,
    pub dry_run: bool,
    /// For `--dry-run`: the plan as JSON rather than text.
    pub json: bool,
}

pub fn run(app: App, options: Options) -> anyhow::Result<()> {
    if options.interval_s == 0 {
        anyhow::bail!("--interval must be at least 1 second");
    }
    if options.dry_run {
        let mut quiet = |_: u64, _: u64| {};
        let plan = app.heal_plan(&mut quiet)?;
        if options.json {
            println!("{}", selfheal_app::sanitize::json_string(&plan, true)?);
        } else {
            print!(
                "{}",
                selfheal_app::sanitize::clean(
                    &selfheal_app::policy::render(&plan),
                    selfheal_app::sanitize::Sink::Terminal
                )
            );
        }
        return Ok(());
    }
    if options.heal {
        // A policy that cannot be read is a mistake to fix now, not at every pass.
        app.load_policy()?;
    }
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    let mut lock: Option<HealLock> = None;
    loop {
        let report = if options.heal {
            let waiting = if lock.is_none() {
                match app.try_heal_lock() {
                    Ok(l) => {
                        lock = Some(l);
                        None
                    }
                    Err(why) => Some(why),
                }
            } else {
                None
            };
            match (&lock, waiting) {
                (Some(l), _) => app.watch_pass_with(&Healer::Holding(l)),
                (None, why) => app.watch_pass_with(&Healer::Waiting(why.unwrap_or_default())),
            }
        } else {
            app.watch_pass()
        };
        for e in &report.errors {
            eprintln!("watch: {}", selfheal_app::sanitize::error_text(e));
        }
        println!("{}", selfheal_app::sanitize::json_string(&report, false)?);
        if options.once {
            return Ok(());
        }
        let until = Instant::now() + Duration::from_secs(options.interval_s);
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
