//! Changes are confirmed by a person: `self-heal apply` and `rollback` show the change and ask
//! on a terminal (driven here through a pseudo-terminal with util-linux `script`), `--yes`
//! skips the question, and without a terminal they refuse; over MCP, an apply that writes the
//! config file asks through elicitation (both protocol eras) and a declined answer changes
//! nothing.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, ElicitRequestParams,
    ElicitResult, ElicitationAction, Implementation, ProtocolVersion,
};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt, RequestContext, RunningService};
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{ClientHandler, ErrorData, RoleClient, ServiceExt};
use selfheal_app::args::{GetImprovementArgs, ProposeArgs, TestArgs};
use selfheal_app::{App, Clock, Config};
use selfheal_store::index::IndexLocation;
use selfheal_tests::{PLANT_NOW, bin, ms, plant, quiet, shell_line};
use serde_json::{Value, json};

const CONFIG: &str = "# agent tools\n[tools.fetch_url]\ntimeout_ms = 30000\nretries = 1\n";

/// A planted history with a tested improvement of `timeout:fetch_url` (whose strategy edits
/// `tools.fetch_url.timeout_ms`) and a declared config file.
struct Setup {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    db: PathBuf,
    config: PathBuf,
    id: String,
}

fn app(s: &Setup) -> App {
    App::new(
        Config {
            db_path: s.db.clone(),
            inbox_path: s.dir.join("inbox"),
            // One in-memory index per setup (its directory is unique), shared by its apps.
            index: Some(IndexLocation::Memory(format!(
                "confirm-{}-{}",
                std::process::id(),
                s.dir.display()
            ))),
            playbooks_dir: None,
            config_file: Some(s.config.clone()),
            import_paths: Vec::new(),
            policy_file: None,
            pause_file: None,
        },
        Clock::Fixed(ms(PLANT_NOW)),
    )
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let (db, _) = plant(&dir, 1);
    let config = dir.join("agent.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let mut s = Setup {
        _dir: tmp,
        dir,
        db,
        config,
        id: String::new(),
    };
    let a = app(&s);
    let proposal = a
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
        Some("tools.fetch_url.timeout_ms")
    );
    a.test_improvement(
        &TestArgs {
            improvement_id: proposal.improvement_id.clone(),
            mode: "simulation".into(),
        },
        &mut quiet(),
    )
    .unwrap();
    s.id = proposal.improvement_id;
    s
}

fn status(s: &Setup) -> String {
    app(s)
        .get_improvement(
            &GetImprovementArgs {
                improvement_id: s.id.clone(),
            },
            &mut quiet(),
        )
        .unwrap()
        .status
}

fn env(s: &Setup) -> Vec<(&'static str, PathBuf)> {
    vec![
        ("DATABASE_PATH", s.db.clone()),
        ("SELFHEAL_NOW", PLANT_NOW.into()),
        ("SELFHEAL_INDEX_DIR", s.dir.join("index")),
        ("INBOX_PATH", s.dir.join("inbox")),
        ("SELFHEAL_CONFIG_FILE", s.config.clone()),
    ]
}

