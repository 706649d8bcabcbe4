//! The dashboard page: the MCP App `ui://self-healing/dashboard` and the static HTML report.
//!
//! [`DASHBOARD_HTML`] is one self-contained document (`assets/dashboard.html`: inline CSS, JS
//! and SVG; a Content-Security-Policy that forbids every load). Served as the MCP App resource
//! ([`DASHBOARD_URI`], [`MCP_APP_MIME`]) it waits for the host's `ui/notifications/tool-result`
//! and draws the structured content of `get_health_dashboard`, `get_pattern` or
//! `verify_improvement`; the messages it exchanges, and how it tells the three apart, are
//! written in the page's header comment.
//!
//! [`report_page`] makes the static report of `self-heal report --html`: the same document
//! with a [`ReportPage`] embedded as JSON in `<script type="application/json"
//! id="selfheal-data">`, which the page draws instead of waiting for a host. The JSON is
//! serde's, with `<`, `>`, `&`, U+2028 and U+2029 written as `\uXXXX` escapes inside its
//! strings, so no recorded text can close the script element or start markup; it parses to the
//! exact same value. The page inserts every string of the data as text, never as markup.

use std::path::Path;

use crate::views::ReportPage;
use crate::{App, AppError};

/// The dashboard page (also the template of the static report).
pub const DASHBOARD_HTML: &str = include_str!("../assets/dashboard.html");

/// The MCP App resource that holds [`DASHBOARD_HTML`].
pub const DASHBOARD_URI: &str = "ui://self-healing/dashboard";

/// The MIME type of an MCP App's HTML resource (extension `io.modelcontextprotocol/ui`).
pub const MCP_APP_MIME: &str = "text/html;profile=mcp-app";

/// The empty data element of [`DASHBOARD_HTML`] that [`report_page`] fills.
const DATA_ELEMENT: &str = r#"<script type="application/json" id="selfheal-data"></script>"#;

/// Patterns shown in full in the report page.
const REPORT_PATTERNS: i64 = 10;
/// Improvements listed in the report page.
const REPORT_IMPROVEMENTS: i64 = 100;

/// The static report: [`DASHBOARD_HTML`] with `page` embedded as JSON.
pub fn report_page(page: &ReportPage) -> Result<String, AppError> {
    let json = serde_json::to_string(page)
        .map_err(|e| AppError::Internal(format!("cannot serialise the report page: {e}")))?;
    let element = format!(
        r#"<script type="application/json" id="selfheal-data">{}</script>"#,
        script_safe(&json)
    );
    Ok(DASHBOARD_HTML.replacen(DATA_ELEMENT, &element, 1))
}

