//! Healing on its own: `self-heal watch --heal` under an approved policy, on an independent
//! history (tests/fixtures/plant_heal.py) with two timeout patterns whose rates move in
//! opposite directions at the instant the healer applies its fixes.
//!
//! The story: `self-heal policy` and `--dry-run` plan both applies and change nothing; the kill
//! switch and another healer's lock stop automatic actions but not detection; two watchers
//! started together apply each fix once, through config edits; after the verification window
//! the healer keeps the fix that worked and rolls back the one that made things worse (config
//! file byte-identical to before it, URGENT note, audit actor `policy`), and the healing
//! report counts it. A policy with `auto_apply = false` changes nothing.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use selfheal_tests::{bin, workspace_root};
use serde_json::Value;

/// The healer's first pass: both fixes are applied at this instant.
const APPLY_AT: &str = "2026-11-10T12:00:00Z";
/// After the 7-day verification window.
const LATER: &str = "2026-11-17T14:00:00Z";
const FETCH: &str = "timeout:fetch_url";
const SEARCH: &str = "timeout:search_api";

const CONFIG: &str = "# Agent settings\n[tools.fetch_url]\ntimeout_ms = 30000 # the HTTP client's limit\n\n[tools.search_api]\ntimeout_ms = 30000\n";

const POLICY: &str = "# Approved for timeouts only\nauto_apply = true\nclasses = [\"timeout\"]\nmax_risk = \"low\"\nrequire_recommendation = \"safe_to_apply\"\n";

struct Setup {
    dir: PathBuf,
    db: PathBuf,
    config: PathBuf,
    policy: PathBuf,
    inbox: PathBuf,
    /// Whether SELFHEAL_CONFIG_FILE is declared.
    config_declared: bool,
}

impl Setup {
    fn new(dir: &Path, policy: &str) -> Setup {
        let s = Setup {
            dir: dir.to_path_buf(),
            db: dir.join("history.sqlite"),
            config: dir.join("agent.toml"),
            policy: dir.join("policy.toml"),
            inbox: dir.join("inbox"),
            config_declared: true,
        };
        std::fs::write(&s.config, CONFIG).unwrap();
        std::fs::write(&s.policy, policy).unwrap();
        s.plant("before");
        s
    }

