//! Text of the `real` profile: template filling, the subject a call is about (its project,
//! file, host, table…, derived from a per-call seed so that a repeated call names the same
//! things), arguments written together with their canonical key (for retry evidence), and the
//! way each harness wraps a program's output or a tool's error.
//!
//! Everything is written into caller-provided buffers; nothing allocates once they have grown.

use std::fmt::Write as _;

use crate::rng::Rng;
use crate::text::push_json_escaped;

use super::catalog::{Class, Shell};
use super::vocab::{Fail, Fam, FamDef, Prog};

// ----------------------------------------------------------------------------- vocabularies

const USERS: &[&str] = &[
    "dev",
    "ci",
    "alice",
    "bob",
    "runner",
    "mkhan",
    "jlopez",
    "svc-agent",
];
const PROJECTS: &[&str] = &[
    "webapp",
    "api-server",
    "billing-service",
    "data-lake",
    "mobile-app",
    "infra",
    "search-indexer",
    "docs-site",
    "ml-pipeline",
    "auth-gateway",
];
const DIRS: &[&str] = &[
    "src",
    "src/api",
    "src/api/handlers",
    "src/core",
    "src/utils",
    "src/components",
    "lib",
    "tests",
    "tests/integration",
    "scripts",
    "config",
    "docs",
    "internal/store",
    "pkg/server",
    "app/models",
    "crates/core/src",
];
const FILES: &[&str] = &[
    "main.rs",
    "lib.rs",
    "parser.rs",
    "handlers.go",
    "server.go",
    "index.ts",
    "App.tsx",
    "client.ts",
    "utils.py",
    "models.py",
    "views.py",
    "settings.py",
    "config.toml",
    "config.yaml",
    "schema.sql",
    "README.md",
    "Dockerfile",
    "package.json",
    "pyproject.toml",
    "conftest.py",
    "routes.js",
    "cache.rs",
];
const EXTS: &[&str] = &["rs", "ts", "tsx", "py", "go", "md", "json", "yaml"];
const BIN_EXTS: &[&str] = &["png", "pdf", "sqlite", "zip", "woff2"];
const HOSTS: &[&str] = &[
    "api.github.com",
    "registry.npmjs.org",
    "internal-api.corp.local",
    "docs.rs",
    "status.example.com",
    "metrics.svc.cluster.local",
    "pypi.org",
    "billing.acme.io",
    "search.acme.io",
    "api.stripe.com",
    "hooks.slack.com",
    "developer.mozilla.org",
];
const URL_PATHS: &[&str] = &[
    "v1/users",
    "repos/acme/webapp/pulls",
    "api/v2/orders",
    "docs/latest/guide",
    "simple/requests",
    "v1/metrics/query",
    "crates/serde",
    "graphql",
    "en-US/docs/Web/API/fetch",
    "v1/invoices",
];
const BRANCHES: &[&str] = &[
    "main",
    "develop",
    "feature/pagination",
    "fix/flaky-login",
    "chore/bump-deps",
    "feat/retry-webhooks",
    "release/2.4",
    "fix/cache-eviction",
];
const TABLES: &[&str] = &[
    "users",
    "orders",
    "events_daily",
    "invoices",
    "sessions",
    "page_views",
    "accounts_v2",
    "feature_flags",
    "payments",
    "audit_log",
];
const COLUMNS: &[&str] = &[
    "created_at",
    "tenant_id",
    "amount_cents",
    "status",
    "email",
    "updated_by",
    "region",
    "plan_id",
];
const DBS: &[&str] = &["analytics", "app", "billing", "warehouse"];
const BUCKETS: &[&str] = &[
    "acme-data-raw",
    "acme-exports",
    "ml-artifacts",
    "acme-backups",
    "reports-prod",
];
const CHANNELS: &[&str] = &[
    "releases",
    "alerts",
    "eng-bots",
    "data-team",
    "oncall",
    "qa",
];
const NAMESPACES: &[&str] = &["default", "prod", "staging", "payments", "observability"];
const SERVICES: &[&str] = &[
    "api",
    "worker",
    "billing",
    "gateway",
    "scheduler",
    "indexer",
    "web",
    "notifier",
];
const IMAGES: &[&str] = &[
    "acme/api:2.4.1",
    "acme/worker:latest",
    "python:3.12-slim",
    "node:20-alpine",
    "postgres:16",
    "acme/web:1.9.0",
];
const PYMODS: &[&str] = &[
    "requests",
    "pandas",
    "numpy",
    "pydantic",
    "sqlalchemy",
    "httpx",
    "boto3",
    "fastapi",
    "yaml",
    "redis",
    "torch",
    "polars",
];
const NPMPKGS: &[&str] = &[
    "@acme/ui-kit",
    "react-query",
    "zod",
    "date-fns",
    "@vitejs/plugin-react",
    "lodash.merge",
    "eslint-plugin-import",
    "msw",
];
const CRATES: &[&str] = &[
    "serde",
    "tokio",
    "reqwest",
    "clap",
    "rusqlite",
    "thiserror",
    "tracing",
    "regex",
];
const IDENTS: &[&str] = &[
    "config",
    "retry_count",
    "handler",
    "conn_pool",
    "user_id",
    "payload",
    "timeout_ms",
    "cache_key",
    "items",
    "session",
];
const FNS: &[&str] = &[
    "parse_config",
    "load_user",
    "compute_total",
    "normalize",
    "fetch_page",
    "apply_discount",
    "render_row",
    "validate_input",
];
const CLASSES: &[&str] = &[
    "Invoice",
    "UserService",
    "Parser",
    "OrderRepo",
    "CacheLayer",
    "Checkout",
    "RateLimiter",
];
const TESTS: &[&str] = &[
    "parses_empty_input",
    "applies_discount",
    "rejects_bad_token",
    "paginates_results",
    "retries_on_timeout",
    "handles_unicode",
    "roundtrip",
    "invoice_total",
];
const SELECTORS: &[&str] = &[
    "button[type=submit]",
    "#login-form input[name=email]",
    "text=Continue",
    "[data-testid=checkout]",
    "nav >> text=Settings",
];
const JPROJS: &[&str] = &["OPS", "PAY", "WEB", "DATA", "SEC"];
const QUERIES: &[&str] = &[
    "fn parse_",
    "TODO",
    "impl Display for",
    "useEffect(",
    "def test_",
    "retry_policy",
    "DATABASE_URL",
    "class .*Error",
];
const TARGETS: &[&str] = &["build", "test", "lint", "release", "docs", "migrate"];
const SCRIPTS: &[&str] = &["build", "test", "lint", "dev", "typecheck"];
const TITLES: &[&str] = &[
    "handle empty config file",
    "flaky login test",
    "add pagination to orders API",
    "crash when cache is cold",
    "upgrade serde",
    "memory growth in worker",
    "typo in onboarding docs",
    "retry failed webhooks",
    "slow dashboard query",
    "dark mode toggle",
    "rate limit on export endpoint",
    "timezone bug in invoices",
];
const WORDS: &[&str] = &[
    "alpha",
    "billing",
    "cache",
    "catalog",
    "delta",
    "invoice",
    "ledger",
    "metrics",
    "orders",
    "profile",
    "report",
    "session",
    "users",
    "gamma",
    "inventory",
    "audit",
    "export",
    "sync",
];
const FLAGS: &[&str] = &[
    "relase",
    "verbos",
    "no-colour",
    "recursiv",
    "all-feature",
    "dry",
    "fast-fail",
];
const CMDWORDS: &[&str] = &["buidl", "tset", "lnit", "start-dev", "deploy"];
const SYS_PATHS: &[&str] = &[
    "/etc/shadow",
    "/etc/ssl/private/server.key",
    "/root/.ssh/id_ed25519",
    "/var/lib/docker/volumes",
    "/etc/sudoers",
    "/var/log/auth.log",
    "/usr/local/lib/node_modules",
    "/opt/secrets/prod.env",
];
const PARAMS: &[&str] = &["file_path", "max_results", "regex", "include"];
const SQLWORDS: &[&str] = &["FORM", "WHERE", "GROUP", "LIMTI", ")"];
const TOOL_BINS: &[&str] = &["protoc", "gcc", "jq", "yq", "shellcheck", "sqlc"];
const METHODS: &[&str] = &["GET", "GET", "GET", "POST", "PUT", "DELETE"];
const LETTERS: &[&str] = &["z", "j", "W", "k", "Q"];
const CODE_LINES: &[&str] = &[
    "let total = items.iter().map(|i| i.price).sum::<u64>();",
    "if (!response.ok) throw new Error(`HTTP ${response.status}`);",
    "return self.session.query(User).filter_by(id=user_id).first()",
    "for _, row := range rows { out = append(out, row.ID) }",
    "const [state, setState] = useState<Item[]>([]);",
    "config = yaml.safe_load(fh) or {}",
    "pub fn parse(input: &str) -> Result<Config, Error> {",
    "    timeout_ms: u64,",
    "await queue.publish(topic, JSON.stringify(payload));",
    "logger.info(\"processed %d records\", count)",
    "if err != nil { return fmt.Errorf(\"load: %w\", err) }",
    "assert result.status_code == 200",
];
const PROSE: &[&str] = &[
    "The endpoint returns paginated results; pass the cursor from the previous page to continue.",
    "Retries use exponential backoff with jitter, capped at five attempts per request.",
    "Configuration is read from the environment first, then from the TOML file in the project root.",
    "The migration adds a nullable column, backfills it in batches, then adds the constraint.",
    "Rate limits apply per token: 5000 requests per hour for authenticated callers.",
    "The cache is invalidated on write; readers may see stale data for up to thirty seconds.",
];
const FRAME_FILES: &[&str] = &[
    "app/services/{word}.py",
    "app/jobs/runner.py",
    "lib/{word}/client.py",
    "scripts/{pyfile}",
];
const FRAME_FNS: &[&str] = &["main", "run", "handle", "process_batch", "_request", "load"];

