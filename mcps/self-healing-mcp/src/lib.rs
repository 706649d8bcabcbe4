//! The self-healing MCP server: the only crate that speaks MCP (rmcp, stdio).
//!
//! Every tool is thin glue over one `selfheal_app::App` use case: arguments arrive as the
//! app's argument types (their JSON Schemas are the tools' input schemas), the use case runs
//! on a blocking thread (SQLite work never stalls the async runtime, and calls proceed in
//! parallel), and the view comes back as `structuredContent` (schema: `outputSchema`) plus a
//! compact text rendering. Errors the caller can fix are results with `isError: true`;
//! internal failures are JSON-RPC errors.

use std::sync::Arc;

use rmcp::handler::server::common::schema_for_output;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResult, ContentBlock, Implementation, ProgressNotificationParam, RequestMetaObject,
    ServerCapabilities, ServerConfig,
};
use rmcp::{
    ErrorData as McpError, Peer, RoleServer, ServerHandler, tool, tool_handler, tool_router,
};
use serde::Serialize;

use selfheal_app::analysis::Progress;
use selfheal_app::args::{
    AgentArgs, DashboardArgs, DetectArgs, PatternArgs, RunHealthArgs, StalledArgs, ToolArgs,
};
use selfheal_app::views::{
    AgentsView, DashboardView, DetectView, PatternView, RunHealthView, StalledView, ToolsView,
};
use selfheal_app::{App, AppError, render};

/// Instructions sent to clients at initialisation.
const INSTRUCTIONS: &str = "Analyses an agent's run history (SQLite: runs, run_events). \
Start with get_health_dashboard or detect_failure_patterns (default window -7d); drill into a \
pattern with get_pattern (ids are <error_type>:<tool_name>), into a tool with \
compute_tool_reliability, into a run with analyze_run_health; find hung runs with \
detect_stalled_runs. All analysis tools are read-only.";

#[derive(Clone)]
pub struct SelfHealServer {
    app: Arc<App>,
    tool_router: ToolRouter<Self>,
}

impl SelfHealServer {
    pub fn new(app: Arc<App>) -> Self {
        SelfHealServer {
            app,
            tool_router: Self::tool_router(),
        }
    }

    /// Runs a use case off the async runtime, forwarding catch-up progress when the client
    /// asked for it, and shapes the result.
    async fn run<V, F>(
        &self,
        meta: RequestMetaObject,
        peer: Peer<RoleServer>,
        use_case: F,
        text: fn(&V) -> String,
    ) -> Result<CallToolResult, McpError>
    where
        V: Serialize + Send + 'static,
        F: FnOnce(&App, Progress<'_>) -> Result<V, AppError> + Send + 'static,
    {
        let app = self.app.clone();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u64, u64)>();
        let forward = meta.get_progress_token().map(|token| {
            tokio::spawn(async move {
                while let Some((done, total)) = rx.recv().await {
                    let _ = peer
                        .notify_progress(
                            ProgressNotificationParam::new(token.clone(), done as f64)
                                .with_total(total as f64)
                                .with_message(format!("indexed {done} of {total} new events")),
                        )
                        .await;
                }
            })
        });
        let outcome = tokio::task::spawn_blocking(move || {
            let mut progress = |done: u64, total: u64| {
                let _ = tx.send((done, total));
            };
            use_case(&app, &mut progress)
        })
        .await
        .map_err(|e| McpError::internal_error(format!("analysis task failed: {e}"), None))?;
        if let Some(task) = forward {
            let _ = task.await;
        }
        match outcome {
            Ok(view) => {
                let value = serde_json::to_value(&view).map_err(|e| {
                    McpError::internal_error(format!("cannot encode the result: {e}"), None)
                })?;
                let mut result = CallToolResult::structured(value);
                result.content = vec![ContentBlock::text(text(&view))];
                Ok(result)
            }
            Err(e) if e.is_actionable() => Ok(CallToolResult::error(vec![ContentBlock::text(
                e.to_string(),
            )])),
            Err(e) => {
                tracing::error!(error = %e, "tool failed");
                Err(McpError::internal_error(e.to_string(), None))
            }
        }
    }
}

