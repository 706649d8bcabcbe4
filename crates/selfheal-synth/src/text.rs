//! Text generation: tool arguments, success results, error messages (several templates per
//! pattern with variable parts: paths, numbers, hosts/IPs, ports, UUIDs, quoted names,
//! durations), run tasks and contexts, and JSON string escaping.
//!
//! Everything is written into caller-provided `String` buffers so that generating an event
//! allocates nothing once the buffers have grown. "Subject" helpers derive a value (a path, a
//! URL, a command…) from a per-call seed, so a call's arguments, its error message and its
//! retries all name the same file or host.

use std::fmt::Write as _;

use crate::catalog::{self, Msg};
use crate::rng::Rng;

const USERS: [&str; 5] = ["dev", "ci", "alice", "bob", "runner"];
const PROJECTS: [&str; 5] = [
    "webapp",
    "api-server",
    "selfheal",
    "data-lake",
    "mobile-app",
];
const DIRS: [&str; 9] = [
    "src",
    "src/analysis",
    "src/api/handlers",
    "crates/core/src",
    "tests",
    "docs",
    "scripts",
    "config",
    "web/components",
];
const FILES: [&str; 14] = [
    "main.rs",
    "lib.rs",
    "mod.rs",
    "parser.rs",
    "config.toml",
    "README.md",
    "index.ts",
    "utils.py",
    "schema.sql",
    "handlers.go",
    "settings.json",
    "Dockerfile",
    "app.tsx",
    "conftest.py",
];
const HOSTS: [&str; 9] = [
    "api.github.com",
    "registry.npmjs.org",
    "internal-api.corp.local",
    "docs.rs",
    "status.example.com",
    "metrics.svc.cluster.local",
    "pypi.org",
    "billing.acme.io",
    "search.acme.io",
];
const URL_SEGMENTS: [&str; 8] = [
    "v1/users",
    "repos/acme/webapp/pulls",
    "api/v2/orders",
    "docs/latest",
    "simple/requests",
    "v1/metrics/query",
    "crates/serde",
    "graphql",
];
const COMMANDS: [&str; 10] = [
    "cargo build --release",
    "npm run build",
    "pytest -x tests/",
    "make -j4",
    "docker build -t app .",
    "./scripts/migrate.sh",
    "cargo test --workspace",
    "go test ./...",
    "npx tsc --noEmit",
    "python manage.py collectstatic",
];
const TABLES: [&str; 8] = [
    "users",
    "orders",
    "events_daily",
    "invoices",
    "sessions",
    "page_views",
    "accounts_v2",
    "feature_flags",
];
const COLUMNS: [&str; 6] = [
    "created_at",
    "tenant_id",
    "amount_cents",
    "status",
    "email",
    "updated_by",
];
const QUERIES: [&str; 8] = [
    "fn parse_",
    "TODO",
    "impl Display for",
    "useEffect(",
    "def test_",
    "SELECT .* FROM",
    "unwrap()",
    "retry_policy",
];
const IDENTS: [&str; 6] = [
    "config",
    "retry_count",
    "handler",
    "conn_pool",
    "user_id",
    "payload",
];
const CHANNELS: [&str; 5] = ["releases", "alerts", "eng-bots", "data-team", "oncall"];
const SYS_PATHS: [&str; 6] = [
    "/etc/shadow",
    "/etc/ssl/private/server.key",
    "/root/.ssh/id_ed25519",
    "/var/lib/docker/volumes",
    "/etc/sudoers",
    "/var/log/auth.log",
];
const TITLES: [&str; 10] = [
    "handle empty config file",
    "flaky login test",
    "add pagination to orders API",
    "crash when cache is cold",
    "upgrade serde to 1.0.200",
    "memory growth in worker",
    "typo in onboarding docs",
    "retry failed webhooks",
    "slow dashboard query",
    "dark mode toggle",
];
const NPM_PKGS: [&str; 4] = [
    "left-padd",
    "@acme/ui-kit",
    "react-dom-tools",
    "lodash.merge2",
];