// ----------------------------------------------------------------------------- subjects

/// A stable value for `salt` derived from the call's subject seed.
#[inline]
fn sub(subj: u64, salt: u64) -> u64 {
    crate::rng::mix(subj, salt)
}

#[inline]
fn spick(subj: u64, salt: u64, xs: &'static [&'static str]) -> &'static str {
    xs[(sub(subj, salt) % xs.len() as u64) as usize]
}

/// The project of the run: the top 16 bits of every subject seed are the run's.
fn project(subj: u64) -> (&'static str, &'static str) {
    let top = subj >> 48;
    (
        USERS[(top % USERS.len() as u64) as usize],
        PROJECTS[((top >> 8) % PROJECTS.len() as u64) as usize],
    )
}

fn push_root(subj: u64, out: &mut String) {
    let (user, proj) = project(subj);
    out.push_str("/home/");
    out.push_str(user);
    out.push('/');
    out.push_str(proj);
}

fn push_relpath(subj: u64, out: &mut String) {
    out.push_str(spick(subj, 0x11, DIRS));
    out.push('/');
    if sub(subj, 0x12).is_multiple_of(4) {
        let _ = write!(out, "gen_{}_", sub(subj, 0x13) % 900 + 100);
    }
    out.push_str(spick(subj, 0x14, FILES));
}

fn push_hex(r: &mut Rng, n: usize, upper: bool, out: &mut String) {
    const LO: &[u8; 16] = b"0123456789abcdef";
    const UP: &[u8; 16] = b"0123456789ABCDEF";
    let digits = if upper { UP } else { LO };
    let mut bits = r.next_u64();
    for i in 0..n {
        if i % 16 == 15 {
            bits = r.next_u64();
        }
        out.push(char::from(digits[(bits & 0xF) as usize]));
        bits >>= 4;
    }
}

/// Writes a random UUID (v4 layout).
pub(crate) fn push_uuid(r: &mut Rng, out: &mut String) {
    let a = r.next_u64();
    let b = r.next_u64();
    let _ = write!(
        out,
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFF,
        0x8000 | ((b >> 48) & 0x3FFF),
        b & 0xFFFF_FFFF_FFFF
    );
}

/// Appends the decimal digits of `v` (without the formatting machinery).
pub(crate) fn push_u64(out: &mut String, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if let Ok(digits) = std::str::from_utf8(&buf[i..]) {
        out.push_str(digits);
    }
}

// ----------------------------------------------------------------------------- filling

/// What a template may refer to besides the subject.
pub(crate) struct Cx<'a> {
    pub(crate) subj: u64,
    pub(crate) tool: &'static str,
    pub(crate) cmd: &'a str,
    pub(crate) core: &'a str,
}