/// JSON text that is inert inside a `<script>` element. The characters replaced occur in
/// serde's output only inside strings, where the escape means the same character.
fn script_safe(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + 64);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// Writes a report page to `path` atomically (a new file is readable by its owner only: it
/// quotes the run history; an existing file keeps its permissions).
pub fn write_report_page(path: &Path, html: &str) -> Result<(), AppError> {
    if path.is_dir() {
        return Err(AppError::InvalidInput(format!(
            "{} is a directory; give the path of the HTML file to write",
            crate::sanitize::echo(&path.display().to_string())
        )));
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir.filter(|d| !d.is_dir()) {
        return Err(AppError::InvalidInput(format!(
            "the directory {} does not exist; create it or write the report elsewhere",
            crate::sanitize::echo(&dir.display().to_string())
        )));
    }
    let permissions = std::fs::metadata(path).ok().map(|m| m.permissions());
    crate::config_edit::atomic_write(path, html.as_bytes(), permissions).map_err(AppError::from)
}

impl App {
    /// Gathers what the static report shows for the period `args.since`: the detailed
    /// dashboard, the healing report, the top patterns in full and the newest improvements,
    /// each from its own use case.
    pub fn report_page(
        &self,
        args: &crate::args::ReportArgs,
        progress: crate::analysis::Progress<'_>,
    ) -> Result<ReportPage, AppError> {
        let dashboard = self.get_health_dashboard(
            &crate::args::DashboardArgs {
                since: args.since.clone(),
                detailed: true,
                // The page is for people: it draws the per-day series.
                detail: crate::args::Detail::Full,
            },
            &mut *progress,
        )?;
        let report = self.get_healing_report(args, &mut *progress)?;
        let detected = self.detect_failure_patterns(
            &crate::args::DetectArgs {
                since: args.since.clone(),
                limit: REPORT_PATTERNS,
                detail: crate::args::Detail::Full,
                ..Default::default()
            },
            &mut *progress,
        )?;
        let improvements = self.list_improvements(
            &crate::args::ListArgs {
                detail: crate::args::Detail::Full,
                status: None,
                limit: REPORT_IMPROVEMENTS,
                cursor: None,
            },
            &mut *progress,
        )?;
        Ok(ReportPage {
            generated_at: selfheal_core::time::format_ms(self.now_ms()),
            dashboard,
            report,
            patterns: detected.patterns,
            patterns_omitted: detected.patterns_omitted,
            improvements,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Clock, Config};
    use selfheal_store::index::IndexLocation;

    /// A report page over a small history whose recorded names try to break out of the data
    /// element: a run id and a tool name with `</script>`, `<!--` and U+2028 / U+2029.
    fn hostile_page(dir: &Path) -> ReportPage {
        let run = "r</script><script>alert(1)</script>\u{2028}";
        let tool = "read_file</SCRIPT><!--\u{2029}&amp;";
        let mut lines = String::new();
        for i in 0..8 {
            let failed = i % 2 == 0;
            let line = serde_json::json!({
                "run": format!("{run}{}", i % 3),
                "agent": "triage<b>",
                "tool": tool,
                "time": format!("2026-01-29T1{i}:00:00Z"),
                "duration": 20,
                "is_error": failed,
                "message": if failed { "ENOENT: no such file or directory, open '/a/</script>'" } else { "ok" },
                "input": {"path": format!("/a/{i}")},
                "run_status": if i == 7 { "failed" } else { "completed" },
            });
            lines.push_str(&line.to_string());
            lines.push('\n');
        }
        let history = dir.join("calls.jsonl");
        std::fs::write(&history, lines).unwrap();
        let config = Config {
            db_path: dir.join("history.sqlite"),
            inbox_path: dir.join("inbox"),
            index: Some(IndexLocation::File(dir.join("index.sqlite"))),
            playbooks_dir: None,
            config_file: None,
            import_paths: vec![history],
            policy_file: None,
            pause_file: None,
        };
        let now = selfheal_core::time::parse_timestamp("2026-01-30T12:00:00Z").unwrap();
        let app = App::new(config, Clock::Fixed(now));
        let args = crate::args::ReportArgs {
            since: "-7d".into(),
            detail: crate::args::Detail::Full,
        };
        app.report_page(&args, &mut |_, _| {}).unwrap()
    }

    /// The text of the data element of a report page.
    fn embedded(html: &str) -> &str {
        let start = r#"<script type="application/json" id="selfheal-data">"#;
        let at = html.find(start).unwrap() + start.len();
        let end = html[at..].find("</script>").unwrap();
        &html[at..at + end]
    }

    #[test]
    fn the_page_has_one_empty_data_element() {
        assert_eq!(DASHBOARD_HTML.matches(DATA_ELEMENT).count(), 1);
        assert_eq!(DASHBOARD_HTML.matches("id=\"selfheal-data\"").count(), 1);
    }

    #[test]
    fn the_page_loads_nothing_and_inserts_no_markup() {
        let lower = DASHBOARD_HTML.to_ascii_lowercase();
        for needle in [
            "http:",
            "https:",
            "//cdn",
            "src=",
            "href=",
            "<link",
            "@import",
            "url(",
            "fetch(",
            "xmlhttprequest",
            "websocket",
            "eventsource",
            "sendbeacon",
            "import(",
            "eval(",
            "new function",
            "innerhtml",
            "outerhtml",
            "insertadjacenthtml",
            "document.write",
            "srcdoc",
        ] {
            assert!(!lower.contains(needle), "the page contains {needle:?}");
        }
        assert!(
            lower.contains("default-src 'none'"),
            "the page sets its own CSP"
        );
    }

    #[test]
    fn embedded_data_cannot_close_the_script_element() {
        let dir = tempfile::tempdir().unwrap();
        let page = hostile_page(dir.path());
        let id = &page.patterns.first().expect("a pattern").id;
        assert!(id.contains("</SCRIPT><!--\u{2029}"), "{id}");
        assert!(
            page.dashboard.top_patterns.iter().any(|p| p.id == *id),
            "the dashboard lists it too"
        );
        let html = report_page(&page).unwrap();
        // Nothing was added but the data: the same elements, in the same order.
        assert_eq!(
            html.to_ascii_lowercase().matches("</script").count(),
            DASHBOARD_HTML
                .to_ascii_lowercase()
                .matches("</script")
                .count()
        );
        assert_eq!(
            html.matches("<!--").count(),
            DASHBOARD_HTML.matches("<!--").count()
        );
        let data = embedded(&html);
        for c in ['<', '>', '&', '\u{2028}', '\u{2029}'] {
            assert!(!data.contains(c), "{c:?} left raw in the embedded data");
        }
        assert!(data.contains(r"\u003c/SCRIPT\u003e\u003c!--\u2029\u0026amp;"));
    }

    #[test]
    fn report_page_round_trips_the_data() {
        let dir = tempfile::tempdir().unwrap();
        let page = hostile_page(dir.path());
        assert_eq!(page.generated_at, "2026-01-30T12:00:00Z");
        assert!(
            page.dashboard.tools.is_some(),
            "the dashboard is the detailed one"
        );
        assert!(!page.dashboard.daily.is_empty());
        assert!(page.patterns.iter().all(|p| !p.daily.is_empty()));
        let html = report_page(&page).unwrap();
        let back: ReportPage = serde_json::from_str(embedded(&html)).unwrap();
        assert_eq!(back, page);
        // Outside the data element the page is the template as it is.
        let filled = html.replacen(embedded(&html), "", 1);
        assert_eq!(filled, DASHBOARD_HTML);
    }

    #[test]
    fn report_files_are_written_whole_and_bad_paths_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.html");
        write_report_page(&path, "<!DOCTYPE html>one").unwrap();
        write_report_page(&path, "<!DOCTYPE html>two").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "<!DOCTYPE html>two"
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name() != "report.html")
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
        let e = write_report_page(&dir.path().join("missing/report.html"), "x").unwrap_err();
        assert!(matches!(e, AppError::InvalidInput(_)), "{e}");
        assert!(e.to_string().contains("does not exist"), "{e}");
        let e = write_report_page(dir.path(), "x").unwrap_err();
        assert!(e.to_string().contains("is a directory"), "{e}");
    }
}
