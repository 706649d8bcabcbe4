//! The generated contracts under `schema/tools/`: every tool's input and output JSON Schema,
//! exactly as the server advertises them in tools/list. Fails when stale; regenerate with
//! `UPDATE_SCHEMA=1 cargo test -p selfheal-tests --test it schema`.

use std::sync::Arc;

use rmcp::ServiceExt;
use selfheal_tests::{app, workspace_root};

#[tokio::test]
async fn tool_schemas_are_current() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        self_healing_mcp::SelfHealServer::new(Arc::new(app(&dir.path().join("none.db"), 0)));
    let (server_io, client_io) = tokio::io::duplex(1 << 20);
    let server_task = tokio::spawn(async move {
        let running = server.serve(server_io).await.unwrap();
        let _ = running.waiting().await;
    });
    let client = ().serve(client_io).await.unwrap();
    let tools = client.list_all_tools().await.unwrap();
    client.cancel().await.unwrap();
    server_task.abort();

    let out_dir = workspace_root().join("schema/tools");
    let update = std::env::var_os("UPDATE_SCHEMA").is_some();
    if update {
        std::fs::create_dir_all(&out_dir).unwrap();
    }
    let mut stale = Vec::new();
    let mut expected_files = Vec::new();
    for tool in &tools {
        let input = serde_json::Value::Object((*tool.input_schema).clone());
        let output = tool
            .output_schema
            .as_ref()
            .map(|s| serde_json::Value::Object((**s).clone()))
            .unwrap_or_else(|| panic!("{} has no outputSchema", tool.name));
        for (kind, schema) in [("input", input), ("output", output)] {
            let name = format!("{}.{kind}.json", tool.name);
            let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
            let path = out_dir.join(&name);
            expected_files.push(name.clone());
            if update {
                std::fs::write(&path, &text).unwrap();
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                stale.push(name);
            }
        }
    }
    let present: Vec<String> = std::fs::read_dir(&out_dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    for extra in present.iter().filter(|p| !expected_files.contains(p)) {
        if update {
            std::fs::remove_file(out_dir.join(extra)).unwrap();
        } else {
            stale.push(format!("{extra} (no such tool any more)"));
        }
    }
    assert!(
        stale.is_empty(),
        "schema/tools is stale: {stale:?}\nregenerate with: UPDATE_SCHEMA=1 cargo test -p selfheal-tests --test it schema"
    );
}