/// Fills template `tpl` into `out`. `{name}` is replaced by its value (subject-derived names
/// are stable for the call's subject; others are drawn from `r`); `{{` and `}}` are literal
/// braces; any other brace is kept as written.
pub(crate) fn fill(tpl: &str, cx: &Cx, r: &mut Rng, out: &mut String) {
    let b = tpl.as_bytes();
    let mut i = 0;
    let mut lit = 0;
    while i < b.len() {
        match b[i] {
            b'{' if b.get(i + 1) == Some(&b'{') => {
                out.push_str(&tpl[lit..i]);
                out.push('{');
                i += 2;
                lit = i;
            }
            b'}' if b.get(i + 1) == Some(&b'}') => {
                out.push_str(&tpl[lit..i]);
                out.push('}');
                i += 2;
                lit = i;
            }
            b'{' => {
                let mut j = i + 1;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                if j > i + 1 && b.get(j) == Some(&b'}') {
                    out.push_str(&tpl[lit..i]);
                    if !value(&tpl[i + 1..j], cx, r, out) {
                        out.push_str(&tpl[i..=j]);
                    }
                    i = j + 1;
                    lit = i;
                } else {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    out.push_str(&tpl[lit..]);
}

/// Fills `tpl` and appends it JSON-escaped (for string values written by hand).
fn fill_escaped(tpl: &str, cx: &Cx, r: &mut Rng, out: &mut String) {
    let mut tmp = String::new();
    fill(tpl, cx, r, &mut tmp);
    push_json_escaped(out, &tmp);
}

/// Writes the value of placeholder `name`; false when the name is unknown.
fn value(name: &str, cx: &Cx, r: &mut Rng, out: &mut String) -> bool {
    let s = cx.subj;
    match name {
        // The call's context.
        "tool" => out.push_str(cx.tool),
        "cmd" => out.push_str(cx.cmd),
        "core" => out.push_str(cx.core),
        // Subject-derived (stable for the call).
        "root" => push_root(s, out),
        "home" => {
            out.push_str("/home/");
            out.push_str(project(s).0);
        }
        "user" => out.push_str(project(s).0),
        "proj" => out.push_str(project(s).1),
        "repo" => {
            out.push_str("acme/");
            out.push_str(project(s).1);
        }
        "relpath" => push_relpath(s, out),
        "path" => {
            push_root(s, out);
            out.push('/');
            push_relpath(s, out);
        }
        "reldir" => out.push_str(spick(s, 0x11, DIRS)),
        "dir" => {
            push_root(s, out);
            out.push('/');
            out.push_str(spick(s, 0x11, DIRS));
        }
        "file" => out.push_str(spick(s, 0x14, FILES)),
        "ext" => out.push_str(spick(s, 0x15, EXTS)),
        "host" => out.push_str(spick(s, 0x21, HOSTS)),
        "urlpath" => {
            out.push_str(spick(s, 0x22, URL_PATHS));
            if sub(s, 0x23).is_multiple_of(2) {
                let _ = write!(out, "/{}", sub(s, 0x24) % 99_999 + 1);
            }
        }
        "url" => {
            out.push_str("https://");
            out.push_str(spick(s, 0x21, HOSTS));
            out.push('/');
            value("urlpath", cx, r, out);
        }
        "branch" => out.push_str(spick(s, 0x31, BRANCHES)),
        "table" => out.push_str(spick(s, 0x32, TABLES)),
        "column" => out.push_str(spick(s, 0x33, COLUMNS)),
        "db" => out.push_str(spick(s, 0x34, DBS)),
        "bucket" => out.push_str(spick(s, 0x35, BUCKETS)),
        "s3key" => {
            let _ = write!(
                out,
                "{}/dt=2026-{:02}-{:02}/part-{:05}.parquet",
                spick(s, 0x36, WORDS),
                sub(s, 0x37) % 12 + 1,
                sub(s, 0x38) % 28 + 1,
                sub(s, 0x39) % 400
            );
        }
        "channel" => out.push_str(spick(s, 0x3A, CHANNELS)),
        "ns" => out.push_str(spick(s, 0x3B, NAMESPACES)),
        "service" => out.push_str(spick(s, 0x3C, SERVICES)),
        "pod" => {
            let _ = write!(
                out,
                "{}-{:x}-{:05x}",
                spick(s, 0x3C, SERVICES),
                sub(s, 0x3D) & 0xFF_FFFF,
                sub(s, 0x3E) & 0xF_FFFF
            );
        }
        "image" => out.push_str(spick(s, 0x3F, IMAGES)),
        "pymod" => out.push_str(spick(s, 0x41, PYMODS)),
        "npmpkg" => out.push_str(spick(s, 0x42, NPMPKGS)),
        "crate" => out.push_str(spick(s, 0x43, CRATES)),
        "ident" => out.push_str(spick(s, 0x44, IDENTS)),
        "fn" => out.push_str(spick(s, 0x45, FNS)),
        "cls" => out.push_str(spick(s, 0x46, CLASSES)),
        "test" => out.push_str(spick(s, 0x47, TESTS)),
        "testfile" => {
            out.push_str("test_");
            out.push_str(spick(s, 0x48, WORDS));
            out.push_str(".py");
        }
        "testmod" => {
            out.push_str("test_");
            out.push_str(spick(s, 0x48, WORDS));
        }
        "sel" => out.push_str(spick(s, 0x49, SELECTORS)),
        "issue" => {
            push_u64(out, sub(s, 0x4A) % 4_000 + 100);
        }
        "jproj" => out.push_str(spick(s, 0x4B, JPROJS)),
        "query" => out.push_str(spick(s, 0x4C, QUERIES)),
        "target" => out.push_str(spick(s, 0x4D, TARGETS)),
        "script" => out.push_str(spick(s, 0x4E, SCRIPTS)),
        "tsfile" => {
            out.push_str(spick(
                s,
                0x4F,
                &["components", "hooks", "api", "store", "pages"],
            ));
            out.push('/');
            out.push_str(spick(s, 0x46, CLASSES));
            out.push_str(".tsx");
        }
        "rsfile" | "rsmod" => {
            out.push_str(spick(
                s,
                0x51,
                &["parser", "store", "config", "cache", "api"],
            ));
            if name == "rsfile" {
                out.push_str(".rs");
            }
        }
        "gofile" => {
            out.push_str(spick(s, 0x52, WORDS));
            out.push_str(".go");
        }
        "gomod" => {
            out.push_str("github.com/acme/");
            out.push_str(project(s).1);
        }
        "pyfile" => {
            out.push_str(spick(s, 0x53, WORDS));
            out.push_str(".py");
        }
        "jsfile" => {
            out.push_str(spick(
                s,
                0x54,
                &["build", "seed", "migrate", "sync", "report"],
            ));
            out.push_str(".js");
        }
        "method" => out.push_str(spick(s, 0x55, METHODS)),
        "title" => out.push_str(spick(s, 0x56, TITLES)),
        "commitmsg" => {
            out.push_str(spick(
                s,
                0x57,
                &["fix", "feat", "docs", "chore", "refactor"],
            ));
            out.push_str(": ");
            out.push_str(spick(s, 0x56, TITLES));
        }
        "flag" => out.push_str(spick(s, 0x58, FLAGS)),
        "cmdword" => out.push_str(spick(s, 0x59, CMDWORDS)),
        "tool_bin" => out.push_str(spick(s, 0x5A, TOOL_BINS)),
        // Random.
        "relpath2" => {
            out.push_str(r.pick(DIRS));
            out.push('/');
            out.push_str(r.pick(FILES));
        }
        "path2" => {
            push_root(s, out);
            out.push('/');
            value("relpath2", cx, r, out);
        }
        "file2" => out.push_str(r.pick(FILES)),
        "ident2" => out.push_str(r.pick(IDENTS)),
        "column2" => out.push_str(r.pick(COLUMNS)),
        "pymod2" => out.push_str(r.pick(PYMODS)),
        "binext" => out.push_str(r.pick(BIN_EXTS)),
        "syspath" => out.push_str(r.pick(SYS_PATHS)),
        "param" => out.push_str(r.pick(PARAMS)),
        "sqlword" => out.push_str(r.pick(SQLWORDS)),
        "letter" => out.push_str(r.pick(LETTERS)),
        "word" => out.push_str(r.pick(WORDS)),
        "prose" => out.push_str(r.pick(PROSE)),
        "codeline" => out.push_str(r.pick(CODE_LINES)),
        "k" | "k2" | "k3" => {
            let salt = match name {
                "k" => 0x61,
                "k2" => 0x62,
                _ => 0x63,
            };
            push_u64(out, sub(s, salt) % 480 + 2);
        }
        "d" => {
            push_u64(out, r.below(10));
        }
        "crashcode" => {
            push_u64(out, r.pick(&[1u64, 134, 137, 139]));
        }
        "n" | "n2" | "n3" => {
            push_u64(out, r.log_range(2, 900));
        }
        "line" => {
            push_u64(out, r.range(3, 480));
        }
        "col" => {
            push_u64(out, r.range(1, 72));
        }
        "pct" => {
            let _ = write!(out, "{:>2}", r.range(8, 99));
        }
        "ms" => {
            push_u64(out, r.log_range(3, 9_000));
        }
        "secs" => {
            let _ = write!(out, "{}.{:02}", r.log_range(1, 240), r.below(100));
        }
        "pid" => {
            push_u64(out, r.range(1_000, 65_000));
        }
        "port" => {
            push_u64(out, r.pick(&[3000u64, 5432, 6379, 8000, 8080, 9200]));
        }
        "ip" => {
            let _ = write!(
                out,
                "10.{}.{}.{}",
                r.below(8),
                r.range(0, 255),
                r.range(2, 254)
            );
        }
        "uuid" => push_uuid(r, out),
        "hex2" => push_hex(r, 2, false, out),
        "hex5" => push_hex(r, 5, false, out),
        "hex7" => push_hex(r, 7, false, out),
        "hex12" => push_hex(r, 12, false, out),
        "hex40" => push_hex(r, 40, false, out),
        "HEX8" => push_hex(r, 8, true, out),
        "ver" => {
            let _ = write!(out, "{}.{}.{}", r.below(5), r.below(30), r.below(12));
        }
        "bytes" => {
            push_u64(out, r.log_range(200, 4_000_000));
        }
        "kb" => {
            let _ = write!(out, "{}.{:02}", r.log_range(1, 9_000), r.below(100));
        }
        "tokens" => {
            push_u64(out, r.range(25_001, 90_000));
        }
        "date" => {
            let _ = write!(
                out,
                "2026-{:02}-{:02}T{:02}:{:02}:{:02}",
                r.range(1, 12),
                r.range(1, 28),
                r.below(24),
                r.below(60),
                r.below(60)
            );
        }
        "lsdate" => {
            let _ = write!(
                out,
                "{} {:>2} {:02}:{:02}",
                r.pick(&["Jan", "Mar", "Jun", "Sep", "Nov"]),
                r.range(1, 28),
                r.below(24),
                r.below(60)
            );
        }
        "dots" => {
            for _ in 0..r.range(4, 40) {
                out.push('.');
            }
        }
        "frames" => {
            for _ in 0..r.range(1, 4) {
                out.push_str("  File \"");
                push_root(s, out);
                out.push('/');
                fill(r.pick(FRAME_FILES), cx, r, out);
                let _ = write!(
                    out,
                    "\", line {}, in {}\n    ",
                    r.range(3, 400),
                    r.pick(FRAME_FNS)
                );
                out.push_str(r.pick(CODE_LINES));
                out.push('\n');
            }
        }
        "toolframes" => {
            for _ in 0..r.range(1, 4) {
                let _ = write!(
                    out,
                    "  File \"/opt/agent/tools/{}.py\", line {}, in {}\n    {}\n",
                    cx.tool,
                    r.range(10, 300),
                    r.pick(FRAME_FNS),
                    r.pick(CODE_LINES)
                );
            }
        }
        "testlines" => {
            for _ in 0..r.range(1, 5) {
                let _ = writeln!(
                    out,
                    "test {}::tests::{} ... ok",
                    spick(s, 0x51, &["parser", "store", "config", "cache", "api"]),
                    r.pick(TESTS)
                );
            }
        }
        "codeblock" => {
            for _ in 0..r.range(2, 9) {
                out.push_str(r.pick(CODE_LINES));
                out.push('\n');
            }
        }
        "numbered" => {
            let start = r.range(1, 300);
            for k in 0..r.range(3, 9) {
                let _ = writeln!(out, "{:>6}\u{2192}{}", start + k, r.pick(CODE_LINES));
            }
        }
        _ => return false,
    }
    true
}

// ----------------------------------------------------------------------------- arguments

/// Whether a string is a UUID (8-4-4-4-12 hex digits).
#[cfg(test)]
pub(crate) fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// One argument field, buffered so that the object can be written in either key order.
#[derive(Clone, Copy)]
struct Field {
    key: &'static str,
    val: (usize, usize),
    volatile: bool,
}

/// Builds an arguments object and its canonical key: a hash of the non-volatile fields that
/// does not depend on their order (DESIGN §4 retry evidence: string values that are UUIDs or
/// RFC 3339 timestamps, and keys `request_id`, `attempt`, `retry`, `nonce`, `timestamp`, are
/// volatile).
pub(crate) struct ArgWriter {
    fields: Vec<Field>,
    vals: String,
}

impl ArgWriter {
    pub(crate) fn new() -> Self {
        ArgWriter {
            fields: Vec::with_capacity(8),
            vals: String::with_capacity(512),
        }
    }

    fn clear(&mut self) {
        self.fields.clear();
        self.vals.clear();
    }

    /// A string field whose text is `tpl` filled for the subject.
    fn s(&mut self, key: &'static str, tpl: &str, cx: &Cx, r: &mut Rng) {
        let mut tmp = std::mem::take(&mut self.vals);
        let start = tmp.len();
        tmp.push('"');
        let inner = tmp.len();
        fill(tpl, cx, r, &mut tmp);
        // Escape in place only when needed (rare: quotes, newlines).
        if tmp[inner..]
            .bytes()
            .any(|b| b == b'"' || b == b'\\' || b < 0x20)
        {
            let raw = tmp.split_off(inner);
            push_json_escaped(&mut tmp, &raw);
        }
        tmp.push('"');
        let end = tmp.len();
        self.vals = tmp;
        self.fields.push(Field {
            key,
            val: (start, end),
            volatile: false,
        });
    }

    /// A string field with this exact text (escaped, not filled).
    fn lit(&mut self, key: &'static str, text: &str) {
        let start = self.vals.len();
        self.vals.push('"');
        push_json_escaped(&mut self.vals, text);
        self.vals.push('"');
        self.fields.push(Field {
            key,
            val: (start, self.vals.len()),
            volatile: false,
        });
    }

    /// A field whose JSON text is `raw` (numbers, booleans, arrays, objects).
    fn raw(&mut self, key: &'static str, raw: &str, volatile: bool) {
        let start = self.vals.len();
        self.vals.push_str(raw);
        self.fields.push(Field {
            key,
            val: (start, self.vals.len()),
            volatile,
        });
    }

    /// A field whose JSON text is written by `f`.
    fn with(&mut self, key: &'static str, volatile: bool, f: impl FnOnce(&mut String)) {
        let start = self.vals.len();
        f(&mut self.vals);
        self.fields.push(Field {
            key,
            val: (start, self.vals.len()),
            volatile,
        });
    }

    /// Writes the object into `out` (keys reversed when `reversed`) and returns its key.
    fn finish(&self, reversed: bool, out: &mut String) -> u64 {
        out.push('{');
        let n = self.fields.len();
        let mut key: u64 = 0x9E37_79B9;
        for k in 0..n {
            let f = self.fields[if reversed { n - 1 - k } else { k }];
            if k > 0 {
                out.push(',');
            }
            out.push('"');
            out.push_str(f.key);
            out.push_str("\":");
            let v = &self.vals[f.val.0..f.val.1];
            out.push_str(v);
            if !f.volatile {
                key = key.wrapping_add(field_hash(f.key, v));
            }
        }
        out.push('}');
        key
    }
}

/// A fast 64-bit hash of `bytes` (eight bytes per step), seeded with `h`.
fn hash_bytes(mut h: u64, bytes: &[u8]) -> u64 {
    const K: u64 = 0x517C_C1B7_2722_0A95;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    let mut w = [0u8; 8];
    let rest = chunks.remainder();
    w[..rest.len()].copy_from_slice(rest);
    h = (h.rotate_left(5) ^ u64::from_le_bytes(w) ^ (rest.len() as u64) << 59).wrapping_mul(K);
    h
}

fn field_hash(key: &str, val: &str) -> u64 {
    let h = hash_bytes(0xCBF2_9CE4_8422_2325, key.as_bytes());
    let h = hash_bytes(h ^ val.len() as u64, val.as_bytes());
    crate::rng::mix(h, 0x5EED)
}

/// Writes an RFC 3339 instant (volatile in arguments).
fn push_rfc3339(ms: i64, out: &mut String) {
    out.push('"');
    crate::ts::write_ts(out, ms, crate::ts::TsFormat::Zulu);
    out.push('"');
}

/// How a call's arguments vary between repeats without changing their meaning.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Volatile {
    /// Repeat number (0 for the first call); written as `attempt` when `attempt_key`.
    pub(crate) attempt: u8,
    pub(crate) attempt_key: bool,
    /// Write the keys in reverse order.
    pub(crate) reversed: bool,
    /// Seed of volatile values (request ids, timestamps).
    pub(crate) seed: u64,
    /// The call's instant (for timestamp-valued arguments).
    pub(crate) at_ms: i64,
}

/// Writes the command a shell call runs: template `tpl` of program `prog` filled for the
/// subject, sometimes behind `cd DIR &&`, environment assignments, `sudo` or `timeout N`, or
/// followed by `2>&1` — the way agents write them. Stable for the subject (repeats run the same
/// command); the program stays the first word after those prefixes.
pub(crate) fn shell_command(tpl: &str, prog: &str, cx: &Cx, out: &mut String) {
    let s = cx.subj;
    let roll = sub(s, 0xB1) % 100;
    let mut r = Rng::new(sub(s, 0xB2));
    match roll {
        0..14 => {
            out.push_str("cd ");
            push_root(s, out);
            out.push_str(" && ");
        }
        14..18 => {
            out.push_str("cd ");
            out.push_str(spick(s, 0x11, DIRS));
            out.push_str(" && ");
        }
        18..25 => {
            out.push_str(match prog {
                "cargo" => "RUST_BACKTRACE=1 ",
                "pytest" | "python3" => "PYTHONPATH=. ",
                "npm" | "npx" | "node" => "NODE_ENV=test ",
                "kubectl" => "KUBECONFIG=$HOME/.kube/config ",
                "docker" => "DOCKER_BUILDKIT=1 ",
                "go" => "CGO_ENABLED=0 ",
                _ => "LC_ALL=C ",
            });
        }
        25..28 => out.push_str("timeout 300 "),
        28..30 if matches!(prog, "docker" | "pip" | "npm" | "kubectl") => out.push_str("sudo "),
        _ => {}
    }
    fill(tpl, cx, &mut r, out);
    if sub(s, 0xB3).is_multiple_of(5) && !tpl.contains('|') && !tpl.contains("2>&1") {
        out.push_str(" 2>&1");
    }
}

/// Writes the arguments of a shell call running `cmd` (already filled) and returns its key.
pub(crate) fn shell_args(
    w: &mut ArgWriter,
    shell: Shell,
    cmd: &str,
    cx: &Cx,
    vol: Volatile,
    out: &mut String,
) -> u64 {
    w.clear();
    let mut r = Rng::new(sub(cx.subj, 0xA1));
    let mut vr = Rng::new(vol.seed);
    match shell {
        Shell::Claude => {
            w.lit("command", cmd);
            w.lit("description", describe(cmd));
            if sub(cx.subj, 0xA2).is_multiple_of(3) {
                w.raw("timeout", "600000", false);
            }
        }
        Shell::CodexExec => {
            w.lit("cmd", cmd);
            w.s("workdir", "{root}", cx, &mut r);
            w.raw("yield_time_ms", "10000", false);
        }
        Shell::CodexArgv => {
            w.with("command", false, |v| {
                v.push_str("[\"bash\",\"-lc\",\"");
                push_json_escaped(v, cmd);
                v.push_str("\"]");
            });
            w.s("workdir", "{root}", cx, &mut r);
            w.raw("timeout_ms", "120000", false);
        }
        Shell::Gemini => {
            w.lit("command", cmd);
            w.lit("description", describe(cmd));
        }
        Shell::Swe => w.lit("command", cmd),
        Shell::Binks => {
            w.lit("command", cmd);
            w.s("cwd", "{root}", cx, &mut r);
            w.raw("timeout_ms", "120000", false);
            w.with("request_id", true, |v| {
                v.push('"');
                push_uuid(&mut vr, v);
                v.push('"');
            });
        }
    }
    if vol.attempt_key && vol.attempt > 0 {
        let mut tmp = String::new();
        let _ = write!(tmp, "{}", vol.attempt + 1);
        w.raw("attempt", &tmp, true);
    }
    w.finish(vol.reversed, out)
}

/// A short description of a command, as harnesses ask the model for.
fn describe(cmd: &str) -> &'static str {
    let word = cmd.split_whitespace().next().unwrap_or("");
    match word {
        "git" => "Check repository state",
        "pytest" | "cargo" | "go" | "npx" => "Run the tests",
        "npm" => "Run the npm script",
        "ls" | "find" => "List files",
        "cat" | "sed" => "Show file contents",
        "grep" | "rg" => "Search the code",
        "docker" | "kubectl" => "Inspect the containers",
        _ => "Run the command",
    }
}

/// Writes the arguments of a call of a tool of family `fam` and returns its key.
pub(crate) fn fam_args(
    w: &mut ArgWriter,
    fam: Fam,
    cx: &Cx,
    vol: Volatile,
    out: &mut String,
) -> u64 {
    w.clear();
    let s = cx.subj;
    let mut r = Rng::new(sub(s, 0xA3));
    let mut vr = Rng::new(vol.seed);
    let variant = sub(s, 0xA4) % 4;
    match fam {
        Fam::CcRead => {
            w.s("file_path", "{path}", cx, &mut r);
            if variant == 0 {
                w.raw("offset", "200", false);
                w.raw("limit", "200", false);
            }
        }
        Fam::CcEdit => {
            w.s("file_path", "{path}", cx, &mut r);
            w.s("old_string", "{codeline}", cx, &mut r);
            w.s("new_string", "{codeline}", cx, &mut r);
            if variant == 1 {
                w.raw("replace_all", "true", false);
            }
        }
        Fam::CcWrite | Fam::GemWrite => {
            w.s("file_path", "{path}", cx, &mut r);
            w.s("content", "{codeblock}", cx, &mut r);
        }
        Fam::CcGrep | Fam::GemGrep => {
            w.s("pattern", "{query}", cx, &mut r);
            w.s("path", "{reldir}", cx, &mut r);
            if fam == Fam::CcGrep {
                w.s("output_mode", "content", cx, &mut r);
            }
        }
        Fam::CcGlob | Fam::GemGlob => {
            if cx.tool != "list_directory" {
                w.s("pattern", "**/*.{ext}", cx, &mut r);
            }
            w.s("path", "{dir}", cx, &mut r);
        }
        Fam::CcWebFetch => {
            w.s("url", "{url}", cx, &mut r);
            w.s("prompt", "Summarize the section about {title}", cx, &mut r);
        }
        Fam::WebSearch => w.s("query", "{title} {proj}", cx, &mut r),
        Fam::Todo => {
            if cx.tool == "update_plan" {
                w.with("plan", false, |v| {
                    v.push_str("[{\"step\":\"");
                    fill_escaped("Fix {title}", cx, &mut r, v);
                    v.push_str("\",\"status\":\"in_progress\"}]");
                });
            } else {
                w.with("todos", false, |v| {
                    v.push_str("[{\"content\":\"");
                    fill_escaped("Fix {title}", cx, &mut r, v);
                    v.push_str("\",\"status\":\"in_progress\",\"activeForm\":\"Fixing it\"}]");
                });
            }
        }
        Fam::Subagent => {
            w.s("description", "Investigate {title}", cx, &mut r);
            w.s(
                "prompt",
                "Find where {fn} is called and why {title} happens in {proj}.",
                cx,
                &mut r,
            );
            w.s("subagent_type", "general-purpose", cx, &mut r);
        }
        Fam::Patch => {
            w.s(
                "input",
                "*** Begin Patch\n*** Update File: {relpath}\n@@\n-{codeline}\n+{codeline}\n*** End Patch",
                cx,
                &mut r,
            );
        }
        Fam::GemRead => {
            if cx.tool == "read_many_files" {
                w.with("paths", false, |v| {
                    v.push_str("[\"");
                    fill_escaped("{relpath}", cx, &mut r, v);
                    v.push_str("\",\"");
                    fill_escaped("{reldir}/*.{ext}", cx, &mut r, v);
                    v.push_str("\"]");
                });
            } else {
                w.s("absolute_path", "{path}", cx, &mut r);
            }
        }
        Fam::GemReplace => {
            w.s("file_path", "{path}", cx, &mut r);
            w.s("old_string", "{codeline}", cx, &mut r);
            w.s("new_string", "{codeline}", cx, &mut r);
        }
        Fam::GemWebFetch => w.s("prompt", "Summarize {url}", cx, &mut r),
        Fam::SweEditor => {
            if variant == 0 {
                w.s("command", "view", cx, &mut r);
                w.s("path", "{path}", cx, &mut r);
            } else {
                w.s("command", "str_replace", cx, &mut r);
                w.s("path", "{path}", cx, &mut r);
                w.s("old_str", "{codeline}", cx, &mut r);
                w.s("new_str", "{codeline}", cx, &mut r);
            }
        }
        Fam::McpRead => w.s("path", "{path}", cx, &mut r),
        Fam::McpEdit => {
            w.s("path", "{path}", cx, &mut r);
            w.with("edits", false, |v| {
                v.push_str("[{\"oldText\":\"");
                fill_escaped("{codeline}", cx, &mut r, v);
                v.push_str("\",\"newText\":\"");
                fill_escaped("{codeline}", cx, &mut r, v);
                v.push_str("\"}]");
            });
            w.raw("dryRun", "false", false);
        }
        Fam::McpList => w.s("path", "{dir}", cx, &mut r),
        Fam::McpSearch => {
            w.s("query", "{query}", cx, &mut r);
            w.s("path", "{root}", cx, &mut r);
        }
        Fam::Db => {
            w.s(
                "sql",
                "SELECT {column} FROM {table} WHERE {column} IS NOT NULL LIMIT 100",
                cx,
                &mut r,
            );
            w.s("database", "{db}", cx, &mut r);
            if variant < 2 {
                w.with("as_of", true, |v| push_rfc3339(vol.at_ms - 3_600_000, v));
            }
        }
        Fam::Http => {
            w.s("method", "{method}", cx, &mut r);
            w.s("url", "{url}", cx, &mut r);
            w.raw("headers", "{\"Accept\":\"application/json\"}", false);
            w.with("request_id", true, |v| {
                v.push('"');
                push_uuid(&mut vr, v);
                v.push('"');
            });
        }
        Fam::K8s => {
            w.s("namespace", "{ns}", cx, &mut r);
            w.s("selector", "app={service}", cx, &mut r);
        }
        Fam::Deploy => {
            w.s("service", "{service}", cx, &mut r);
            w.s("image", "{image}", cx, &mut r);
            w.s("namespace", "{ns}", cx, &mut r);
            w.raw("replicas", "3", false);
        }
        Fam::S3 => {
            w.s("bucket", "{bucket}", cx, &mut r);
            w.s("key", "{s3key}", cx, &mut r);
        }
        Fam::Slack => {
            w.s("channel", "#{channel}", cx, &mut r);
            w.s("text", "{title}: done", cx, &mut r);
            w.with("idempotency_key", true, |v| {
                v.push('"');
                push_uuid(&mut vr, v);
                v.push('"');
            });
        }
        Fam::Email => {
            w.s("to", "{user}@example.com", cx, &mut r);
            w.s("subject", "Report: {title}", cx, &mut r);
            w.with("timestamp", true, |v| push_rfc3339(vol.at_ms, v));
        }
        Fam::PyExec => {
            w.s(
                "code",
                "import pandas as pd\ndf = pd.read_parquet(\"s3://{bucket}/{s3key}\")\ndf.groupby(\"{column}\").size()",
                cx,
                &mut r,
            );
            w.raw("timeout", "120", false);
        }
        Fam::GitCommit => {
            w.s("message", "{commitmsg}", cx, &mut r);
            w.with("files", false, |v| {
                v.push_str("[\"");
                fill_escaped("{relpath}", cx, &mut r, v);
                v.push_str("\"]");
            });
        }
        Fam::GitHub => {
            w.s("repo", "{repo}", cx, &mut r);
            if cx.tool == "create_pull_request" {
                w.s("head", "{branch}", cx, &mut r);
                w.s("base", "main", cx, &mut r);
                w.s("title", "{commitmsg}", cx, &mut r);
            } else {
                w.with("issue_number", false, |v| {
                    fill_escaped("{issue}", cx, &mut r, v)
                });
            }
        }
        Fam::Tests => {
            w.s(
                "command",
                ["cargo test", "pytest -q", "npm test", "go test ./..."][variant as usize],
                cx,
                &mut r,
            );
            w.s("filter", "{test}", cx, &mut r);
        }
        Fam::Browser => match cx.tool {
            "browser_navigate" => w.s("url", "{url}", cx, &mut r),
            "browser_screenshot" => {
                w.raw("fullPage", "true", false);
                w.s("filename", "{word}-{issue}.png", cx, &mut r);
            }
            _ => {
                w.s("element", "{sel}", cx, &mut r);
                w.with("ref", false, |v| {
                    let _ = write!(v, "\"e{}\"", sub(s, 0xA5) % 300 + 2);
                });
                if cx.tool == "browser_fill" {
                    w.s("text", "{user}@example.com", cx, &mut r);
                }
            }
        },
        Fam::Mcp => match cx.tool {
            "memory_store" => {
                w.s("key", "{proj}/{title}", cx, &mut r);
                w.s("value", "{prose}", cx, &mut r);
            }
            "vector_search" => {
                w.s("collection", "{proj}-docs", cx, &mut r);
                w.s("query", "{title}", cx, &mut r);
                w.raw("top_k", "8", false);
            }
            _ => {
                w.s("query", "{title}", cx, &mut r);
                w.raw("limit", "5", false);
            }
        },
        Fam::Jira => {
            w.s("project", "{jproj}", cx, &mut r);
            w.s("summary", "{title}", cx, &mut r);
            w.s("issuetype", "Bug", cx, &mut r);
        }
    }
    if vol.attempt_key && vol.attempt > 0 {
        let mut tmp = String::new();
        let _ = write!(tmp, "{}", vol.attempt + 1);
        w.raw("attempt", &tmp, true);
    }
    w.finish(vol.reversed, out)
}

// ----------------------------------------------------------------------------- messages

/// Longest message written (bytes); longer bodies lose ordinary output lines first.
pub(crate) const MAX_MESSAGE: usize = 2_000;
/// Messages shorter than this get one more of their harness's detail lines.
const MIN_MESSAGE: usize = 100;

/// Reusable buffers for composing messages.
pub(crate) struct Scratch {
    core: String,
    body: String,
    tmp: String,
}

impl Scratch {
    pub(crate) fn new() -> Self {
        Scratch {
            core: String::with_capacity(2048),
            body: String::with_capacity(4096),
            tmp: String::with_capacity(4096),
        }
    }
}

/// The message of a failed shell call: ordinary output, the program's error, wrapped the way
/// the shell tool reports it. Harness timeouts (`exit < 0`) report the partial output.
#[allow(clippy::too_many_arguments)]
pub(crate) fn shell_failure(
    shell: Shell,
    prog: &Prog,
    fail: &Fail,
    cx: &Cx,
    dur_ms: u64,
    r: &mut Rng,
    sc: &mut Scratch,
    out: &mut String,
) {
    sc.core.clear();
    if !fail.lines.is_empty() {
        fill(r.pick(fail.lines), cx, r, &mut sc.core);
    }
    sc.body.clear();
    let long_log = matches!(fail.class, Class::CommandFailed | Class::Timeout) && r.chance(0.35);
    let mut want = if long_log {
        r.range(8, 30)
    } else if fail.lines.is_empty() {
        r.range(1, 6)
    } else {
        r.below(5)
    };
    let budget = MAX_MESSAGE.saturating_sub(sc.core.len() + 300);
    let mut head = 0;
    for _ in 0..40 {
        let short = sc.body.len() + sc.core.len() < MIN_MESSAGE;
        if want == 0 && !short {
            break;
        }
        // The program's opening lines in order, then repeatable ones.
        let tpl = if head < prog.noise.len() && (long_log || short || r.chance(0.6)) {
            head += 1;
            prog.noise[head - 1]
        } else if !prog.repeat.is_empty() {
            r.pick(prog.repeat)
        } else if head < prog.noise.len() {
            head += 1;
            prog.noise[head - 1]
        } else {
            break;
        };
        sc.tmp.clear();
        fill(tpl, cx, r, &mut sc.tmp);
        if sc.body.len() + sc.tmp.len() + 1 > budget {
            break;
        }
        sc.body.push_str(&sc.tmp);
        sc.body.push('\n');
        want = want.saturating_sub(1);
    }
    sc.body.push_str(&sc.core);
    let body = sc.body.trim_end_matches('\n');
    wrap_shell(shell, cx, fail.exit, dur_ms, body, r, out);
}

/// The output of a shell call that exited with `exit` (0: success).
#[allow(clippy::too_many_arguments)]
pub(crate) fn shell_output(
    shell: Shell,
    cx: &Cx,
    exit: i32,
    dur_ms: u64,
    text_tpl: &str,
    r: &mut Rng,
    sc: &mut Scratch,
    out: &mut String,
) {
    sc.body.clear();
    fill(text_tpl, cx, r, &mut sc.body);
    if sc.body.len() > MAX_MESSAGE - 200 {
        let mut cut = MAX_MESSAGE - 200;
        while !sc.body.is_char_boundary(cut) {
            cut -= 1;
        }
        sc.body.truncate(cut);
    }
    let body = std::mem::take(&mut sc.body);
    wrap_shell(shell, cx, exit, dur_ms, &body, r, out);
    sc.body = body;
}

fn wrap_shell(
    shell: Shell,
    cx: &Cx,
    exit: i32,
    dur_ms: u64,
    body: &str,
    r: &mut Rng,
    out: &mut String,
) {
    let secs = dur_ms as f64 / 1000.0;
    let timed_out = exit < 0;
    match shell {
        Shell::Claude => {
            if timed_out {
                let _ = write!(
                    out,
                    "Command timed out after {}m {:.1}s\n{body}",
                    dur_ms / 60_000,
                    (dur_ms % 60_000) as f64 / 1000.0
                );
            } else if exit == 0 {
                out.push_str(if body.is_empty() {
                    "(No content)"
                } else {
                    body
                });
            } else {
                let _ = write!(out, "Exit code {exit}\n{body}");
            }
        }
        Shell::CodexExec => {
            if timed_out {
                let _ = write!(out, "command timed out after {dur_ms} milliseconds\n{body}");
            } else if r.chance(0.5) {
                let _ = write!(
                    out,
                    "Process exited with code {exit}\nWall time: {secs:.1} seconds\nOutput:\n{body}"
                );
            } else {
                out.push_str("Chunk ID: ");
                push_hex(r, 6, false, out);
                let _ = write!(
                    out,
                    "\nWall time: {secs:.4} seconds\nProcess exited with code {exit}\nOriginal token count: {}\nOutput:\n{body}",
                    body.len() / 4
                );
            }
        }
        Shell::CodexArgv => {
            out.push_str("{\"output\":\"");
            if timed_out {
                let _ = write!(out, "command timed out after {dur_ms} milliseconds\\n");
            }
            push_json_escaped(out, body);
            let code = if timed_out { 124 } else { exit };
            let _ = write!(
                out,
                "\",\"metadata\":{{\"exit_code\":{code},\"duration_seconds\":{secs:.1}}}}}"
            );
        }
        Shell::Gemini => {
            out.push_str("Command: ");
            out.push_str(cx.cmd);
            out.push_str("\nDirectory: (root)\nOutput: ");
            out.push_str(if body.is_empty() { "(empty)" } else { body });
            if timed_out {
                let _ = write!(
                    out,
                    "\nError: Command timed out after {dur_ms}ms and was terminated.\nExit Code: (none)\nSignal: 15"
                );
            } else {
                let _ = write!(out, "\nError: (none)\nExit Code: {exit}\nSignal: (none)");
            }
            let _ = write!(
                out,
                "\nBackground PIDs: (none)\nProcess Group PGID: {}",
                r.range(1_000, 65_000)
            );
        }
        Shell::Swe => {
            if timed_out {
                let _ = write!(
                    out,
                    "{body}\nThe command '{}' was cancelled because it took more than {} seconds. Please try a different command that completes more quickly.",
                    cx.cmd,
                    dur_ms / 1000
                );
            } else if body.is_empty() && exit == 0 {
                out.push_str("Your command ran successfully and did not produce any output.");
            } else {
                out.push_str(body);
            }
        }
        Shell::Binks => {
            if timed_out {
                let _ = write!(
                    out,
                    "Command '{}' timed out after {} seconds\n--- partial output ---\n{body}",
                    cx.cmd,
                    dur_ms / 1000
                );
            } else if exit == 0 {
                let _ = write!(out, "exit code 0\n{body}");
            } else {
                let _ = write!(
                    out,
                    "Command failed with exit code {exit}: {}\n--- output ---\n{body}",
                    cx.cmd
                );
            }
        }
    }
}

/// The message of a failed call of a tool of family `fam`: the error, some of the lines its
/// harness adds, inside one of its envelopes.
pub(crate) fn fam_failure(
    def: &FamDef,
    fail: &Fail,
    cx: &Cx,
    r: &mut Rng,
    sc: &mut Scratch,
    out: &mut String,
) {
    sc.core.clear();
    fill(r.pick(fail.lines), cx, r, &mut sc.core);
    let env = r.pick(def.envelopes);
    let start = out.len();
    let mut extra = r.below(3.min(def.details.len() as u64) + 1);
    for _ in 0..8 {
        if extra == 0 {
            let core = std::mem::take(&mut sc.core);
            let ecx = Cx {
                subj: cx.subj,
                tool: cx.tool,
                cmd: cx.cmd,
                core: &core,
            };
            out.truncate(start);
            fill(env, &ecx, r, out);
            sc.core = core;
            if out.len() - start >= MIN_MESSAGE || def.details.is_empty() {
                return;
            }
            extra = 1;
        }
        sc.tmp.clear();
        fill(r.pick(def.details), cx, r, &mut sc.tmp);
        if sc.core.len() + sc.tmp.len() + 200 > MAX_MESSAGE {
            extra = 0;
            continue;
        }
        sc.core.push('\n');
        sc.core.push_str(&sc.tmp);
        extra -= 1;
    }
    if out.len() == start {
        let core = std::mem::take(&mut sc.core);
        let ecx = Cx {
            subj: cx.subj,
            tool: cx.tool,
            cmd: cx.cmd,
            core: &core,
        };
        fill(env, &ecx, r, out);
        sc.core = core;
    }
}

/// The result of a successful call of a tool of family `fam`.
pub(crate) fn fam_success(def: &FamDef, cx: &Cx, r: &mut Rng, out: &mut String) {
    fill(r.pick(def.ok), cx, r, out);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn cx(subj: u64) -> Cx<'static> {
        Cx {
            subj,
            tool: "Bash",
            cmd: "git status",
            core: "",
        }
    }

    #[test]
    fn fill_replaces_known_names_and_keeps_the_rest() {
        let mut r = Rng::new(1);
        let mut s = String::new();
        fill(
            "a {proj} b {{x}} {unknown} {rsfile} {x y} }",
            &cx(7 << 48),
            &mut r,
            &mut s,
        );
        assert!(s.starts_with("a "), "{s}");
        assert!(s.contains(" b {x} {unknown} "), "{s}");
        assert!(s.ends_with(".rs {x y} }"), "{s}");
    }

    #[test]
    fn subject_values_are_stable() {
        let (mut a, mut b) = (String::new(), String::new());
        fill("{path} {url} {table}", &cx(99), &mut Rng::new(1), &mut a);
        fill("{path} {url} {table}", &cx(99), &mut Rng::new(2), &mut b);
        assert_eq!(a, b);
    }

    #[test]
    fn argument_keys_ignore_order_and_volatile_parts() {
        let mut w = ArgWriter::new();
        let c = cx(12345);
        let (mut a, mut b) = (String::new(), String::new());
        let vol = Volatile {
            seed: 1,
            at_ms: 1_700_000_000_000,
            ..Volatile::default()
        };
        let ka = fam_args(&mut w, Fam::Http, &c, vol, &mut a);
        let vol2 = Volatile {
            attempt: 2,
            attempt_key: true,
            reversed: true,
            seed: 2,
            at_ms: 1_700_000_100_000,
        };
        let kb = fam_args(&mut w, Fam::Http, &c, vol2, &mut b);
        assert_ne!(a, b);
        assert_eq!(ka, kb, "{a} / {b}");
        let v: serde_json::Value = serde_json::from_str(&b).unwrap();
        assert_eq!(v["attempt"], 3);
        assert!(is_uuid(v["request_id"].as_str().unwrap()));
        let mut c2 = String::new();
        let kc = fam_args(&mut w, Fam::Http, &cx(54321), vol, &mut c2);
        assert_ne!(ka, kc);
    }
}
