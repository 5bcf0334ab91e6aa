// Browser test of `rapporteur serve` (issue 9), run by tests/cli/serve_e2e.sh:
// playwright-core drives Debian's headless Chromium (/usr/bin/chromium, no browser
// download). Logs in, uploads a sealed submission through the form, links, sees the
// estimate, records a clerical-review decision, changes a recommendation's status, and
// screenshots every page (also at phone width), checking each screenshot's size, the
// page's key text, labelled form fields and no sideways scrolling on a phone.
//
// usage: node e2e.mjs BASE_URL OUT_DIR SEALED_FILE RAPPORTEUR STORE USER PASSWORD
import { execFileSync } from "node:child_process";
import { statSync } from "node:fs";
import { chromium } from "playwright-core";

const [base, outDir, sealed, rapporteur, store, user, password] = process.argv.slice(2);
let passed = 0;
let failed = 0;

function check(ok, what, detail = "") {
  if (ok) {
    passed++;
    console.log(`ok - ${what}`);
  } else {
    failed++;
    console.log(`not ok - ${what}${detail ? ": " + detail : ""}`);
  }
}

// A screenshot of the whole page, checked for size (a blank page compresses to a few KB).
async function shot(page, name, minBytes = 12000) {
  const path = `${outDir}/${name}.png`;
  await page.screenshot({ path, fullPage: true });
  const size = statSync(path).size;
  check(size >= minBytes, `screenshot ${name}.png (${size} bytes)`, `smaller than ${minBytes}`);
}

// Every visible form control has a label; the page has a language, a main and one h1.
async function accessible(page, name) {
  const problems = await page.evaluate(() => {
    const out = [];
    for (const el of document.querySelectorAll("input, select, textarea")) {
      if (el.type === "hidden") continue;
      const labelled = (el.id && document.querySelector(`label[for="${el.id}"]`)) ||
        el.getAttribute("aria-label");
      if (!labelled) out.push(`unlabelled ${el.tagName} ${el.name}`);
    }
    if (!document.documentElement.lang) out.push("no lang");
    if (document.querySelectorAll("main").length !== 1) out.push("no single main");
    if (document.querySelectorAll("h1").length !== 1) out.push("no single h1");
    for (const svg of document.querySelectorAll("svg")) {
      if (svg.getAttribute("role") !== "img" || !svg.querySelector("title")) out.push("svg without role/title");
    }
    return out;
  });
  check(problems.length === 0, `${name}: labelled fields, lang, main, h1`, problems.join("; "));
}

async function text(page, selector) {
  return (await page.locator(selector).first().innerText()).trim();
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();

  // Public page, no login.
  await page.goto(`${base}/public`);
  check((await text(page, "h1")) === "Public statistics", "public page without logging in");
  check((await page.locator("table caption").count()) >= 3, "public page has its tables");
  await accessible(page, "public");
  await shot(page, "public");

  // Log in through the form.
  await page.goto(`${base}/`);
  check(page.url().includes("/login?next=/"), "the overview sends a visitor to log in");
  await page.fill("#user", user);
  await page.fill("#password", password);
  await accessible(page, "login");
  await shot(page, "login", 8000);
  await Promise.all([page.waitForURL(`${base}/`), page.click("button[type=submit]")]);
  check((await text(page, "h1")) === "Overview", "logged in, on the overview");

  // Upload a sealed submission through the form.
  await page.goto(`${base}/submissions`);
  await page.setInputFiles("#file", sealed);
  await Promise.all([page.waitForURL(/\/submissions\/\d+$/), page.click("form[enctype] button")]);
  const report = await page.locator("main").innerText();
  check(/Validation report/.test(report) && /Rows read/.test(report), "upload shows its validation report");
  await accessible(page, "submission");
  await shot(page, "submission");
  await page.goto(`${base}/submissions`);
  await shot(page, "submissions");

  // Link (as the office does, on the command line), then the estimate.
  execFileSync(rapporteur, ["link", "--store", store, "--quiet"]);
  await page.goto(`${base}/`);
  const est = await text(page, "#estimate");
  check(/^\d+$/.test(est) && Number(est) > 0, `overview shows the estimate (${est})`);
  const interval = await page.locator("main").innerText();
  check(/95% interval \d+–\d+/.test(interval), "overview shows the interval");
  check((await page.locator("svg[role=img]").count()) >= 1, "overview has the trend chart");
  await accessible(page, "overview");
  await shot(page, "overview", 30000);

  // Clerical review: reject the first pair of the newest run.
  await page.goto(`${base}/linkage`);
  await shot(page, "linkage");
  await Promise.all([page.waitForURL(/\/linkage\/\d+$/), page.click("main table a")]);
  const before = await page.locator("button.reject").count();
  check(before > 0, `review page lists pairs (${before})`);
  await Promise.all([page.waitForURL(/done=1/), page.locator("button.reject").first().click()]);
  check(/Decision recorded/.test(await page.locator("main").innerText()), "review decision recorded");
  await accessible(page, "review");
  await shot(page, "review");

  // Change a recommendation's status.
  await page.goto(`${base}/recs?status=not_started`);
  await shot(page, "recs");
  await Promise.all([page.waitForURL(/\/recs\/\d+$/), page.click("main table a")]);
  await page.selectOption("#status", "in_progress");
  await Promise.all([page.waitForURL(/done=1/), page.click("form[action$=status] button")]);
  check((await text(page, "#status-now")) === "in progress", "recommendation status changed");
  await accessible(page, "recommendation");
  await shot(page, "recommendation");
  await page.goto(`${base}/scorecards`);
  check(/Implemented/.test(await page.locator("main").innerText()), "scorecards page");
  await shot(page, "scorecards");

  // On a phone: no sideways scrolling, same content.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
  const p2 = await phone.newPage();
  await p2.goto(`${base}/public`);
  const overflow = await p2.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 1, `public page fits a phone (${overflow}px over)`);
  await shot(p2, "public-phone");
  await phone.close();
  await context.close();
} catch (e) {
  check(false, "browser session", String(e && e.stack ? e.stack : e));
} finally {
  await browser.close();
}
console.log(`# ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
