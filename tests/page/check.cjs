#!/usr/bin/env node
// The dashboard page in a real browser (headless Chromium driven by puppeteer-core).
//
// Usage: node tests/page/check.cjs --modules DIR --chromium BIN --recorded DIR --out DIR
//   --modules   a node_modules folder holding puppeteer-core
//   --chromium  the Chromium binary
//   --recorded  what tests/page/capture.py saved: resource.html (the ui:// resource as
//               resources/read returned it), dashboard.json, pattern.json (detail "full"),
//               dashboard-summary.json, pattern-summary.json (the same calls without detail:
//               the default summary), verify.json (each {tool, arguments, result: the
//               CallToolResult}) and report.html (report --html)
//   --out       where the screenshots go (one PNG per view)
//
// For each recorded tool result a minimal MCP Apps host (the top page) puts the resource in an
// iframe sandboxed with allow-scripts, its srcdoc prefixed with the extension's default CSP,
// answers ui/initialize, waits for ui/notifications/initialized, then posts
// ui/notifications/tool-input and ui/notifications/tool-result; it fits the iframe to the
// size-changed notifications. The static report is opened from its file:// URL. Checked for
// every view: the expected view is drawn, one chart per expected series (daily success, each
// top pattern's sparkline, the pattern's daily chart, the verify intervals), each chart with a
// text alternative, the ids of the data shown, no render error, no console error or page error,
// and no network request at all (only the document itself); a full result asks the host for
// nothing. A self-test first shows that the harness sees a request and a console error when a
// page makes them.
//
// Summary results (the page draws charts only from full results): the host answers the view's
// tools/call requests, and declares hostCapabilities.serverTools in its ui/initialize result,
// only in the cases that test it. Checked:
//   (a) dashboard-summary and pattern-summary with a host that cannot proxy tools: the view is
//       drawn and marked summary (#view data-detail), no chart at all, in place of each chart a
//       note (data-from-full) that it is drawn from the full answer, the left-out series not
//       reported as "No data", the numbers still shown, no tools/call, no render error;
//   (b), (c) the same summaries with a host that proxies: before the host answers (it holds the
//       answer back) the summary is drawn as in (a); exactly one tools/call, for
//       get_health_dashboard / get_pattern, with the tool input's arguments plus detail "full"
//       (the arguments of the recorded full answer); once answered with the recorded full
//       result, the charts are drawn and checked as for the full result, still one tools/call;
//   and a proxying host whose answer is a JSON-RPC error, an isError result, a summary again or
//   a result of another kind: the summary stays and the status line says why.
//
// Prints one line per check and `N passed, M failed`; exits 1 on any failure.
"use strict";

const fs = require("fs");
const path = require("path");
const url = require("url");

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
for (const k of ["modules", "chromium", "recorded", "out"]) {
  if (!args[k]) {
    console.error(`missing --${k}; usage: check.cjs --modules DIR --chromium BIN --recorded DIR --out DIR`);
    process.exit(2);
  }
}
const puppeteer = require(path.resolve(args.modules, "puppeteer-core"));

// The extension's default policy (SEP-1865, "Restrictive Default") a host applies without csp metadata.
const DEFAULT_CSP = "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; " +
  "img-src 'self' data:; media-src 'self' data:; connect-src 'none'";
const PROTOCOL_VERSION = "2026-01-26";

let passed = 0;
let failed = 0;
function ok(name, cond, detail) {
  if (cond) {
    passed++;
    console.log(`PASS ${name}`);
  } else {
    failed++;
    console.log(`FAIL ${name}${detail === undefined ? "" : ": " + short(detail)}`);
  }
  return !!cond;
}
function short(x) {
  const s = typeof x === "string" ? x : JSON.stringify(x);
  return s && s.length > 400 ? s.slice(0, 400) + "..." : s;
}
function readJson(file) { return JSON.parse(fs.readFileSync(path.join(args.recorded, file), "utf8")); }
const withDaily = (list) => (Array.isArray(list) ? list : []).filter((x) => x && Array.isArray(x.daily) && x.daily.length > 0);