/// Whether any byte of the 8 in `x` needs escaping in a JSON string (`"`, `\\` or a control).
#[inline]
fn word_needs_escape(x: u64) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(LO) & !v & HI != 0;
    // Bytes below 0x20: (x - 0x20) borrows into the high bit for them (and for bytes >= 0x80,
    // excluded by `!x`).
    let below_space = x.wrapping_sub(LO * 0x20) & !x & HI != 0;
    below_space || has_zero(x ^ (LO * u64::from(b'"'))) || has_zero(x ^ (LO * u64::from(b'\\')))
}

/// Appends `s` as the inside of a JSON string (escaping quotes, backslashes and controls).
/// Runs of bytes that need no escaping are copied whole, found eight bytes at a time.
pub(crate) fn push_json_escaped(out: &mut String, s: &str) {
    let b = s.as_bytes();
    let mut run = 0;
    let mut i = 0;
    while i < b.len() {
        if i + 8 <= b.len() {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[i..i + 8]);
            if !word_needs_escape(u64::from_le_bytes(w)) {
                i += 8;
                continue;
            }
        }
        let c = b[i];
        let esc: &str = match c {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..0x20 => "",
            _ => {
                i += 1;
                continue;
            }
        };
        // `i` is at an ASCII byte, hence a char boundary.
        out.push_str(&s[run..i]);
        if esc.is_empty() {
            let _ = write!(out, "\\u{:04x}", c);
        } else {
            out.push_str(esc);
        }
        i += 1;
        run = i;
    }
    out.push_str(&s[run..]);
}

fn subject(seed: u64, salt: u64) -> Rng {
    Rng::new(seed ^ salt)
}

/// `/home/<user>/<project>`, chosen by the top 16 bits of the subject seed (which the
/// engine sets per run, so one run works in one project).
fn root(seed: u64, out: &mut String) {
    let top = seed >> 48;
    out.push_str("/home/");
    out.push_str(USERS[(top % USERS.len() as u64) as usize]);
    out.push('/');
    out.push_str(PROJECTS[((top >> 8) % PROJECTS.len() as u64) as usize]);
}

/// A file path under the project.
pub(crate) fn path(seed: u64, out: &mut String) {
    root(seed, out);
    let mut r = subject(seed, 0x5041_5448);
    out.push('/');
    out.push_str(r.pick(&DIRS));
    out.push('/');
    if r.chance(0.3) {
        let _ = write!(out, "gen_{}_", r.range(1, 999));
    }
    out.push_str(r.pick(&FILES));
}

/// A directory under the project.
pub(crate) fn dir(seed: u64, out: &mut String) {
    root(seed, out);
    let mut r = subject(seed, 0x4449_5252);
    out.push('/');
    out.push_str(r.pick(&DIRS));
}

fn host(seed: u64) -> &'static str {
    subject(seed, 0x484F_5354).pick(&HOSTS)
}

/// An https URL.
pub(crate) fn url(seed: u64, out: &mut String) {
    let mut r = subject(seed, 0x5552_4C21);
    out.push_str("https://");
    out.push_str(host(seed));
    out.push('/');
    out.push_str(r.pick(&URL_SEGMENTS));
    if r.chance(0.5) {
        let _ = write!(out, "/{}", r.range(1, 99_999));
    }
}

fn command(seed: u64) -> &'static str {
    subject(seed, 0x434D_4421).pick(&COMMANDS)
}

fn table(seed: u64) -> &'static str {
    subject(seed, 0x5441_424C).pick(&TABLES)
}

fn ip(r: &mut Rng, out: &mut String) {
    let _ = write!(
        out,
        "10.{}.{}.{}",
        r.below(8),
        r.range(0, 255),
        r.range(2, 254)
    );
}