/// Runs the CLI without a terminal (stdin from /dev/null).
fn without_tty(s: &Setup, args: &[&str]) -> std::process::Output {
    Command::new(bin("self-heal"))
        .args(args)
        .envs(env(s))
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Runs the CLI in a pseudo-terminal (`script`), waits for the `[y/N]` question, answers it,
/// and returns (exit code, everything the terminal showed).
fn in_pty(s: &Setup, args: &[&str], answer: &str) -> (Option<i32>, String) {
    let line = shell_line(&bin("self-heal"), args);
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c", &line, "/dev/null"])
        .envs(env(s))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs (it provides the pseudo-terminal)");
    let shown = Arc::new(Mutex::new(Vec::new()));
    let mut stdout = child.stdout.take().unwrap();
    let sink = shown.clone();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    while !String::from_utf8_lossy(&shown.lock().unwrap()).contains("[y/N]") {
        assert!(
            Instant::now() < deadline,
            "no question within 120 s; the terminal showed:\n{}",
            String::from_utf8_lossy(&shown.lock().unwrap())
        );
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "exited ({status}) without asking:\n{}",
                String::from_utf8_lossy(&shown.lock().unwrap())
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{answer}\n").as_bytes()).unwrap();
    stdin.flush().unwrap();
    let status = child.wait().unwrap();
    drop(stdin);
    reader.join().unwrap();
    let text = String::from_utf8_lossy(&shown.lock().unwrap()).into_owned();
    (status.code(), text)
}

#[test]
fn apply_and_rollback_ask_on_a_terminal() {
    let s = setup();
    let apply = [
        "apply",
        s.id.as_str(),
        "--changes",
        "raised the fetch_url timeout",
        "--config-action",
        "apply",
    ];

    // Answered no: nothing changes.
    let (code, shown) = in_pty(&s, &apply, "n");
    assert_eq!(code, Some(1), "{shown}");
    assert!(
        shown.contains("timeout_ms") && shown.contains("will be changed"),
        "the question shows the diff:\n{shown}"
    );
    assert!(
        shown.contains("not confirmed; nothing was changed"),
        "{shown}"
    );
    assert_eq!(status(&s), "tested");
    assert_eq!(std::fs::read_to_string(&s.config).unwrap(), CONFIG);

    // Answered yes: applied, the file edited.
    let (code, shown) = in_pty(&s, &apply, "y");
    assert_eq!(code, Some(0), "{shown}");
    assert!(shown.contains("is applied"), "{shown}");
    assert_eq!(status(&s), "applied");
    let edited = std::fs::read_to_string(&s.config).unwrap();
    assert!(
        edited != CONFIG && edited.contains("timeout_ms"),
        "{edited}"
    );

    // Rollback asks too, showing the restore; yes restores the file.
    let rollback = ["rollback", s.id.as_str(), "--reason", "test"];
    let (code, shown) = in_pty(&s, &rollback, "no");
    assert_eq!(code, Some(1), "{shown}");
    assert!(shown.contains("is restored from"), "{shown}");
    assert_eq!(status(&s), "applied");
    let (code, shown) = in_pty(&s, &rollback, "yes");
    assert_eq!(code, Some(0), "{shown}");
    assert_eq!(status(&s), "rolled_back");
    assert_eq!(std::fs::read_to_string(&s.config).unwrap(), CONFIG);
}

#[test]
fn without_a_terminal_apply_and_rollback_refuse_unless_yes() {
    let s = setup();
    let apply = [
        "apply",
        s.id.as_str(),
        "--changes",
        "raised the fetch_url timeout",
        "--config-action",
        "apply",
    ];
    let out = without_tty(&s, &apply);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("no terminal") && err.contains("--yes") && err.contains("nothing was changed"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    assert_eq!(status(&s), "tested");
    assert_eq!(std::fs::read_to_string(&s.config).unwrap(), CONFIG);

    // A preview changes nothing and needs no confirmation.
    let out = without_tty(
        &s,
        &[
            "apply",
            &s.id,
            "--changes",
            "x",
            "--config-action",
            "preview",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(status(&s), "tested");

    let out = without_tty(&s, &[&apply[..], &["--yes"]].concat());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(status(&s), "applied");
    assert_ne!(std::fs::read_to_string(&s.config).unwrap(), CONFIG);

    let out = without_tty(&s, &["rollback", &s.id]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));
    assert_eq!(status(&s), "applied");
    let out = without_tty(&s, &["rollback", &s.id, "-y"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(status(&s), "rolled_back");
    assert_eq!(std::fs::read_to_string(&s.config).unwrap(), CONFIG);
    // Rolling back again changes nothing, so it needs no confirmation.
    let out = without_tty(&s, &["rollback", &s.id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An MCP client standing in for the person: declares form elicitation, records what it was
/// asked, and accepts or declines.
#[derive(Clone)]
struct Person {
    accept: bool,
    protocol: ProtocolVersion,
    asked: Arc<Mutex<Vec<String>>>,
}

impl ClientHandler for Person {
    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        if let ElicitRequestParams::FormElicitationParams {
            message,
            requested_schema,
            ..
        } = request
        {
            let schema = serde_json::to_value(&requested_schema).unwrap();
            assert_eq!(
                schema["properties"]["confirm"]["type"], "boolean",
                "{schema}"
            );
            self.asked.lock().unwrap().push(message);
        }
        Ok(if self.accept {
            ElicitResult::new(ElicitationAction::Accept).with_content(json!({"confirm": true}))
        } else {
            ElicitResult::new(ElicitationAction::Decline)
        })
    }

    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::builder().enable_elicitation().build(),
            Implementation::new("person", "1"),
        )
        .with_protocol_version(self.protocol.clone())
    }
}

async fn connect(s: &Setup, person: Person) -> RunningService<RoleClient, Person> {
    let vars = env(s);
    let cmd = tokio::process::Command::new(bin("self-healing-mcp")).configure(|c| {
        c.envs(vars).env("RUST_LOG", "warn");
    });
    let transport = TokioChildProcess::new(cmd).unwrap();
    if person.protocol >= ProtocolVersion::V_2026_07_28 {
        let versions = vec![person.protocol.clone()];
        person
            .serve_with_lifecycle(
                transport,
                ClientLifecycleMode::Discover {
                    preferred_versions: versions,
                },
            )
            .await
            .unwrap()
    } else {
        person.serve(transport).await.unwrap()
    }
}

async fn apply(
    client: &RunningService<RoleClient, Person>,
    id: &str,
    action: &str,
) -> CallToolResult {
    let args = json!({
        "improvement_id": id,
        "changes_made": "raised the fetch_url timeout",
        "config_action": action,
    });
    client
        .call_tool(
            CallToolRequestParams::new("apply_improvement")
                .with_arguments(args.as_object().cloned().unwrap()),
        )
        .await
        .unwrap()
}

fn text(r: &CallToolResult) -> String {
    r.content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn elicits_before_a_config_edit(protocol: ProtocolVersion) {
    let s = setup();
    let asked = Arc::new(Mutex::new(Vec::new()));

    let no = Person {
        accept: false,
        protocol: protocol.clone(),
        asked: asked.clone(),
    };
    let client = connect(&s, no).await;
    assert_eq!(
        client.peer_info().map(|i| i.protocol_version.clone()),
        Some(protocol.clone()),
        "the protocol era under test is the one in use"
    );
    // A preview writes nothing: no question.
    let r = apply(&client, &s.id, "preview").await;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    assert!(asked.lock().unwrap().is_empty());
    let r = apply(&client, &s.id, "apply").await;
    assert_eq!(r.is_error, Some(true), "{protocol}: {}", text(&r));
    assert!(
        text(&r).contains("not confirmed") && text(&r).contains("nothing was recorded or written"),
        "{}",
        text(&r)
    );
    {
        let asked = asked.lock().unwrap();
        assert_eq!(asked.len(), 1, "asked once: {asked:?}");
        assert!(
            asked[0].contains("timeout_ms") && asked[0].contains(&s.id),
            "the question shows the diff: {}",
            asked[0]
        );
    }
    assert_eq!(status(&s), "tested", "{protocol}: declined changes nothing");
    assert_eq!(std::fs::read_to_string(&s.config).unwrap(), CONFIG);
    client.cancel().await.unwrap();

    let yes = Person {
        accept: true,
        protocol: protocol.clone(),
        asked: asked.clone(),
    };
    let client = connect(&s, yes).await;
    let r = apply(&client, &s.id, "apply").await;
    assert_ne!(r.is_error, Some(true), "{protocol}: {}", text(&r));
    let sc: Value = r.structured_content.clone().unwrap();
    assert_eq!(sc["status"], "applied", "{sc:#}");
    assert_eq!(sc["config_change"]["applied"], true, "{sc:#}");
    assert_eq!(asked.lock().unwrap().len(), 2);
    assert_eq!(status(&s), "applied");
    assert_ne!(std::fs::read_to_string(&s.config).unwrap(), CONFIG);
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn mcp_apply_elicits_with_elicitation_create() {
    elicits_before_a_config_edit(ProtocolVersion::V_2025_11_25).await;
}

#[tokio::test]
async fn mcp_apply_elicits_with_an_input_required_result() {
    elicits_before_a_config_edit(ProtocolVersion::V_2026_07_28).await;
}

#[tokio::test]
async fn without_elicitation_the_explicit_config_action_applies() {
    let s = setup();
    let vars = env(&s);
    let cmd = tokio::process::Command::new(bin("self-healing-mcp")).configure(|c| {
        c.envs(vars).env("RUST_LOG", "warn");
    });
    let client = ().serve(TokioChildProcess::new(cmd).unwrap()).await.unwrap();
    let args = json!({
        "improvement_id": s.id,
        "changes_made": "raised the fetch_url timeout",
        "config_action": "apply",
    });
    let r = client
        .call_tool(
            CallToolRequestParams::new("apply_improvement")
                .with_arguments(args.as_object().cloned().unwrap()),
        )
        .await
        .unwrap();
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    assert_eq!(status(&s), "applied");
    let tools = client.list_all_tools().await.unwrap();
    let apply = tools
        .iter()
        .find(|t| t.name == "apply_improvement")
        .unwrap();
    assert_eq!(
        apply.annotations.as_ref().and_then(|a| a.destructive_hint),
        Some(true)
    );
    client.cancel().await.unwrap();
}