// Console errors, page errors and requests of a tab and of every frame in it.
function watch(page) {
  const seen = { console: [], errors: [], requests: [] };
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warn") seen.console.push(`${m.type()}: ${m.text()}`); });
  page.on("pageerror", (e) => seen.errors.push(String(e && e.message)));
  page.on("request", (r) => seen.requests.push(r.url()));
  return seen;
}

// Runs in the top page: the host side of the MCP Apps protocol. `options` (all optional):
//   serverTools  declare hostCapabilities.serverTools and answer the view's tools/call requests
//                from `answers` (without it a tools/call is refused with -32601)
//   answers      {toolName: {result} | {error}}: the CallToolResult or JSON-RPC error to answer
//   hold         keep tools/call answers back until window.__release() is called
function host(html, toolArguments, toolResult, theme, options) {
  const opts = options || {};
  const state = { received: [], initialized: false, sizes: [], toolCalls: [] };
  window.__host = state;
  const held = [];
  let released = false;
  window.__release = () => { released = true; held.splice(0).forEach((f) => f()); };
  const iframe = document.createElement("iframe");
  iframe.setAttribute("sandbox", "allow-scripts");
  iframe.style.cssText = "width: 980px; height: 600px; border: 0; display: block";
  const send = (m) => iframe.contentWindow.postMessage(m, "*");
  window.__send = send;
  window.addEventListener("message", (event) => {
    if (event.source !== iframe.contentWindow) return;
    const m = event.data;
    state.received.push(m);
    if (m && m.method === "ui/initialize" && m.id !== undefined) {
      send({
        jsonrpc: "2.0", id: m.id,
        result: {
          protocolVersion: "2026-01-26", hostInfo: { name: "page-check", version: "1.0.0" },
          hostCapabilities: opts.serverTools ? { serverTools: {} } : {},
          hostContext: { theme, displayMode: "inline", platform: "desktop", containerDimensions: { width: 980 } }
        }
      });
    } else if (m && m.method === "ui/notifications/initialized") {
      // Nothing is sent to the view before it says it is initialized.
      state.initialized = true;
      send({ jsonrpc: "2.0", method: "ui/notifications/tool-input", params: { arguments: toolArguments } });
      send({ jsonrpc: "2.0", method: "ui/notifications/tool-result", params: toolResult });
    } else if (m && m.method === "tools/call" && m.id !== undefined) {
      state.toolCalls.push(m.params);
      const answer = () => {
        const a = opts.serverTools ? (opts.answers || {})[m.params && m.params.name] : null;
        if (!opts.serverTools) send({ jsonrpc: "2.0", id: m.id, error: { code: -32601, message: "tools/call is not supported by this host" } });
        else if (!a) send({ jsonrpc: "2.0", id: m.id, error: { code: -32602, message: "unknown tool" } });
        else if (a.error) send({ jsonrpc: "2.0", id: m.id, error: a.error });
        else send({ jsonrpc: "2.0", id: m.id, result: a.result });
      };
      if (opts.hold && !released) held.push(answer); else answer();
    } else if (m && m.method === "ui/notifications/size-changed") {
      state.sizes.push(m.params);
      if (m.params && m.params.height > 0) iframe.style.height = Math.ceil(m.params.height) + "px";
    }
  });
  iframe.srcdoc = html;
  document.body.style.margin = "0";
  document.body.appendChild(iframe);
}

// What a drawn view shows (runs in the view's frame).
function inspect() {
  const q = (sel) => Array.from(document.querySelectorAll(sel));
  const score = document.getElementById("health-score");
  const verdict = document.getElementById("verdict");
  return {
    view: document.getElementById("view").getAttribute("data-view"),
    detail: document.getElementById("view").getAttribute("data-detail"),
    fromFull: q("[data-from-full]").map((e) => ({ what: e.getAttribute("data-from-full"), text: e.textContent, elements: e.children.length })),
    title: document.getElementById("title").textContent,
    status: document.getElementById("status").textContent,
    score: score ? score.textContent : null,
    verdict: verdict ? verdict.textContent : null,
    charts: q("svg[data-chart]").map((s) => ({
      kind: s.getAttribute("data-chart"), series: s.getAttribute("data-series"), role: s.getAttribute("role"),
      label: s.getAttribute("aria-label") || "", title: (s.querySelector(":scope > title") || {}).textContent || "",
      marks: s.querySelectorAll("rect, circle, path").length
    })),
    patternIds: q("[data-pattern-id]").map((e) => e.getAttribute("data-pattern-id")),
    text: document.body.innerText,
    renderErrors: q(".render-error").map((e) => e.textContent),
    noDataCells: q("td span.no-data").length,
    theme: document.documentElement.getAttribute("data-theme")
  };
}