    /// Writes (`before`) or appends (`after`) the independent history; returns its truth.
    fn plant(&self, part: &str) -> Value {
        let truth = self.dir.join("truth.json");
        let out = Command::new("python3")
            .arg(workspace_root().join("tests/fixtures/plant_heal.py"))
            .args(["--db", self.db.to_str().unwrap()])
            .args(["--truth", truth.to_str().unwrap()])
            .args(["--apply-at", APPLY_AT, "--end", LATER, "--part", part])
            .output()
            .expect("python3 runs");
        assert!(
            out.status.success(),
            "plant_heal.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(&std::fs::read_to_string(truth).unwrap()).unwrap()
    }

    fn command(&self, now: &str, args: &[&str]) -> Command {
        let mut c = Command::new(bin("self-heal"));
        c.args(args)
            .env("DATABASE_PATH", &self.db)
            .env("INBOX_PATH", &self.inbox)
            .env("SELFHEAL_INDEX_DIR", self.dir.join("index"))
            .env("SELFHEAL_POLICY", &self.policy)
            .env("SELFHEAL_NOW", now)
            .env("TZ", "UTC")
            .env("RUST_LOG", "warn")
            .env_remove("SELFHEAL_PAUSE_FILE")
            .env_remove("SELFHEAL_PLAYBOOKS_DIR")
            .env_remove("SELFHEAL_IMPORT");
        if self.config_declared {
            c.env("SELFHEAL_CONFIG_FILE", &self.config);
        } else {
            c.env_remove("SELFHEAL_CONFIG_FILE");
        }
        c
    }

    fn run(&self, now: &str, args: &[&str]) -> Output {
        let out = self.command(now, args).output().unwrap();
        assert!(
            out.status.success(),
            "self-heal {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn json(&self, now: &str, args: &[&str]) -> Value {
        serde_json::from_slice(&self.run(now, args).stdout).unwrap()
    }

    /// One `watch --heal --once` pass: its JSON report.
    fn heal(&self, now: &str) -> Value {
        self.json(now, &["watch", "--heal", "--once"])
    }

    fn improvements(&self, now: &str) -> Vec<Value> {
        self.json(now, &["--json", "improvements"])["improvements"]
            .as_array()
            .unwrap()
            .clone()
    }

    fn improvement(&self, now: &str, id: &str) -> Value {
        self.json(now, &["--json", "improvement", id])
    }

    fn inbox_text(&self) -> String {
        let mut text = String::new();
        if let Ok(entries) = std::fs::read_dir(&self.inbox) {
            for e in entries.flatten() {
                if e.path().extension().is_some_and(|x| x == "md") {
                    text.push_str(&std::fs::read_to_string(e.path()).unwrap());
                }
            }
        }
        text
    }
}

fn ids(report: &Value, list: &str) -> Vec<String> {
    report["heal"][list]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| x["pattern_id"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn by_pattern<'a>(improvements: &'a [Value], pattern: &str) -> &'a Value {
    improvements
        .iter()
        .find(|i| i["pattern_id"] == pattern)
        .unwrap_or_else(|| panic!("no improvement of {pattern}: {improvements:?}"))
}

#[test]
fn the_policy_applies_keeps_and_rolls_back_on_its_own() {
    let tmp = tempfile::tempdir().unwrap();
    let s = Setup::new(tmp.path(), POLICY);

    // The plan: both timeout patterns would get their timeout raised; nothing else.
    let plan = s.json(APPLY_AT, &["--json", "policy"]);
    let decisions: Vec<(String, String)> = plan["patterns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["pattern_id"].as_str().unwrap().to_string(),
                p["decision"]["action"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for pattern in [FETCH, SEARCH] {
        assert!(
            decisions.contains(&(pattern.to_string(), "apply".to_string())),
            "{decisions:?}"
        );
    }
    assert!(
        decisions
            .iter()
            .filter(|(p, _)| !p.starts_with("timeout:"))
            .all(|(_, d)| d == "leave"),
        "{decisions:?}"
    );

    // --dry-run prints the plan and changes nothing: not the history, not the config, no note.
    let history_before = std::fs::read(&s.db).unwrap();
    let dry = s.run(APPLY_AT, &["watch", "--heal", "--dry-run"]);
    let dry = String::from_utf8_lossy(&dry.stdout);
    assert!(
        dry.contains("APPLY") && dry.contains("tools.fetch_url.timeout_ms = 60000"),
        "{dry}"
    );
    assert_eq!(std::fs::read(&s.db).unwrap(), history_before);
    assert_eq!(std::fs::read_to_string(&s.config).unwrap(), CONFIG);
    assert!(!s.inbox.exists(), "a dry run writes no note");

    // The kill switch pauses automatic actions; detection goes on.
    let pause = PathBuf::from(format!("{}.pause", s.policy.display()));
    std::fs::write(&pause, "").unwrap();
    let paused = s.heal(APPLY_AT);
    assert!(
        paused["heal"]["inactive"]
            .as_str()
            .is_some_and(|r| r.contains("paused")),
        "{paused}"
    );
    assert!(paused["patterns_announced"].as_array().unwrap().len() >= 2);
    std::fs::remove_file(&pause).unwrap();
    assert!(s.improvements(APPLY_AT).is_empty());
    assert_eq!(std::fs::read_to_string(&s.config).unwrap(), CONFIG);

    // While another healer holds the database's lock, a watcher only detects.
    let lock_path = PathBuf::from(format!("{}.heal.lock", s.db.display()));
    let held = File::create(&lock_path).unwrap();
    held.lock().unwrap();
    let waiting = s.heal(APPLY_AT);
    assert!(
        waiting["heal"]["inactive"]
            .as_str()
            .is_some_and(|r| r.contains("another healer")),
        "{waiting}"
    );
    assert!(s.improvements(APPLY_AT).is_empty());
    drop(held);

    // Two watchers started together: each fix is applied once, through a config edit.
    let spawn = || {
        s.command(APPLY_AT, &["watch", "--heal", "--once"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, second) = (spawn(), spawn());
    let reports: Vec<Value> = [first, second]
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success());
            serde_json::from_slice(&out.stdout).unwrap()
        })
        .collect();
    let mut applied: Vec<String> = reports.iter().flat_map(|r| ids(r, "applied")).collect();
    applied.sort();
    assert_eq!(applied, [FETCH, SEARCH], "{reports:?}");
    let improvements = s.improvements(APPLY_AT);
    assert_eq!(improvements.len(), 2, "{improvements:?}");
    for imp in &improvements {
        assert_eq!(imp["status"], "applied");
        let trail = s.improvement(APPLY_AT, imp["id"].as_str().unwrap())["audit"].clone();
        let applies: Vec<&Value> = trail
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["action"] == "apply")
            .collect();
        assert_eq!(applies.len(), 1, "{trail}");
        assert_eq!(applies[0]["actor"], "policy");
        assert!(
            applies[0]["rule"]
                .as_str()
                .is_some_and(|r| r.contains("line 3: classes = [\"timeout\"]")
                    && r.contains("line 5: require_recommendation")),
            "{trail}"
        );
    }
    let both = std::fs::read_to_string(&s.config).unwrap();
    assert_eq!(
        both,
        CONFIG.replace("timeout_ms = 30000", "timeout_ms = 60000"),
        "only the two keys change, comments stay"
    );

    // The fixes take effect: the history goes on for a week, then the next pass verifies.
    let truth = s.plant("after");
    let search = by_pattern(&improvements, SEARCH);
    let before_search_fix = std::fs::read(
        search["config_edit"]["applied"]["backup_path"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let later = s.heal(LATER);
    assert_eq!(ids(&later, "kept"), [FETCH], "{later}");
    assert_eq!(ids(&later, "rolled_back"), [SEARCH], "{later}");
    assert!(ids(&later, "applied").is_empty(), "{later}");

    let improvements = s.improvements(LATER);
    let fetch = by_pattern(&improvements, FETCH);
    let search = by_pattern(&improvements, SEARCH);
    assert_eq!(fetch["status"], "verified");
    assert_eq!(search["status"], "rolled_back");
    // The config is byte-identical to what it was before the regressing fix; the fix that
    // worked stays.
    let now_config = std::fs::read(&s.config).unwrap();
    assert_eq!(now_config, before_search_fix);
    let text = String::from_utf8(now_config).unwrap();
    assert!(
        text.contains("[tools.fetch_url]\ntimeout_ms = 60000 # the HTTP client's limit")
            && text.contains("[tools.search_api]\ntimeout_ms = 30000"),
        "{text}"
    );
    // The measurements are the independent history's.
    for (imp, pattern) in [(fetch, FETCH), (search, SEARCH)] {
        let t = &truth["patterns"][pattern];
        let v = &imp["verification"];
        assert_eq!(v["before"]["calls"], t["before_calls"], "{pattern}");
        assert_eq!(v["before"]["failures"], t["before_timeouts"], "{pattern}");
        assert_eq!(v["after"]["calls"], t["after_calls"], "{pattern}");
        assert_eq!(v["after"]["failures"], t["after_timeouts"], "{pattern}");
        assert_eq!(v["decision"]["verdict"], t["expected_verdict"], "{pattern}");
    }
    let trail = s.improvement(LATER, search["id"].as_str().unwrap())["audit"].clone();
    let rollback = trail
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "rollback")
        .unwrap();
    assert_eq!(rollback["actor"], "policy");
    assert_eq!(rollback["rule"], "default: rollback_on_regression = true");
    let inbox = s.inbox_text();
    let search_id = search["id"].as_str().unwrap();
    assert!(
        inbox
            .split("\n---\n")
            .any(|entry| entry.contains("**[URGENT]**")
                && entry.contains(&format!("Rolled back `{search_id}`"))
                && entry.contains("restored byte for byte")),
        "{inbox}"
    );
    // One urgent note for the regression: the rollback's. The verdict says the policy acts.
    let about_search: Vec<&str> = inbox
        .split("\n---\n")
        .filter(|entry| entry.contains(search_id) && entry.contains("**[URGENT]**"))
        .collect();
    assert_eq!(about_search.len(), 1, "{inbox}");
    assert!(
        inbox.contains("REGRESSED — the healing policy rolls it back"),
        "{inbox}"
    );
    // The strategy learned from both outcomes.
    let report = s.json(LATER, &["--json", "report"]);
    let h = &report["healing"];
    assert_eq!(h["by_action"]["apply"]["policy"], 2, "{h}");
    assert_eq!(h["by_action"]["apply"]["manual"], 0, "{h}");
    assert_eq!(h["rollbacks"]["policy"], 1, "{h}");
    assert_eq!(
        (h["resolved"].as_u64(), h["auto_resolved"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(h["auto_resolved_share"], 0.5);
    assert!(h["time_to_recovery_hours"]["automatic"].as_f64().unwrap() > 7.0 * 24.0);
    let strategy = &report["strategies"][0];
    assert_eq!(
        (
            strategy["id"].as_str(),
            strategy["verified_successes"].as_u64(),
            strategy["verified_failures"].as_u64()
        ),
        (Some("timeout.raise-timeout"), Some(1), Some(1))
    );
    // The rolled-back pattern cools down: no new attempt in the same pass or right after.
    let again = s.heal(LATER);
    assert!(ids(&again, "proposed").is_empty(), "{again}");
}

#[test]
fn a_policy_without_auto_apply_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let s = Setup::new(tmp.path(), "auto_apply = false\nclasses = [\"timeout\"]\n");
    let report = s.heal(APPLY_AT);
    assert!(ids(&report, "applied").is_empty() && ids(&report, "proposed").is_empty());
    let left = report["heal"]["left"].as_array().unwrap();
    assert!(
        left.iter().all(|l| l["detail"]
            .as_str()
            .is_some_and(|d| d.contains("line 1: auto_apply = false"))),
        "{report}"
    );
    assert!(s.improvements(APPLY_AT).is_empty());
    assert_eq!(std::fs::read_to_string(&s.config).unwrap(), CONFIG);

    // A policy with a mistake is refused with its line, before anything runs.
    std::fs::write(&s.policy, "auto_apply = true\nclasses = [\"timeouts\"]\n").unwrap();
    for args in [&["policy"][..], &["watch", "--heal", "--once"][..]] {
        let out = s.command(APPLY_AT, args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("policy.toml: line 2") && err.contains("not a failure class"),
            "{err}"
        );
    }
    assert!(s.improvements(APPLY_AT).is_empty());
}

#[test]
fn without_a_config_edit_fixes_are_proposed_and_announced_never_applied() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = Setup::new(tmp.path(), POLICY);
    s.config_declared = false;
    let report = s.heal(APPLY_AT);
    assert!(ids(&report, "applied").is_empty(), "{report}");
    let mut announced = ids(&report, "announced");
    announced.sort();
    assert_eq!(announced, [FETCH, SEARCH], "{report}");
    let improvements = s.improvements(APPLY_AT);
    assert!(
        improvements.iter().all(|i| i["status"] == "tested"),
        "{improvements:?}"
    );
    assert_eq!(std::fs::read_to_string(&s.config).unwrap(), CONFIG);
    let inbox = s.inbox_text();
    assert!(
        inbox.contains("left it for a person") && inbox.contains("advice only"),
        "{inbox}"
    );
    // A person rejects one: the audit says so, and the policy leaves that pattern alone.
    let fetch = by_pattern(&improvements, FETCH)["id"]
        .as_str()
        .unwrap()
        .to_string();
    s.run(
        APPLY_AT,
        &["reject", &fetch, "--reason", "we fix the client instead"],
    );
    let trail = s.improvement(APPLY_AT, &fetch)["audit"].clone();
    let actors: Vec<&str> = trail
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["actor"].as_str().unwrap())
        .collect();
    assert_eq!(actors, ["policy", "policy", "person"], "{trail}");
    let again = s.heal(APPLY_AT);
    let left = again["heal"]["left"].as_array().unwrap();
    assert!(
        left.iter().any(|l| l["pattern_id"] == FETCH
            && l["detail"].as_str().unwrap().contains("rejected")),
        "{again}"
    );
    assert!(ids(&again, "proposed").is_empty(), "{again}");
}

#[test]
fn watch_verifies_an_improvement_left_applied_at_most_once_a_day() {
    let tmp = tempfile::tempdir().unwrap();
    let s = Setup::new(tmp.path(), POLICY);
    s.heal(APPLY_AT);
    s.plant("after");
    let search = by_pattern(&s.improvements(APPLY_AT), SEARCH)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let verifies = |now: &str| {
        s.improvement(now, &search)["audit"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["action"] == "verify")
            .count()
    };
    // Plain watch (no --heal) verifies; the regressed fix stays applied for a person to roll
    // back, and later passes of the same day do not verify it again.
    for now in [LATER, "2026-11-17T14:05:00Z", "2026-11-18T13:00:00Z"] {
        s.json(now, &["watch", "--once"]);
        let imp = s.improvement(now, &search);
        assert_eq!(imp["status"], "applied", "{imp}");
        assert_eq!(verifies(now), 1, "{now}");
    }
    // A day after the verification it is verified again.
    s.json("2026-11-18T14:30:00Z", &["watch", "--once"]);
    assert_eq!(verifies("2026-11-18T14:30:00Z"), 2);
}
