//! Escalation end to end: a fix that keeps failing verification BLOCKs its pattern after three
//! attempts; apply then refuses without `override_block`; the block shows on the dashboard; a
//! malformed user playbook is reported, never fatal. Uses the shift history, where
//! `connection_refused:query_db` gets worse at a known instant whatever is applied.

use std::process::Command;

use selfheal_app::args::{ApplyArgs, CloseArgs, DashboardArgs, ProposeArgs, TestArgs, VerifyArgs};
use selfheal_app::{App, Clock, Config};
use selfheal_store::index::IndexLocation;
use selfheal_tests::{ms, quiet, workspace_root};

const NOW: &str = "2026-11-20T12:00:00Z";
const SHIFT: &str = "2026-11-13T12:00:00Z";

/// Four user strategies for connection_refused, so attempts do not run out before the block.
const PLAYBOOK: &str = r#"
[[strategy]]
id = "connection_refused.try-1"
applies_to = ["connection_refused"]
priority = 1
[[strategy.action]]
kind = "retry_with_backoff"

[[strategy]]
id = "connection_refused.try-2"
applies_to = ["connection_refused"]
priority = 1
[[strategy.action]]
kind = "circuit_breaker"

[[strategy]]
id = "connection_refused.try-3"
applies_to = ["connection_refused"]
priority = 1
[[strategy.action]]
kind = "health_check_restart"

[[strategy]]
id = "connection_refused.try-4"
applies_to = ["connection_refused"]
priority = 1
[[strategy.action]]
kind = "reroute"
"#;

#[test]
fn three_failed_attempts_block_the_pattern_until_overridden() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shift.sqlite");
    let status = Command::new("python3")
        .arg(workspace_root().join("tests/fixtures/plant_shift.py"))
        .args([
            "--db",
            db.to_str().unwrap(),
            "--truth",
            dir.path().join("t.json").to_str().unwrap(),
        ])
        .args(["--now", NOW, "--shift", SHIFT])
        .status()
        .unwrap();
    assert!(status.success());
    let playbooks = dir.path().join("playbooks");
    std::fs::create_dir_all(&playbooks).unwrap();
    std::fs::write(playbooks.join("10-ours.toml"), PLAYBOOK).unwrap();
    std::fs::write(playbooks.join("20-broken.toml"), "[[strategy]]\nid = 7\n").unwrap();
    let app = App::new(
        Config {
            db_path: db.clone(),
            inbox_path: dir.path().join("inbox"),
            index: Some(IndexLocation::Memory(format!(
                "escalation-{}",
                std::process::id()
            ))),
            playbooks_dir: Some(playbooks),
            config_file: None,
            import_paths: Vec::new(),
            policy_file: None,
            pause_file: None,
        },
        Clock::Fixed(ms(NOW)),
    );
    let pattern = "connection_refused:query_db";
    let apply = |id: &str, override_block: bool| ApplyArgs {
        improvement_id: id.to_string(),
        changes_made: "tried again".into(),
        commit_hash: None,
        applied_at: Some(SHIFT.into()),
        config_action: None,
        config_path: None,
        override_block,
    };
    let mut used = Vec::new();
    for attempt in 1..=4 {
        let p = app
            .propose_improvement(
                &ProposeArgs {
                    pattern_id: pattern.into(),
                    since: "-21d".into(),
                },
                &mut quiet(),
            )
            .unwrap();
        assert!(
            p.playbook_problems
                .iter()
                .any(|e| e.contains("20-broken.toml")),
            "the broken file is reported: {:?}",
            p.playbook_problems
        );
        assert!(
            !used.contains(&p.strategy.id),
            "a failed strategy is not proposed again"
        );
        used.push(p.strategy.id.clone());
        let id = p.improvement_id;
        app.test_improvement(
            &TestArgs {
                improvement_id: id.clone(),
                mode: "simulation".into(),
            },
            &mut quiet(),
        )
        .unwrap();
        if attempt == 4 {
            let e = app
                .apply_improvement(&apply(&id, false), &mut quiet())
                .unwrap_err();
            assert!(
                e.to_string().contains("BLOCKed") && e.to_string().contains("override_block"),
                "{e}"
            );
            let dashboard = app
                .get_health_dashboard(&DashboardArgs::default(), &mut quiet())
                .unwrap();
            assert!(
                dashboard
                    .escalations
                    .iter()
                    .any(|e| e.level == "BLOCK" && e.pattern_id == pattern),
                "{:?}",
                dashboard.escalations
            );
            let applied = app
                .apply_improvement(&apply(&id, true), &mut quiet())
                .unwrap();
            assert_eq!(
                applied.status.as_str(),
                "applied",
                "an explicit override applies"
            );
            return;
        }
        app.apply_improvement(&apply(&id, false), &mut quiet())
            .unwrap();
        let v = app
            .verify_improvement(
                &VerifyArgs {
                    improvement_id: id.clone(),
                    measurement_window_days: 7,
                },
                &mut quiet(),
            )
            .unwrap();
        assert_eq!(crate_snake(&v.verification_status), "regressed");
        if attempt == 3 {
            assert!(
                v.escalations
                    .iter()
                    .any(|e| e.level == "BLOCK" && e.rule == "max_attempts"),
                "{:?}",
                v.escalations
            );
        }
        app.rollback_improvement(
            &CloseArgs {
                improvement_id: id,
                reason: Some("regressed".into()),
                force: false,
            },
            &mut quiet(),
        )
        .unwrap();
    }
    panic!("the fourth attempt must have been blocked");
}

fn crate_snake<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .unwrap()
        .as_str()
        .unwrap()
        .to_string()
}