#[tool_router]
impl SelfHealServer {
    /// Finds recurring tool-failure patterns in a window: id <error_type>:<tool_name>, occurrences, affected runs, classification with signals, message templates, correlation, confidence, recovery by retry, trend and a suggested fix.
    #[tool(
        title = "Detect failure patterns",
        annotations(read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        output_schema = schema_for_output::<DetectView>()
    )]
    async fn detect_failure_patterns(
        &self,
        Parameters(args): Parameters<DetectArgs>,
        meta: RequestMetaObject,
        peer: Peer<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        self.run(
            meta,
            peer,
            move |app, p| app.detect_failure_patterns(&args, p),
            render::detect,
        )
        .await
    }

    /// Shows one failure pattern in full (whatever its confidence): templates, classification, correlation, affected runs and its most recent failures with their messages.
    #[tool(
        title = "Pattern details",
        annotations(read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        output_schema = schema_for_output::<PatternView>()
    )]
    async fn get_pattern(
        &self,
        Parameters(args): Parameters<PatternArgs>,
        meta: RequestMetaObject,
        peer: Peer<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        self.run(
            meta,
            peer,
            move |app, p| app.get_pattern(&args, p),
            render::pattern,
        )
        .await
    }

    /// Scores one run's health (0-100 from success, duration against its workflow's baseline, tool reliability and token use) and lists its issues with recommendations.
    #[tool(
        title = "Analyze run health",
        annotations(read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        output_schema = schema_for_output::<RunHealthView>()
    )]
    async fn analyze_run_health(
        &self,
        Parameters(args): Parameters<RunHealthArgs>,
        meta: RequestMetaObject,
        peer: Peer<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        self.run(
            meta,
            peer,
            move |app, p| app.analyze_run_health(&args, p),
            render::run_health,
        )
        .await
    }

    /// Per-agent run metrics for runs started in a window: runs, completed/failed, success rate with a Wilson interval, average and p95 duration, and trend.
    #[tool(
        title = "Compute agent metrics",
        annotations(read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        output_schema = schema_for_output::<AgentsView>()
    )]
    async fn compute_agent_metrics(
        &self,
        Parameters(args): Parameters<AgentArgs>,
        meta: RequestMetaObject,
        peer: Peer<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        self.run(
            meta,
            peer,
            move |app, p| app.compute_agent_metrics(&args, p),
            render::agents,
        )
        .await
    }

    /// Per-tool reliability for calls in a window: calls, failures, success rate with a Wilson 95% interval, timeout and error rates, p50/p95/p99 duration and top error classes.
    #[tool(
        title = "Compute tool reliability",
        annotations(read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        output_schema = schema_for_output::<ToolsView>()
    )]
    async fn compute_tool_reliability(
        &self,
        Parameters(args): Parameters<ToolArgs>,
        meta: RequestMetaObject,
        peer: Peer<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        self.run(
            meta,
            peer,
            move |app, p| app.compute_tool_reliability(&args, p),
            render::tools,
        )
        .await
    }

    /// Overall health of the agents in a window: health score with its measured components, success rate and trend, top patterns, stalled runs and recent improvements.
    #[tool(
        title = "Health dashboard",
        annotations(read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        output_schema = schema_for_output::<DashboardView>()
    )]
    async fn get_health_dashboard(
        &self,
        Parameters(args): Parameters<DashboardArgs>,
        meta: RequestMetaObject,
        peer: Peer<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        self.run(
            meta,
            peer,
            move |app, p| app.get_health_dashboard(&args, p),
            render::dashboard,
        )
        .await
    }

    /// Lists runs whose status is running but which have had no event for longer than a threshold (default 10 minutes), longest idle first.
    #[tool(
        title = "Detect stalled runs",
        annotations(read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        output_schema = schema_for_output::<StalledView>()
    )]
    async fn detect_stalled_runs(
        &self,
        Parameters(args): Parameters<StalledArgs>,
        meta: RequestMetaObject,
        peer: Peer<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        self.run(
            meta,
            peer,
            move |app, p| app.detect_stalled_runs(&args, p),
            render::stalled,
        )
        .await
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for SelfHealServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(
                "self-healing-mcp",
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(INSTRUCTIONS)
    }
}
