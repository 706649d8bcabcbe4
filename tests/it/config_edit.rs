//! apply_improvement on a declared config file: preview changes nothing, apply edits one key
//! and keeps the rest of the file, rollback restores it byte for byte; any other path is refused.

use selfheal_app::args::{ApplyArgs, CloseArgs, ProposeArgs, TestArgs};
use selfheal_app::{App, Clock, Config};
use selfheal_store::index::IndexLocation;
use selfheal_tests::{PLANT_NOW, ms, plant, quiet};

const CONFIG: &str = "# agent tools\r\n[tools.fetch_url]\r\ntimeout_ms = 30000 # seconds would be nicer\r\nretries = 1\r\n\r\n[tools.read_file] # untouched\r\nmax_bytes = 65536\r\n";

#[test]
fn config_edits_preview_apply_and_roll_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = plant(dir.path(), 1);
    let config_path = dir.path().join("agent.toml");
    std::fs::write(&config_path, CONFIG).unwrap();
    let app = App::new(
        Config {
            db_path: db.clone(),
            inbox_path: dir.path().join("inbox"),
            index: Some(IndexLocation::Memory(format!(
                "config-edit-{}",
                std::process::id()
            ))),
            playbooks_dir: None,
            config_file: Some(config_path.clone()),
            import_paths: Vec::new(),
            policy_file: None,
            pause_file: None,
        },
        Clock::Fixed(ms(PLANT_NOW)),
    );
    let proposal = app
        .propose_improvement(
            &ProposeArgs {
                pattern_id: "timeout:fetch_url".into(),
                since: "-30d".into(),
            },
            &mut quiet(),
        )
        .unwrap();
    assert_eq!(
        proposal.config_key.as_deref(),
        Some("tools.fetch_url.timeout_ms"),
        "{proposal:#?}"
    );
    let id = proposal.improvement_id;
    app.test_improvement(
        &TestArgs {
            improvement_id: id.clone(),
            mode: "simulation".into(),
        },
        &mut quiet(),
    )
    .unwrap();
    let apply = |action: Option<&str>, path: Option<String>| ApplyArgs {
        improvement_id: id.clone(),
        changes_made: "raised the fetch_url timeout".into(),
        commit_hash: Some("abc1234".into()),
        applied_at: None,
        config_action: action.map(str::to_string),
        config_path: path,
        override_block: false,
    };

    let outside = dir.path().join("other.toml");
    std::fs::write(&outside, CONFIG).unwrap();
    let e = app
        .apply_improvement(
            &apply(Some("apply"), Some(outside.display().to_string())),
            &mut quiet(),
        )
        .unwrap_err();
    assert!(e.to_string().contains("only"), "{e}");

    let preview = app
        .apply_improvement(&apply(Some("preview"), None), &mut quiet())
        .unwrap();
    let change = preview.config_change.unwrap();
    assert!(
        !change.applied && change.diff.contains("timeout_ms"),
        "{change:#?}"
    );
    assert_eq!(
        std::fs::read_to_string(&config_path).unwrap(),
        CONFIG,
        "preview writes nothing"
    );
    assert_eq!(preview.status.as_str(), "tested", "preview records nothing");

    let applied = app
        .apply_improvement(&apply(Some("apply"), None), &mut quiet())
        .unwrap();
    assert_eq!(applied.status.as_str(), "applied");
    let edited = std::fs::read_to_string(&config_path).unwrap();
    assert_ne!(edited, CONFIG);
    let changed: Vec<(&str, &str)> = CONFIG
        .split("\r\n")
        .zip(edited.split("\r\n"))
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(changed.len(), 1, "exactly one line changes: {changed:?}");
    assert!(
        changed[0].1.starts_with("timeout_ms = ")
            && changed[0].1.ends_with("# seconds would be nicer"),
        "{changed:?}"
    );

    let rolled = app
        .rollback_improvement(
            &CloseArgs {
                improvement_id: id.clone(),
                reason: Some("test".into()),
                force: false,
            },
            &mut quiet(),
        )
        .unwrap();
    assert_eq!(rolled.config_restored, Some(true));
    assert_eq!(
        std::fs::read(&config_path).unwrap(),
        CONFIG.as_bytes(),
        "restored byte for byte"
    );
}