function checkCommon(label, info, seen, allowed) {
  ok(`${label}: no render error`, info.renderErrors.length === 0, info.renderErrors);
  ok(`${label}: every chart is an image with a text alternative`,
    info.charts.length > 0 && info.charts.every((c) => c.role === "img" && c.label.trim() && c.title.trim() === c.label.trim()),
    info.charts.filter((c) => c.role !== "img" || !c.label.trim() || c.title.trim() !== c.label.trim()));
  ok(`${label}: every chart has marks`, info.charts.every((c) => c.marks > 0), info.charts.filter((c) => !c.marks));
  ok(`${label}: no console error or warning`, seen.console.length === 0, seen.console);
  ok(`${label}: no page error`, seen.errors.length === 0, seen.errors);
  const extra = seen.requests.filter((u) => !allowed(u));
  ok(`${label}: no network request (only the document itself)`, extra.length === 0, extra);
}
const count = (info, kind, series) => info.charts.filter((c) => c.kind === kind && (series === undefined || c.series === series)).length;
const scoreText = (score) => (typeof score === "number" ? score.toFixed(1) + " / 100" : "— not measured");

function checkDashboard(label, d, info) {
  ok(`${label}: the health score is shown`, info.score === scoreText(d.overall_health_score), `${info.score} vs ${scoreText(d.overall_health_score)}`);
  const measured = (d.daily || []).some((x) => typeof x.success_rate === "number");
  ok(`${label}: one daily success chart`, count(info, "daily-success") === (measured ? 1 : 0), count(info, "daily-success"));
  const success = info.charts.find((c) => c.kind === "daily-success");
  if (success && d.trend_windows) {
    ok(`${label}: the daily chart names the recent and baseline windows`,
      success.label.includes("recent window") && success.label.includes("baseline window"), success.label);
  }
  const top = d.top_patterns || [];
  ok(`${label}: one sparkline per top pattern`, count(info, "sparkline", "pattern") === withDaily(top).length,
    `${count(info, "sparkline", "pattern")} sparklines, ${withDaily(top).length} patterns with a daily series`);
  ok(`${label}: there are top patterns to draw`, top.length > 0, top.length);
  const missing = top.map((p) => p.id).filter((id) => !info.patternIds.includes(id) || !info.text.includes(id));
  ok(`${label}: every top pattern id is shown`, missing.length === 0, missing);
  if (d.healing) ok(`${label}: the healing numbers are shown`, info.text.includes("Automatic actions"), info.text.slice(0, 300));
  if (Array.isArray(d.tools)) {
    const tools = withDaily(d.tools.slice(0, 15)).length;
    ok(`${label}: one failure sparkline per listed tool`, count(info, "sparkline", "tool") === tools, `${count(info, "sparkline", "tool")} vs ${tools}`);
  }
}

function checkPattern(label, p, info, failures) {
  ok(`${label}: the pattern id is shown`, info.patternIds.includes(p.id) && info.text.includes(p.id), p.id);
  ok(`${label}: one daily chart of the pattern`, count(info, "pattern-daily") === ((p.daily || []).length ? 1 : 0), count(info, "pattern-daily"));
  const templates = (p.templates || []).filter((t) => !info.text.includes(t.template));
  ok(`${label}: every template is listed`, (p.templates || []).length > 0 && templates.length === 0, templates);
  const rec = p.recovery || {};
  ok(`${label}: the recovery evidence is stated`, info.text.includes(`${rec.recovered} of ${rec.of} failures`), rec);
  if (failures) {
    const runs = failures.map((f) => f.run_id).filter((r) => !info.text.includes(r));
    ok(`${label}: the recent failures' runs are listed`, failures.length > 0 && runs.length === 0, runs);
  }
}

