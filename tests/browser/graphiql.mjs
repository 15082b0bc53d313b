// Opens /graphiql in headless Chromium with every request outside the server refused, signs
// in, puts the token in GraphiQL's Headers tab, types a query, runs it and reads the answer
// in the result pane.
//
//   node graphiql.mjs http://127.0.0.1:PORT   (ECOPLAN_USERNAME, ECOPLAN_PASSWORD: an account)
//
// Exits non-zero, saying why, when the page needs anything from outside, breaks its content
// security policy, or does not show the signed-in user's answer.
import { chromium } from "playwright-core";

const base = new URL(process.argv[2] ?? "");
const username = process.env.ECOPLAN_USERNAME;
const password = process.env.ECOPLAN_PASSWORD;
if (!username || !password) {
  throw new Error("ECOPLAN_USERNAME and ECOPLAN_PASSWORD name the account to sign in with");
}
if (!["127.0.0.1", "[::1]", "localhost"].includes(base.hostname)) {
  throw new Error(`${base} is not a loopback address`);
}

function fail(message) {
  console.error(`graphiql: ${message}`);
  process.exitCode = 1;
}

// Sign in through the API, as a person would with the `login` mutation.
const login = await fetch(new URL("/graphql", base), {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({
    query: "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
    variables: { u: username, p: password },
  }),
});
const signedIn = await login.json();
const token = signedIn?.data?.login?.token;
if (!token) {
  throw new Error(`the sign-in failed: ${JSON.stringify(signedIn)}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
try {
  const context = await browser.newContext();
  const page = await context.newPage();

  const served = [];
  const blocked = [];
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.origin === base.origin) {
      served.push(url.pathname);
      return route.continue();
    }
    blocked.push(url.href);
    return route.abort("blockedbyclient");
  });
  const refused = [];
  page.on("response", (response) => {
    if (response.status() >= 400) refused.push(`${response.status()} ${response.url()}`);
  });
  const problems = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });

  const started = Date.now();
  const answer = await page.goto(new URL("/graphiql", base).href);
  if (answer?.status() !== 200) throw new Error(`/graphiql answered ${answer?.status()}`);
  try {
    await page.locator(".graphiql-query-editor .CodeMirror").waitFor({ timeout: 30_000 });
  } catch (error) {
    throw new Error(
      `the editor did not appear (${error.message.split("\n")[0]}); refused requests ` +
        `outside the server: ${blocked.join(", ") || "none"}; problems: ${problems.join("; ") || "none"}`,
    );
  }
  console.log(`graphiql: the editor is up after ${Date.now() - started} ms`);

  // The token, typed into the Headers tab.
  const headers = JSON.stringify({ Authorization: `Bearer ${token}` });
  await page.locator(".graphiql-editor-tools button", { hasText: "Headers" }).click();
  const headerEditor = page.locator(".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror");
  await headerEditor.click();
  await page.keyboard.press("ControlOrMeta+A");
  await page.keyboard.press("Delete");
  await page.keyboard.type(headers);
  const headersTyped = await headerEditor.evaluate((element) => element.CodeMirror.getValue());
  if (JSON.stringify(JSON.parse(headersTyped)) !== headers) {
    throw new Error(`the Headers tab holds ${headersTyped}, not what was typed`);
  }

  // The query, typed into the query editor over the page's opening comment.
  const query = "{ me { username role } }";
  const queryEditor = page.locator(".graphiql-query-editor .CodeMirror");
  await queryEditor.click();
  await page.keyboard.press("ControlOrMeta+A");
  await page.keyboard.press("Delete");
  await page.keyboard.type(query);
  const queryTyped = await queryEditor.evaluate((element) => element.CodeMirror.getValue());
  if (queryTyped.replace(/\s+/g, " ").trim() !== query) {
    throw new Error(`the query editor holds ${JSON.stringify(queryTyped)}, not what was typed`);
  }

  await page.locator(".graphiql-execute-button").click();
  const result = page.locator(".graphiql-response .CodeMirror");
  await page.waitForFunction(
    () => document.querySelector(".graphiql-response .CodeMirror")?.CodeMirror?.getValue().includes('"me"'),
    null,
    { timeout: 30_000 },
  );
  const shown = JSON.parse(await result.evaluate((element) => element.CodeMirror.getValue()));
  console.log(`graphiql: the result pane shows ${JSON.stringify(shown)}`);
  if (shown?.data?.me?.username !== username) {
    fail(`the result pane does not show ${username}: ${JSON.stringify(shown)}`);
  }
  if (typeof shown?.data?.me?.role !== "string") fail(`the answer has no role: ${JSON.stringify(shown)}`);

  // Everything the page loaded came from the server: its scripts and styles among them.
  for (const needed of ["/graphiql", "/graphql"]) {
    if (!served.includes(needed)) fail(`the page never asked the server for ${needed}`);
  }
  const assets = served.filter((path) => path.startsWith("/graphiql/assets/"));
  if (assets.length < 4) fail(`the page loaded only ${assets.length} assets from the server: ${assets}`);
  console.log(`graphiql: ${served.length} requests to the server, ${blocked.length} elsewhere`);
  if (blocked.length > 0) fail(`the page asked for what is outside the server: ${blocked.join(", ")}`);
  if (refused.length > 0) fail(`the server refused: ${refused.join(", ")}`);
  if (problems.length > 0) fail(`the page reported problems:\n  ${problems.join("\n  ")}`);
} finally {
  await browser.close();
}
if (!process.exitCode) console.log("graphiql: ok");