fn uuid(r: &mut Rng, out: &mut String) {
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

fn pick_port(r: &mut Rng) -> u64 {
    r.pick(&[443u64, 8080, 3000, 9200, 6379, 8443])
}

/// Writes the arguments object (`{...}`) of a call to `tool` about subject `subj`.
/// All vocabulary is JSON-safe, so nothing needs escaping.
pub(crate) fn arguments(tool: usize, subj: u64, out: &mut String) {
    let mut r = subject(subj, 0x4152_4753);
    match tool {
        catalog::READ_FILE => {
            out.push_str("{\"path\":\"");
            path(subj, out);
            out.push('"');
            if r.chance(0.25) {
                let _ = write!(out, ",\"offset\":{},\"limit\":200", r.below(40) * 100);
            }
            out.push('}');
        }
        catalog::WRITE_FILE => {
            out.push_str("{\"path\":\"");
            path(subj, out);
            let _ = write!(
                out,
                "\",\"content\":\"fn {}() -> u32 {{\\n    {}\\n}}\\n\"}}",
                r.pick(&IDENTS),
                r.below(1000)
            );
        }
        catalog::LIST_DIR => {
            out.push_str("{\"path\":\"");
            dir(subj, out);
            let _ = write!(out, "\",\"recursive\":{}}}", r.chance(0.3));
        }
        catalog::EXECUTE_COMMAND => {
            out.push_str("{\"command\":\"");
            out.push_str(command(subj));
            out.push_str("\",\"cwd\":\"");
            root(subj, out);
            out.push_str("\",\"timeout_ms\":120000}");
        }
        catalog::SEARCH_CODE => {
            out.push_str("{\"query\":\"");
            out.push_str(r.pick(&QUERIES));
            let _ = write!(
                out,
                "\",\"path\":\"{}\",\"regex\":{}}}",
                r.pick(&DIRS),
                r.chance(0.4)
            );
        }
        catalog::FETCH_URL | catalog::BROWSER_NAVIGATE => {
            out.push_str("{\"url\":\"");
            url(subj, out);
            out.push_str("\"}");
        }
        catalog::HTTP_REQUEST => {
            let method = r.pick(&["GET", "GET", "POST", "PUT", "DELETE"]);
            let _ = write!(out, "{{\"method\":\"{method}\",\"url\":\"");
            url(subj, out);
            out.push_str("\",\"headers\":{\"Accept\":\"application/json\"}");
            if method != "GET" {
                let _ = write!(out, ",\"body\":{{\"id\":{}}}", r.range(1, 99_999));
            }
            out.push('}');
        }
        catalog::GIT_COMMIT => {
            let _ = write!(
                out,
                "{{\"message\":\"{}: {}\",\"files\":[\"{}/{}\"]}}",
                r.pick(&["fix", "feat", "docs", "chore", "refactor"]),
                r.pick(&TITLES),
                r.pick(&DIRS),
                r.pick(&FILES)
            );
        }
        catalog::RUN_TESTS => {
            let _ = write!(
                out,
                "{{\"command\":\"{}\",\"filter\":\"{}\"}}",
                r.pick(&["cargo test", "npm test", "pytest", "go test ./..."]),
                r.pick(&IDENTS)
            );
        }
        catalog::QUERY_DB => {
            let _ = write!(
                out,
                "{{\"sql\":\"SELECT {} FROM {} WHERE id = {} LIMIT 100\",\"database\":\"{}\"}}",
                r.pick(&COLUMNS),
                table(subj),
                r.range(1, 999_999),
                r.pick(&["analytics", "app", "billing"])
            );
        }
        _ => {
            let _ = write!(
                out,
                "{{\"channel\":\"#{}\",\"text\":\"{}\"}}",
                r.pick(&CHANNELS),
                r.pick(&TITLES)
            );
        }
    }
}

/// Writes the (plain text) result of a successful call.
pub(crate) fn success_result(tool: usize, subj: u64, r: &mut Rng, out: &mut String) {
    match tool {
        catalog::READ_FILE => {
            let _ = write!(
                out,
                "use crate::{}::{{{}}};\n... ({} lines)",
                r.pick(&["config", "store", "api", "util"]),
                r.pick(&["Config", "Store", "Handler", "Error"]),
                r.range(3, 2_400)
            );
        }
        catalog::WRITE_FILE => {
            let _ = write!(out, "wrote {} bytes to ", r.range(20, 40_000));
            path(subj, out);
        }
        catalog::LIST_DIR => {
            let _ = write!(
                out,
                "{} entries: {}, {}, Cargo.toml, README.md",
                r.range(2, 140),
                r.pick(&FILES),
                r.pick(&FILES)
            );
        }
        catalog::EXECUTE_COMMAND => {
            let _ = write!(
                out,
                "exit code 0\n{} finished in {}.{}s",
                command(subj),
                r.below(300),
                r.below(10)
            );
        }
        catalog::SEARCH_CODE => {
            let _ = write!(
                out,
                "{} matches in {} files",
                r.range(0, 300),
                r.range(1, 40)
            );
        }
        catalog::FETCH_URL => {
            let _ = write!(
                out,
                "200 OK ({} bytes, {})",
                r.range(300, 250_000),
                r.pick(&["text/html", "application/json", "text/plain"])
            );
        }
        catalog::HTTP_REQUEST => {
            let _ = write!(
                out,
                "HTTP 200 OK: {{\"id\":{},\"status\":\"ok\"}}",
                r.range(1, 99_999)
            );
        }
        catalog::GIT_COMMIT => {
            let _ = write!(
                out,
                "[main {:07x}] {}\n {} files changed, {} insertions(+), {} deletions(-)",
                r.below(1 << 28),
                r.pick(&TITLES),
                r.range(1, 12),
                r.range(1, 400),
                r.range(0, 200)
            );
        }
        catalog::RUN_TESTS => {
            let _ = write!(
                out,
                "test result: ok. {} passed; 0 failed; {} ignored; finished in {}.{:02}s",
                r.range(1, 900),
                r.below(5),
                r.below(120),
                r.below(100)
            );
        }
        catalog::QUERY_DB => {
            let _ = write!(out, "{} rows returned", r.below(5_000));
        }
        catalog::BROWSER_NAVIGATE => {
            out.push_str("navigated to ");
            url(subj, out);
            let _ = write!(out, " (title: \"{}\")", r.pick(&TITLES));
        }
        _ => {
            let _ = write!(
                out,
                "message posted to #{} (ts {}.{:06})",
                r.pick(&CHANNELS),
                1_700_000_000 + r.below(90_000_000),
                r.below(1_000_000)
            );
        }
    }
}

/// Writes the error message of one occurrence of a pattern.
pub(crate) fn error_message(msg: Msg, subj: u64, r: &mut Rng, out: &mut String) {
    match msg {
        Msg::NotFoundRead => {
            match r.below(4) {
                0 => out.push_str("ENOENT: no such file or directory, open '"),
                1 => out.push_str("Error: ENOENT: no such file or directory, stat '"),
                2 => out.push_str("No such file or directory (os error 2): '"),
                _ => out.push_str("File not found: '"),
            }
            path(subj, out);
            out.push('\'');
        }
        Msg::PermissionRead => {
            let p = r.pick(&SYS_PATHS);
            match r.below(3) {
                0 => {
                    let _ = write!(out, "EACCES: permission denied, open '{p}'");
                }
                1 => {
                    let _ = write!(out, "permission denied: '{p}'");
                }
                _ => {
                    let _ = write!(out, "Permission denied (os error 13): {p}");
                }
            }
        }
        Msg::ToolErrorWrite => match r.below(6) {
            0 => {
                out.push_str("ENOSPC: no space left on device, write '");
                path(subj, out);
                out.push('\'');
            }
            1 => {
                out.push_str("EROFS: read-only file system, open '");
                path(subj, out);
                out.push('\'');
            }
            2 => {
                out.push_str("refusing to overwrite '");
                path(subj, out);
                let _ = write!(
                    out,
                    "': file was modified since last read (expected sha {:08x}, found {:08x})",
                    r.below(1 << 32),
                    r.below(1 << 32)
                );
            }
            3 => {
                let _ = write!(
                    out,
                    "content rejected: {} bytes exceeds max write size of 1048576 bytes",
                    r.range(1_048_577, 9_000_000)
                );
            }
            4 => {
                out.push_str("EISDIR: illegal operation on a directory, open '");
                dir(subj, out);
                out.push('\'');
            }
            _ => {
                let _ = write!(
                    out,
                    "invalid UTF-8 sequence at byte {} in content",
                    r.range(1, 60_000)
                );
            }
        },
        Msg::ToolErrorListDir => match r.below(5) {
            0 => {
                out.push_str("ENOTDIR: not a directory, scandir '");
                path(subj, out);
                out.push('\'');
            }
            1 => {
                let _ = write!(
                    out,
                    "directory listing truncated: {} entries exceeds limit of 10000 in '",
                    r.range(10_001, 250_000)
                );
                dir(subj, out);
                out.push('\'');
            }
            2 => {
                out.push_str("ELOOP: too many symbolic links encountered, scandir '");
                dir(subj, out);
                out.push('\'');
            }
            3 => {
                let _ = write!(
                    out,
                    "glob pattern '**/*.{{{}' is malformed: unclosed brace",
                    r.pick(&["rs,toml", "ts,tsx", "py"])
                );
            }
            _ => {
                let _ = write!(
                    out,
                    "walk aborted after {}ms: too many open files (EMFILE)",
                    r.range(5, 4_000)
                );
            }
        },
        Msg::OomExec => match r.below(4) {
            0 => out.push_str("process killed: exit code 137 (SIGKILL)"),
            1 => {
                let _ = write!(
                    out,
                    "Command '{}' was killed by signal 9 (SIGKILL): exit code 137",
                    command(subj)
                );
            }
            2 => {
                let _ = write!(
                    out,
                    "fatal error: out of memory allocating {} bytes; process exited with code 137",
                    r.range(1 << 20, 1 << 34)
                );
            }
            _ => {
                let _ = write!(
                    out,
                    "Killed (exit status 137): container memory limit {}Mi exceeded",
                    r.pick(&[512u64, 1024, 2048, 4096])
                );
            }
        },
        Msg::TimeoutExec => match r.below(2) {
            0 => {
                let _ = write!(out, "Command timed out after 120000ms: {}", command(subj));
            }
            _ => {
                let _ = write!(
                    out,
                    "execution exceeded timeout of 120s; process group {} terminated",
                    r.range(1_000, 65_000)
                );
            }
        },
        Msg::UnknownExec => match r.below(5) {
            0 => {
                let _ = write!(out, "step {} produced no usable output", r.range(1, 60));
            }
            1 => {
                let _ = write!(
                    out,
                    "harness returned status 0x{:04x} for job ",
                    r.below(65_536)
                );
                uuid(r, out);
            }
            2 => {
                let _ = write!(
                    out,
                    "lost track of subprocess {} after {} polls",
                    r.range(1_000, 65_000),
                    r.range(2, 500)
                );
            }
            3 => {
                out.push_str("shell produced an empty response for job ");
                uuid(r, out);
            }
            _ => {
                let _ = write!(
                    out,
                    "unexpected state '{}' reported by runner",
                    r.pick(&["zombie", "detached", "parked", "orphaned"])
                );
            }
        },
        Msg::ToolErrorSearch => match r.below(4) {
            0 => {
                let _ = write!(
                    out,
                    "regex parse error: unclosed group at position {} in pattern '{}('",
                    r.range(1, 40),
                    r.pick(&IDENTS)
                );
            }
            1 => {
                out.push_str("rg: ");
                path(subj, out);
                let _ = write!(
                    out,
                    ": binary file matches (found \"\\0\" byte around offset {})",
                    r.range(1, 900_000)
                );
            }
            2 => {
                let _ = write!(
                    out,
                    "search index is stale (built {} minutes ago); rebuild required",
                    r.range(61, 9_000)
                );
            }
            _ => {
                let _ = write!(
                    out,
                    "query too broad: {} matches exceeds result limit of 5000",
                    r.range(5_001, 400_000)
                );
            }
        },
        Msg::RefusedFetch => match r.below(4) {
            0 => {
                out.push_str("connect ECONNREFUSED ");
                ip(r, out);
                let _ = write!(out, ":{}", pick_port(r));
            }
            1 => {
                out.push_str("Connection refused (os error 111) while fetching ");
                url(subj, out);
            }
            2 => out.push_str(
                "error trying to connect: tcp connect error: Connection refused (os error 111)",
            ),
            _ => {
                out.push_str("Failed to fetch ");
                url(subj, out);
                out.push_str(": connection refused");
            }
        },
        Msg::TimeoutFetch => match r.below(3) {
            0 => out.push_str("Request timed out after 30000ms"),
            1 => {
                out.push_str("GET ");
                url(subj, out);
                out.push_str(" timed out after 30s");
            }
            _ => {
                let _ = write!(
                    out,
                    "operation timed out: no response from {} within 30000 ms",
                    host(subj)
                );
            }
        },
        Msg::RateLimitedHttp => match r.below(3) {
            0 => {
                let _ = write!(
                    out,
                    "HTTP 429 Too Many Requests (retry after {}s)",
                    r.range(1, 120)
                );
            }
            1 => {
                out.push_str("POST ");
                url(subj, out);
                let _ = write!(
                    out,
                    " -> 429 Too Many Requests; x-ratelimit-remaining: 0, reset in {}s",
                    r.range(1, 3_600)
                );
            }
            _ => {
                let _ = write!(
                    out,
                    "rate limit exceeded for {}: 429 (retry-after: {})",
                    host(subj),
                    r.range(1, 300)
                );
            }
        },
        Msg::TransportHttp => match r.below(5) {
            0 => {
                out.push_str("error sending request for url (");
                url(subj, out);
                out.push_str("): connection reset by peer");
            }
            1 => {
                let _ = write!(
                    out,
                    "dns error: failed to lookup address information: Name or service not known ({})",
                    host(subj)
                );
            }
            2 => {
                let _ = write!(
                    out,
                    "TLS handshake failed with {}:443: unexpected EOF",
                    host(subj)
                );
            }
            3 => {
                let _ = write!(
                    out,
                    "HTTP/2 stream {} was reset: PROTOCOL_ERROR",
                    r.range(1, 2_000) * 2 + 1
                );
            }
            _ => {
                out.push_str("broken pipe while writing request body to ");
                ip(r, out);
                let _ = write!(out, ":{}", pick_port(r));
            }
        },
        Msg::RefusedDb => match r.below(3) {
            0 => {
                out.push_str("connection refused: ");
                ip(r, out);
                out.push_str(":5432");
            }
            1 => {
                let _ = write!(
                    out,
                    "could not connect to server: Connection refused. Is the server running on host \"{}-db\" (",
                    r.pick(&["analytics", "app", "billing"])
                );
                ip(r, out);
                out.push_str(") and accepting TCP/IP connections on port 5432?");
            }
            _ => {
                out.push_str("psycopg2.OperationalError: connection to server at \"");
                ip(r, out);
                out.push_str("\", port 5432 failed: Connection refused");
            }
        },
        Msg::ToolErrorDb => match r.below(5) {
            0 => {
                let _ = write!(
                    out,
                    "ERROR: relation \"{}\" does not exist at character {}",
                    table(subj),
                    r.range(10, 300)
                );
            }
            1 => {
                let _ = write!(
                    out,
                    "ERROR: syntax error at or near \"{}\" at character {}",
                    r.pick(&["FROM", "WHERE", "GROUP", ")", "LIMIT"]),
                    r.range(5, 200)
                );
            }
            2 => {
                let t = table(subj);
                let _ = write!(
                    out,
                    "ERROR: duplicate key value violates unique constraint \"{t}_pkey\"\nDETAIL: Key (id)=({}) already exists.",
                    r.range(1, 999_999)
                );
            }
            3 => {
                let _ = write!(
                    out,
                    "ERROR: column \"{}\" of relation \"{}\" does not exist",
                    r.pick(&COLUMNS),
                    table(subj)
                );
            }
            _ => {
                let _ = write!(
                    out,
                    "ERROR: deadlock detected\nDETAIL: Process {} waits for ShareLock on transaction {}",
                    r.range(1_000, 65_000),
                    r.range(100_000, 9_999_999)
                );
            }
        },
        Msg::ToolErrorTests => match r.below(7) {
            0 => {
                let _ = write!(
                    out,
                    "thread 'main' panicked at src/{}.rs:{}:{}:\nassertion `left == right` failed\n  left: {}\n right: {}",
                    r.pick(&["lib", "parser", "config", "store"]),
                    r.range(1, 900),
                    r.range(1, 80),
                    r.below(100),
                    r.below(100)
                );
            }
            1 => {
                let _ = write!(
                    out,
                    "error[E0308]: mismatched types\n --> src/{}.rs:{}:{}",
                    r.pick(&["lib", "parser", "config", "store"]),
                    r.range(1, 900),
                    r.range(1, 80)
                );
            }
            2 => {
                let _ = write!(
                    out,
                    "error[E0425]: cannot find value `{}` in this scope",
                    r.pick(&IDENTS)
                );
            }
            3 => {
                let _ = write!(
                    out,
                    "test result: FAILED. {} passed; {} failed; 0 ignored; finished in {}.{:02}s",
                    r.range(1, 900),
                    r.range(1, 12),
                    r.below(200),
                    r.below(100)
                );
            }
            4 => {
                let _ = write!(
                    out,
                    "npm ERR! code E404\nnpm ERR! 404 '{}@^{}.{}.0' is not in this registry.",
                    r.pick(&NPM_PKGS),
                    r.range(1, 9),
                    r.below(20)
                );
            }
            5 => {
                let _ = write!(
                    out,
                    "FAILED tests/test_{}.py::test_{} - AssertionError: assert {} == {}",
                    r.pick(&["api", "models", "utils", "views"]),
                    r.pick(&IDENTS),
                    r.below(1000),
                    r.below(1000)
                );
            }
            _ => {
                let _ = write!(
                    out,
                    "jest: {} failing tests in src/{}.test.ts",
                    r.range(1, 30),
                    r.pick(&["App", "api", "hooks", "store"])
                );
            }
        },
        Msg::CrashedBrowser => match r.below(3) {
            0 => {
                let _ = write!(
                    out,
                    "MCP server 'playwright' exited unexpectedly (code {})",
                    r.pick(&[1u64, 134, 139])
                );
            }
            1 => {
                let _ = write!(
                    out,
                    "server crashed: browser process terminated with signal SIGSEGV (pid {})",
                    r.range(1_000, 65_000)
                );
            }
            _ => {
                out.push_str("MCP server 'playwright' crashed while handling request ");
                uuid(r, out);
            }
        },
        Msg::PermissionGit => match r.below(3) {
            0 => {
                out.push_str("fatal: Unable to create '");
                root(subj, out);
                out.push_str("/.git/index.lock': Permission denied");
            }
            1 => out.push_str("fatal: could not open '.git/COMMIT_EDITMSG': Permission denied"),
            _ => {
                out.push_str("error: open(\"");
                path(subj, out);
                out.push_str("\"): Permission denied");
            }
        },
        Msg::TimeoutDb => match r.below(3) {
            0 => out.push_str("ERROR: canceling statement due to statement timeout"),
            1 => out.push_str("query exceeded statement_timeout (15000 ms)"),
            _ => {
                let _ = write!(
                    out,
                    "Query timed out after 15s: SELECT * FROM {} WHERE {} > $1",
                    table(subj),
                    r.pick(&COLUMNS)
                );
            }
        },
        Msg::ToolErrorSlack => match r.below(3) {
            0 => {
                let _ = write!(
                    out,
                    "slack api error: channel_not_found (#{})",
                    r.pick(&CHANNELS)
                );
            }
            1 => out.push_str("slack api error: not_in_channel"),
            _ => {
                let _ = write!(
                    out,
                    "message too long: {} characters (max 40000)",
                    r.range(40_001, 90_000)
                );
            }
        },
    }
}

/// Writes a run's task description.
pub(crate) fn task(agent: usize, r: &mut Rng, out: &mut String) {
    match agent {
        0 => {
            let _ = write!(
                out,
                "Review PR #{}: {}",
                r.range(100, 9_999),
                r.pick(&TITLES)
            );
        }
        1 => {
            let _ = write!(out, "Fix bug #{}: {}", r.range(100, 9_999), r.pick(&TITLES));
        }
        2 => {
            let _ = write!(
                out,
                "Document the {} module",
                r.pick(&["config", "store", "api", "parser", "auth"])
            );
        }
        3 => {
            let _ = write!(out, "Refresh {} aggregates", r.pick(&TABLES));
        }
        4 => {
            let _ = write!(
                out,
                "Cut release v{}.{}.{}",
                r.range(1, 4),
                r.below(30),
                r.below(10)
            );
        }
        _ => {
            let _ = write!(
                out,
                "Triage issue #{}: {}",
                r.range(100, 9_999),
                r.pick(&TITLES)
            );
        }
    }
}

/// Writes a run's context JSON.
pub(crate) fn context(r: &mut Rng, out: &mut String) {
    let _ = write!(
        out,
        "{{\"repo\":\"acme/{}\",\"branch\":\"{}\"}}",
        r.pick(&PROJECTS),
        r.pick(&["main", "develop", "feature/pagination", "fix/flaky-login"])
    );
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::catalog::{N_TOOLS, PATTERNS};

    #[test]
    fn all_texts_make_valid_json() {
        let mut r = Rng::new(9);
        for i in 0..3_000u64 {
            for tool in 0..N_TOOLS {
                let mut s = String::new();
                arguments(tool, i, &mut s);
                let v: serde_json::Value = serde_json::from_str(&s).unwrap();
                assert!(v.is_object(), "{s}");
                let mut m = String::new();
                success_result(tool, i, &mut r, &mut m);
                let mut j = String::from("\"");
                push_json_escaped(&mut j, &m);
                j.push('"');
                let back: String = serde_json::from_str(&j).unwrap();
                assert_eq!(back, m);
            }
            for p in &PATTERNS {
                let mut m = String::new();
                error_message(p.msg, i, &mut r, &mut m);
                assert!(!m.is_empty());
                let mut j = String::from("\"");
                push_json_escaped(&mut j, &m);
                j.push('"');
                let back: String = serde_json::from_str(&j).unwrap();
                assert_eq!(back, m);
            }
        }
    }

    #[test]
    fn escaping_matches_serde() {
        let samples = [
            "",
            "plain ascii text that is long enough for words",
            "quote \" backslash \\ newline \n tab \t cr \r bell \u{7} end",
            "ünïcödé → ✓ and \u{1f}\u{0} controls",
            "12345678\"12345678\\1234567\n",
        ];
        for s in samples {
            let mut j = String::from("\"");
            push_json_escaped(&mut j, s);
            j.push('"');
            let back: String = serde_json::from_str(&j).unwrap();
            assert_eq!(back, s);
        }
    }

    #[test]
    fn same_subject_same_path() {
        let (mut a, mut b) = (String::new(), String::new());
        path(77, &mut a);
        path(77, &mut b);
        assert_eq!(a, b);
        let mut m = String::new();
        error_message(Msg::NotFoundRead, 77, &mut Rng::new(1), &mut m);
        assert!(m.contains(&a), "{m} / {a}");
    }
}