function checkVerify(label, v, info) {
  ok(`${label}: the verdict is shown`, info.verdict === v.verification_status.replace(/_/g, " "), `${info.verdict} vs ${v.verification_status}`);
  ok(`${label}: one interval chart`, count(info, "verify-intervals") === 1, count(info, "verify-intervals"));
  const chart = info.charts.find((c) => c.kind === "verify-intervals");
  const rate = (x) => (typeof x === "number" ? (x * 100).toFixed(1) + "%" : null);
  const pat = v.metrics.pattern;
  ok(`${label}: the chart's text gives the before and after failure rates`,
    chart && chart.label.includes(rate(pat.before_rate)) && chart.label.includes(rate(pat.after_rate)), chart && chart.label);
  ok(`${label}: the improvement id is shown`, info.title.includes(v.improvement_id), info.title);
}

async function frameOf(page) {
  for (let i = 0; i < 100; i++) {
    const f = page.frames().find((x) => x !== page.mainFrame());
    if (f) return f;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("the view's iframe did not appear");
}

// The page in the host harness, given a tool result; resolves once a view is drawn.
async function openHosted(browser, html, toolArguments, result, options) {
  const page = await browser.newPage();
  const seen = watch(page);
  await page.setViewport({ width: 1000, height: 800 });
  await page.setContent("<!DOCTYPE html><html><head><title>host</title></head><body></body></html>");
  const framed = html.replace(/<head>/i, `<head><meta http-equiv="Content-Security-Policy" content="${DEFAULT_CSP}">`);
  await page.evaluate(host, framed, toolArguments, result, "light", options || {});
  const frame = await frameOf(page);
  await frame.waitForSelector("#view[data-view]", { timeout: 15000 });
  await new Promise((r) => setTimeout(r, 300)); // let size-changed settle
  const info = await frame.evaluate(inspect);
  const state = await page.evaluate(() => window.__host);
  return { page, frame, seen, info, state };
}

// One recorded tool result through the host harness.
async function hostedView(browser, html, name, recorded, check) {
  const label = `${name} (${recorded.tool}, hosted)`;
  const { page, frame, seen, info, state } = await openHosted(browser, html, recorded.arguments || {}, recorded.result);
  const init = state.received.find((m) => m && m.method === "ui/initialize");
  ok(`${label}: ui/initialize with appInfo, appCapabilities and protocolVersion ${PROTOCOL_VERSION}`,
    init && init.jsonrpc === "2.0" && init.id !== undefined && init.params && typeof init.params.appInfo.name === "string" &&
    typeof init.params.appInfo.version === "string" && typeof init.params.appCapabilities === "object" &&
    init.params.protocolVersion === PROTOCOL_VERSION, init);
  const order = state.received.map((m) => m && m.method);
  ok(`${label}: ui/notifications/initialized follows the initialize answer`,
    state.initialized && order.indexOf("ui/notifications/initialized") > order.indexOf("ui/initialize"), order);
  ok(`${label}: every message from the view is JSON-RPC 2.0`, state.received.every((m) => m && m.jsonrpc === "2.0"), state.received);
  ok(`${label}: the view reports its size`, state.sizes.some((s) => s && s.height > 100 && s.width > 100), state.sizes);
  ok(`${label}: the result is drawn as the ${check.view} view`, info.view === check.view, `${info.view}; status ${info.status}`);
  ok(`${label}: the host's theme is applied`, info.theme === "light", info.theme);
  ok(`${label}: a full result is drawn as full and asks the host for nothing`,
    info.detail === "full" && state.toolCalls.length === 0 && info.fromFull.length === 0, { detail: info.detail, toolCalls: state.toolCalls, fromFull: info.fromFull });
  check.run(label, recorded.result.structuredContent, info);
  await page.screenshot({ path: path.join(args.out, `${name}.png`), fullPage: true });
  if (check.view === "dashboard") {
    await page.evaluate(() => window.__send({ jsonrpc: "2.0", method: "ui/notifications/host-context-changed", params: { theme: "dark" } }));
    await frame.waitForFunction(() => document.documentElement.getAttribute("data-theme") === "dark", { timeout: 5000 }).catch(() => null);
    const theme = await frame.evaluate(() => document.documentElement.getAttribute("data-theme"));
    ok(`${label}: host-context-changed switches the theme to dark`, theme === "dark", theme);
    await page.screenshot({ path: path.join(args.out, `${name}-dark.png`), fullPage: true });
  }
  checkCommon(label, info, seen, (u) => u.startsWith("about:") || u.startsWith("data:"));
  await page.close();
}

// The static report, opened from its file.
async function staticReport(browser, file) {
  const label = "report (report --html, file://)";
  const html = fs.readFileSync(file, "utf8");
  const start = '<script type="application/json" id="selfheal-data">';
  const at = html.indexOf(start);
  const data = JSON.parse(html.slice(at + start.length, html.indexOf("</script>", at)));
  const page = await browser.newPage();
  const seen = watch(page);
  await page.setViewport({ width: 1000, height: 800 });
  const address = url.pathToFileURL(path.resolve(file)).href;
  await page.goto(address, { waitUntil: "load" });
  await page.waitForSelector("#view[data-view]", { timeout: 15000 });
  const info = await page.evaluate(inspect);
  ok(`${label}: drawn as the report view`, info.view === "report", `${info.view}; status ${info.status}`);
  checkDashboard(label, data.dashboard, info);
  ok(`${label}: one daily chart per pattern shown in full`, count(info, "pattern-daily") === withDaily(data.patterns).length,
    `${count(info, "pattern-daily")} vs ${withDaily(data.patterns).length}`);
  const missing = (data.patterns || []).map((p) => p.id).filter((id) => !info.patternIds.includes(id));
  ok(`${label}: every pattern in full is shown`, data.patterns.length > 0 && missing.length === 0, missing);
  const imps = data.improvements.improvements.map((i) => i.id).filter((id) => !info.text.includes(id));
  ok(`${label}: every improvement is listed`, data.improvements.improvements.length > 0 && imps.length === 0, imps);
  await page.screenshot({ path: path.join(args.out, "report.png"), fullPage: true });
  checkCommon(label, info, seen, (u) => u === address);
  await page.close();
}

// ---- Summary answers: no chart from a summary; the full answer fetched through the host ----

// JSON with object keys sorted, to compare arguments whatever their order.
function canonical(x) {
  if (Array.isArray(x)) return "[" + x.map(canonical).join(",") + "]";
  if (x && typeof x === "object") return "{" + Object.keys(x).sort().map((k) => JSON.stringify(k) + ":" + canonical(x[k])).join(",") + "}";
  return JSON.stringify(x);
}

// The notes a summary must show in place of its charts (data-from-full values).
function expectedNotes(kind, sc) {
  if (kind === "pattern") return ["pattern-daily"];
  const notes = ["daily-success"];
  if ((sc.top_patterns || []).length) notes.push("pattern-sparklines");
  if (Array.isArray(sc.tools) && sc.tools.length) notes.push("tool-sparklines");
  return notes;
}

// What the page shows while only the summary is drawn.
function checkSummaryDrawn(label, kind, sc, info, seen) {
  ok(`${label}: the recorded answer is a summary`, sc.detail === "summary", sc.detail);
  ok(`${label}: drawn as the ${kind} view, marked summary`, info.view === kind && info.detail === "summary", `${info.view} ${info.detail}; status ${info.status}`);
  ok(`${label}: no chart is drawn from the summary`, info.charts.length === 0, info.charts.map((c) => c.kind + " " + (c.series || "")));
  const misleading = ["No data: no finished runs", "No data: no daily series", "Daily series start on"].filter((t) => info.text.includes(t))
    .concat(info.noDataCells ? ["a \"no data\" sparkline cell"] : []);
  ok(`${label}: the left-out series are not reported as days without data`, misleading.length === 0, misleading);
  const want = expectedNotes(kind, sc);
  const got = info.fromFull.map((n) => n.what);
  ok(`${label}: in place of each chart a note says it is drawn from the full answer`,
    canonical(got.slice().sort()) === canonical(want.slice().sort()) &&
      info.fromFull.every((n) => n.text.includes("drawn from the full answer") && n.elements === 0), { want, got: info.fromFull });
  if (kind === "dashboard") {
    ok(`${label}: the health score is still shown`, info.score === scoreText(sc.overall_health_score), info.score);
    const missing = (sc.top_patterns || []).map((p) => p.id).filter((id) => !info.text.includes(id));
    ok(`${label}: every top pattern id is still shown`, (sc.top_patterns || []).length > 0 && missing.length === 0, missing);
  } else {
    ok(`${label}: the pattern id and its templates are still shown`,
      info.text.includes(sc.pattern.id) && (sc.pattern.templates || []).every((t) => info.text.includes(t.template)), sc.pattern.id);
  }
  ok(`${label}: no render error`, info.renderErrors.length === 0, info.renderErrors);
  ok(`${label}: no console error or page error`, seen.console.length === 0 && seen.errors.length === 0, seen.console.concat(seen.errors));
}

const TOOL_OF = { dashboard: "get_health_dashboard", pattern: "get_pattern" };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const hostedOnly = (u) => u.startsWith("about:") || u.startsWith("data:");

// (a) a summary with a host that cannot proxy tools: the summary stays, nothing is asked.
async function summaryWithoutProxy(browser, html, name, kind, summary) {
  const label = `${name} (${summary.tool} summary, host without serverTools)`;
  const { page, seen, info, state } = await openHosted(browser, html, summary.arguments || {}, summary.result);
  await sleep(300);
  checkSummaryDrawn(label, kind, summary.result.structuredContent, info, seen);
  const after = await page.evaluate(() => window.__host);
  ok(`${label}: no tools/call is sent to a host that did not declare serverTools`,
    state.toolCalls.length === 0 && after.toolCalls.length === 0, after.toolCalls);
  ok(`${label}: the status line says the full answer cannot be fetched here`, /full answer/.test(info.status), info.status);
  ok(`${label}: no network request`, seen.requests.every(hostedOnly), seen.requests);
  await page.screenshot({ path: path.join(args.out, `${name}.png`), fullPage: true });
  await page.close();
}

// (b), (c) a summary with a host that proxies tools/call: one request with detail "full" and the
// original arguments; the answer (held back until the summary was inspected) is drawn in full.
async function summaryWithProxy(browser, html, name, kind, summary, full, check) {
  const label = `${name} (${summary.tool} summary, host with serverTools)`;
  const tool = TOOL_OF[kind];
  const options = { serverTools: true, hold: true, answers: { [tool]: { result: full.result } } };
  const { page, frame, seen, info, state } = await openHosted(browser, html, summary.arguments || {}, summary.result, options);
  checkSummaryDrawn(`${label}, before the answer`, kind, summary.result.structuredContent, info, seen);
  ok(`${label}: the status line says the full answer is being fetched`, /asking the host for the full answer/.test(info.status), info.status);
  const want = Object.assign({}, summary.arguments || {}, { detail: "full" });
  const call = state.toolCalls[0] || {};
  ok(`${label}: one tools/call for ${tool}`, state.toolCalls.length === 1 && call.name === tool, state.toolCalls);
  ok(`${label}: its arguments are the tool input's with detail "full"`,
    canonical(call.arguments) === canonical(want), { sent: call.arguments, want });
  ok(`${label}: the arguments match those of the recorded full answer`, canonical(want) === canonical(full.arguments), { want, full: full.arguments });
  const request = state.received.find((m) => m && m.method === "tools/call");
  ok(`${label}: the tools/call is a JSON-RPC request`, request && request.jsonrpc === "2.0" && request.id !== undefined, request);
  await page.evaluate(() => window.__release());
  await frame.waitForSelector('#view[data-detail="full"]', { timeout: 15000 }).catch(() => null);
  await sleep(300);
  const drawn = await frame.evaluate(inspect);
  const after = await page.evaluate(() => window.__host);
  ok(`${label}: the full answer is drawn as the ${kind} view`, drawn.view === kind && drawn.detail === "full", `${drawn.view} ${drawn.detail}; status ${drawn.status}`);
  ok(`${label}: still exactly one tools/call`, after.toolCalls.length === 1, after.toolCalls);
  ok(`${label}: no note of a missing chart is left`, drawn.fromFull.length === 0, drawn.fromFull);
  ok(`${label}: the status line says the full answer was fetched`, /full answer the host fetched/.test(drawn.status), drawn.status);
  check(`${label}, after the answer`, full.result.structuredContent, drawn);
  checkCommon(`${label}, after the answer`, drawn, seen, hostedOnly);
  await page.screenshot({ path: path.join(args.out, `${name}.png`), fullPage: true });
  await page.close();
}

// A host that proxies but whose tools/call fails or brings no full answer: the summary stays.
async function summaryProxyFails(browser, html, name, kind, summary, answer, reason) {
  const label = `${name} (${summary.tool} summary, host with serverTools: ${reason.what})`;
  const tool = TOOL_OF[kind];
  const { page, frame, seen } = await openHosted(browser, html, summary.arguments || {}, summary.result,
    { serverTools: true, answers: { [tool]: answer } });
  await frame.waitForFunction(() => /could not be fetched/.test(document.getElementById("status").textContent), { timeout: 5000 }).catch(() => null);
  await sleep(200);
  const info = await frame.evaluate(inspect);
  const state = await page.evaluate(() => window.__host);
  ok(`${label}: one tools/call`, state.toolCalls.length === 1, state.toolCalls);
  checkSummaryDrawn(label, kind, summary.result.structuredContent, info, seen);
  ok(`${label}: the status line says why the summary stays`,
    /could not be fetched/.test(info.status) && info.status.includes(reason.says), info.status);
  ok(`${label}: no network request`, seen.requests.every(hostedOnly), seen.requests);
  await page.close();
}

async function summaries(browser, html) {
  const dashboard = readJson("dashboard-summary.json"), dashboardFull = readJson("dashboard.json");
  const pattern = readJson("pattern-summary.json"), patternFull = readJson("pattern.json");
  await summaryWithoutProxy(browser, html, "dashboard-summary", "dashboard", dashboard);
  await summaryWithoutProxy(browser, html, "pattern-summary", "pattern", pattern);
  await summaryWithProxy(browser, html, "dashboard-summary-fetched", "dashboard", dashboard, dashboardFull, checkDashboard);
  await summaryWithProxy(browser, html, "pattern-summary-fetched", "pattern", pattern, patternFull,
    (label, sc, info) => checkPattern(label, sc.pattern, info, sc.recent_failures));
  await summaryProxyFails(browser, html, "pattern-summary-error", "pattern", pattern,
    { error: { code: -32603, message: "server unavailable" } }, { what: "a JSON-RPC error", says: "server unavailable" });
  await summaryProxyFails(browser, html, "dashboard-summary-tool-error", "dashboard", dashboard,
    { result: { content: [{ type: "text", text: "database is locked" }], isError: true } }, { what: "an error result", says: "database is locked" });
  await summaryProxyFails(browser, html, "dashboard-summary-again", "dashboard", dashboard,
    { result: dashboard.result }, { what: "a summary again", says: "not a full one" });
  await summaryProxyFails(browser, html, "pattern-summary-other-kind", "pattern", pattern,
    { result: dashboardFull.result }, { what: "another kind", says: "not a pattern result" });
}

// Results the recorded ones do not cover, written here: missing fields and empty series, text
// that tries to be markup or to reorder itself, an error result, a shape the page does not know.
const HOSTILE = "<img src=x onerror=\"window.__owned=1\"></script><script>window.__owned=2</script>\u202Eevil";
const EDGE_CASES = [
  {
    name: "dashboard without data", view: "dashboard", needles: ["No data: no finished runs", "No data: no pattern passes", "not measured"],
    result: { content: [], structuredContent: { overall_health_score: null, trend_windows: {}, daily: [], top_patterns: [], components: [] } }
  },
  {
    name: "dashboard with odd series", view: "dashboard", needles: ["no data", "No data: no finished runs"],
    result: { content: [], structuredContent: {
      overall_health_score: 50, daily: [{ day: "2026-01-01", success_rate: null }, { day: "2026-01-02" }],
      top_patterns: [{ id: "x:y", daily: [] }, { id: "a:b", daily: [{ day: "2026-01-01", count: 2 }] }, null, 7],
      tools: [{ name: "t" }], agents: "nope", escalations: [{}] } }
  },
  {
    name: "pattern with hostile text", view: "pattern", needles: ["<img src=x onerror=", "</script><script>", "\\u{202E}evil"],
    result: { content: [], structuredContent: {
      pattern: { id: HOSTILE, tool_name: HOSTILE, templates: [{ template_id: 1, template: HOSTILE, count: 1 }],
        daily: [{ day: "2026-01-01", count: 1 }], recovery: { recovered: 0, of: 1, evidence: "available" }, suggested_fix: HOSTILE },
      recent_failures: [{ run_id: HOSTILE, message: HOSTILE, at: HOSTILE }] } }
  },
  {
    name: "verify without calls", view: "verify", needles: ["No data: no calls on either side"],
    result: { content: [], structuredContent: { verification_status: "insufficient_data", improvement_id: "imp-x", metrics: { pattern: {}, guard: {} } } }
  },
  {
    name: "error result", view: "error", needles: ["unknown pattern id"],
    result: { content: [{ type: "text", text: "unknown pattern id nope:nothing" }], structuredContent: { error: "x" }, isError: true }
  },
  {
    name: "unknown shape", view: "text", needles: ["plain answer"],
    result: { content: [{ type: "text", text: "plain answer" }], structuredContent: { something: "else" } }
  }
];

async function edgeCases(browser, html) {
  for (const c of EDGE_CASES) {
    const label = `edge case: ${c.name}`;
    const { page, frame, seen, info } = await openHosted(browser, html, {}, c.result);
    ok(`${label}: drawn as the ${c.view} view`, info.view === c.view, `${info.view}; status ${info.status}`);
    const missing = c.needles.filter((n) => !info.text.includes(n));
    ok(`${label}: says what it has and what is missing`, missing.length === 0, { missing, text: info.text.slice(0, 600) });
    ok(`${label}: no render error`, info.renderErrors.length === 0, info.renderErrors);
    const owned = await frame.evaluate(() => ({ owned: window.__owned || 0, images: document.images.length, scripts: document.scripts.length }));
    ok(`${label}: text from the data never becomes markup`, owned.owned === 0 && owned.images === 0 && owned.scripts === 2, owned);
    ok(`${label}: no console error or page error`, seen.console.length === 0 && seen.errors.length === 0, seen.console.concat(seen.errors));
    ok(`${label}: no network request`, seen.requests.every((u) => u.startsWith("about:") || u.startsWith("data:")), seen.requests);
    await page.close();
  }
}

// The harness must see what it is meant to catch: a load and a console error from the iframe.
async function selfTest(browser) {
  const page = await browser.newPage();
  const seen = watch(page);
  await page.setContent("<!DOCTYPE html><html><body></body></html>");
  const bad = "<!DOCTYPE html><html><head></head><body><script>" +
    "var i = new Image(); i.src = 'ht' + 'tp://127.0.0.1:9/probe.png'; console.error('probe');</script></body></html>";
  await page.evaluate(host, bad, {}, {}, "light");
  await new Promise((r) => setTimeout(r, 800));
  ok("self-test: a request made inside the sandboxed iframe is seen", seen.requests.some((u) => u.includes("127.0.0.1:9")), seen.requests);
  ok("self-test: a console error inside the sandboxed iframe is seen", seen.console.some((m) => m.includes("probe")), seen.console);
  await page.close();
}

async function main() {
  fs.mkdirSync(args.out, { recursive: true });
  const resource = fs.readFileSync(path.join(args.recorded, "resource.html"), "utf8");
  const browser = await puppeteer.launch({
    executablePath: args.chromium,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check"]
  });
  try {
    console.log(`note: ${await browser.version()}`);
    await selfTest(browser);
    await hostedView(browser, resource, "dashboard", readJson("dashboard.json"), { view: "dashboard", run: checkDashboard });
    const pattern = readJson("pattern.json");
    await hostedView(browser, resource, "pattern", pattern, {
      view: "pattern", run: (label, sc, info) => checkPattern(label, sc.pattern, info, sc.recent_failures)
    });
    await hostedView(browser, resource, "verify", readJson("verify.json"), { view: "verify", run: checkVerify });
    await staticReport(browser, path.join(args.recorded, "report.html"));
    await summaries(browser, resource);
    await edgeCases(browser, resource);
  } finally {
    await browser.close();
  }
}

main().then(() => {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}, (e) => {
  console.log(`FAIL the check ran to the end: ${e && e.stack ? e.stack : e}`);
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exit(1);
});
