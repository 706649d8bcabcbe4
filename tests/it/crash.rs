//! A crash at any point of a lifecycle transition leaves the previous state or the new one,
//! never a mix: the process is aborted (like `kill -9`) at injected points inside the
//! transition's transaction, and killed with SIGKILL at random moments; after each crash the
//! database is intact and every improvement's status equals the last state of its audit trail.
//! On the SQLite file and on a copy of it in PostgreSQL (when `SELFHEAL_PG_URL` names a
//! server), where the transaction dies with the process's connection.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use selfheal_store::Database;
use selfheal_tests::{PLANT_NOW, bin, on_each_engine, plant};

fn self_heal(dir: &Path, db: &Path, args: &[&str], crash_at: Option<&str>) -> Output {
    let mut cmd = Command::new(bin("self-heal"));
    cmd.args(args)
        .env("DATABASE_PATH", db)
        .env("SELFHEAL_NOW", PLANT_NOW)
        .env("SELFHEAL_INDEX_DIR", dir.join("index"))
        .env("INBOX_PATH", dir.join("inbox"));
    if let Some(point) = crash_at {
        cmd.env("SELFHEAL_CRASH_AT", point);
    }
    cmd.output().unwrap()
}

/// Status and audit trail of an improvement, checking that they agree and the file is intact.
fn consistent_state(db: &Path, id: &str) -> (String, Vec<String>) {
    let (status, trail) = match Database::parse(&db.to_string_lossy()) {
        Database::Postgres(url) => {
            let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            let status: String = client
                .query_one("SELECT status FROM improvements WHERE id = $1", &[&id])
                .unwrap()
                .get(0);
            let trail: Vec<String> = client
                .query(
                    "SELECT to_status FROM selfheal_improvement_events WHERE improvement_id = $1 ORDER BY id",
                    &[&id],
                )
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
            (status, trail)
        }
        Database::Sqlite(path) => sqlite_state(&path, id),
    };
    assert_eq!(
        trail.last(),
        Some(&status),
        "status and audit trail disagree: {status} vs {trail:?}"
    );
    (status, trail)
}

fn sqlite_state(db: &Path, id: &str) -> (String, Vec<String>) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let status: String = conn
        .query_row("SELECT status FROM improvements WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .unwrap();
    let mut stmt = conn
        .prepare("SELECT to_status FROM selfheal_improvement_events WHERE improvement_id = ?1 ORDER BY id")
        .unwrap();
    let trail: Vec<String> = stmt
        .query_map([id], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    (status, trail)
}

fn propose(dir: &Path, db: &Path, pattern: &str) -> String {
    let out = self_heal(
        dir,
        db,
        &["--json", "propose", pattern, "--since", "-30d"],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["improvement_id"].as_str().unwrap().to_string()
}

#[test]
fn an_abort_inside_a_transition_leaves_the_old_or_the_new_state() {
    let dir = tempfile::tempdir().unwrap();
    let (planted, truth) = plant(dir.path(), 1);
    for on in on_each_engine(&planted) {
        eprintln!("engine: {}", on.engine);
        aborts_leave_old_or_new(dir.path(), &on.db, &truth);
    }
}

fn aborts_leave_old_or_new(dir: &Path, db: &Path, truth: &serde_json::Value) {
    let patterns: Vec<&str> = truth["patterns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    let points = [
        "transition:after_update",
        "transition:before_commit",
        "transition:after_commit",
    ];
    // One fresh improvement per (transition, crash point): test on the first three patterns,
    // apply on the last three.
    for (i, point) in points.iter().enumerate() {
        for (pattern, apply) in [(patterns[i], false), (patterns[i + 3], true)] {
            let id = propose(dir, db, pattern);
            let args: Vec<&str> = if apply {
                assert!(self_heal(dir, db, &["test", &id], None).status.success());
                vec![
                    "apply",
                    &id,
                    "--yes",
                    "--changes",
                    "raised the timeout",
                    "--applied-at",
                    "2026-11-18T00:00:00Z",
                ]
            } else {
                vec!["test", &id]
            };
            let (before, next) = if apply {
                ("tested", "applied")
            } else {
                ("proposed", "tested")
            };
            let out = self_heal(dir, db, &args, Some(point));
            assert!(
                out.status.code().is_none(),
                "{point}: the process must have been aborted, got {:?}",
                out.status
            );
            let (status, _) = consistent_state(db, &id);
            let expected = if *point == "transition:after_commit" {
                next
            } else {
                before
            };
            assert_eq!(status, expected, "{pattern}: after a crash at {point}");
            // The same request again, without a crash, completes the step exactly once.
            if status == before {
                let out = self_heal(dir, db, &args, None);
                assert!(
                    out.status.success(),
                    "{point}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            let (status, trail) = consistent_state(db, &id);
            assert_eq!(status, next);
            let expected_trail: &[&str] = if apply {
                &["proposed", "tested", "applied"]
            } else {
                &["proposed", "tested"]
            };
            assert_eq!(
                trail, expected_trail,
                "one audit row per transition, none from aborted ones"
            );
        }
    }
}

#[test]
fn sigkill_at_random_moments_never_leaves_a_mix() {
    let dir = tempfile::tempdir().unwrap();
    let (planted, truth) = plant(dir.path(), 2);
    for on in on_each_engine(&planted) {
        eprintln!("engine: {}", on.engine);
        sigkills_never_mix(&dir.path().join(on.engine), &on.db, &truth);
    }
}

fn sigkills_never_mix(dir: &Path, db: &Path, truth: &serde_json::Value) {
    let patterns: Vec<String> = truth["patterns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    // Warm the index so each run spends its time in the lifecycle, not in catch-up.
    let ids: Vec<String> = patterns
        .iter()
        .take(4)
        .map(|p| propose(dir, db, p))
        .collect();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    for round in 0..24 {
        let id = &ids[round % ids.len()];
        let (status, _) = consistent_state(db, id);
        let args: Vec<&str> = match status.as_str() {
            "proposed" => vec!["test", id],
            "tested" => vec![
                "apply",
                id,
                "--yes",
                "--changes",
                "change",
                "--applied-at",
                "2026-11-18T00:00:00Z",
            ],
            "applied" => vec!["rollback", id, "--yes"],
            _ => continue,
        };
        let mut child = Command::new(bin("self-heal"))
            .args(&args)
            .env("DATABASE_PATH", db)
            .env("SELFHEAL_NOW", PLANT_NOW)
            .env("SELFHEAL_INDEX_DIR", dir.join("index"))
            .env("INBOX_PATH", dir.join("inbox"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::thread::sleep(Duration::from_millis(rng % 40));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let (after, _) = consistent_state(db, id);
        let next = match status.as_str() {
            "proposed" => "tested",
            "tested" => "applied",
            _ => "rolled_back",
        };
        assert!(
            after == status || after == next,
            "round {round}: {status} became {after}"
        );
    }
}
