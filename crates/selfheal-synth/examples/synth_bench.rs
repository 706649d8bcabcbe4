//! Generates a history into a fresh file and reports the write speed.
//!
//! `cargo run -p selfheal-synth --release --example synth_bench -- [EVENTS] [PATH] [PROFILE] [DAYS]`
//! (defaults: 1 000 000 events, a file in the temp directory, removed afterwards, the
//! `default` profile, 30 days; pass `-` as PATH for the temporary file).
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use chrono::{TimeZone, Utc};
use selfheal_synth::{SynthConfig, generate};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let events: u64 = args.next().map_or(Ok(1_000_000), |s| s.parse())?;
    let keep = args.next().filter(|p| p != "-");
    let profile: selfheal_synth::Profile =
        args.next().map_or(Ok(Default::default()), |s| s.parse())?;
    let path = keep.clone().map_or_else(
        || std::env::temp_dir().join(format!("synth-bench-{}.db", std::process::id())),
        std::path::PathBuf::from,
    );
    let _ = std::fs::remove_file(&path);
    let mut conn = rusqlite::Connection::open(&path)?;
    let end = Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).unwrap();
    let days: u32 = args.next().map_or(Ok(30), |s| s.parse())?;
    let mut cfg = SynthConfig::new(42, events, end);
    cfg.days = days;
    cfg.collect_truth = false;
    cfg.profile = profile;
    let t0 = Instant::now();
    let truth = generate(&mut conn, &cfg)?;
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "generate: {} events, {} runs in {:.2}s = {:.0} events/s",
        truth.total_events,
        truth.total_runs,
        secs,
        truth.total_events as f64 / secs
    );
    let t1 = Instant::now();
    let n = selfheal_synth::append_profile_events(
        &mut conn,
        profile,
        1,
        10_000,
        end + chrono::Duration::minutes(30),
    )?;
    println!(
        "append_events: {n} events in {:.3}s",
        t1.elapsed().as_secs_f64()
    );
    let size = std::fs::metadata(&path)?.len();
    println!("file: {} ({:.1} MB)", path.display(), size as f64 / 1e6);
    let mut summary = truth.clone();
    summary
        .patterns
        .iter_mut()
        .for_each(|p| p.occurrence_timestamps_ms.clear());
    let in_window = summary.causes_in_window(3).count();
    summary
        .causes
        .iter_mut()
        .for_each(|c| c.occurrence_list.clear());
    println!("causes with >= 3 occurrences in the last 7 days: {in_window}");
    println!("{}", serde_json::to_string_pretty(&summary)?);
    drop(conn);
    if keep.is_none() {
        let _ = std::fs::remove_file(&path);
    }
    Ok(())
}
