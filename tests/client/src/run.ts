// A frontend's operations, typed from schema.graphql by graphql-codegen and run against
// the real server: sign-in, a department's home, save, submit, review, a subscription
// hearing the approval, upload, download by signed link, a refused field, the error
// contract, token refresh and a persisted query.
//
//   node dist/run.js http://127.0.0.1:8080
//
// ECOPLAN_DEPARTMENT_USER, ECOPLAN_LEADERSHIP_USER and ECOPLAN_PASSWORD name the accounts.

import { createHash } from "node:crypto";
import assert from "node:assert/strict";

import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

import { graphql } from "./gql/index.js";
import type { ErrorCode } from "./schema-types.js";

const base = process.argv[2] ?? "http://127.0.0.1:8080";
const password = process.env.ECOPLAN_PASSWORD ?? "";
const departmentUser = process.env.ECOPLAN_DEPARTMENT_USER ?? "finance";
const leadershipUser = process.env.ECOPLAN_LEADERSHIP_USER ?? "leadership";

interface GraphQLError {
  message: string;
  path?: (string | number)[];
  extensions: { code: ErrorCode; [extension: string]: unknown };
}

interface Answer<Data> {
  data?: Data | null;
  errors?: GraphQLError[];
}

async function request<Data, Variables>(
  document: TypedDocumentNode<Data, Variables>,
  variables: Variables,
  token?: string,
): Promise<Answer<Data>> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${base}/graphql`, {
    method: "POST",
    headers,
    body: JSON.stringify({ query: print(document), variables }),
  });
  return (await response.json()) as Answer<Data>;
}

/** The data of an answer that must have no errors. */
async function run<Data, Variables>(
  document: TypedDocumentNode<Data, Variables>,
  variables: Variables,
  token?: string,
): Promise<Data> {
  const answer = await request(document, variables, token);
  assert.equal(answer.errors, undefined, JSON.stringify(answer.errors));
  assert.ok(answer.data, "an answer without data");
  return answer.data;
}

/** What a UI does with each code: every value of the enum is handled. */
function userMessage(code: ErrorCode): string {
  switch (code) {
    case "BAD_USER_INPUT": return "check the field";
    case "INVALID_CREDENTIALS": return "wrong name or password";
    case "UNAUTHENTICATED": return "sign in again";
    case "FORBIDDEN": return "not for your role";
    case "NOT_FOUND": return "not there";
    case "STALE_VERSION": return "reload: someone changed it";
    case "INVALID_STATE": return "not in this state";
    case "ALREADY_EXISTS": return "open the existing one";
    case "TOO_MANY_ATTEMPTS":
    case "TOO_MANY_REQUESTS": return "wait and retry";
    case "TOO_MANY_ERRORS": return "fix the errors shown";
    case "PERSISTED_QUERY_NOT_FOUND": return "send the document";
    case "TIMEOUT": return "try again later";
    case "INTERNAL": return "the server failed";
    default: {
      const unhandled: never = code;
      return unhandled;
    }
  }
}

const Login = graphql(`
  mutation Login($username: String!, $password: String!) {
    login(username: $username, password: $password) {
      token
      expiresAt
      user { username role canReview canManageUsers canClosePeriods department { code } }
    }
  }
`);

const DepartmentHome = graphql(`
  query DepartmentHome($department: String!) {
    me { username }
    plans { id key currentPeriod periods { period deadline closed } }
    tasks(filter: { departmentCode: $department }, first: 50) {
      totalCount
      edges { node { id code title viewerCanReport indicators { id name viewerCanReport } } }
    }
  }
`);

const SaveReport = graphql(`
  mutation SaveReport($input: ProgressReportInput!) {
    saveProgressReport(input: $input) {
      id version reviewStatus viewerCanEdit viewerCanSubmit viewerCanReview
    }
  }
`);

const Submit = graphql(`
  mutation Submit($id: ID!, $version: Int!) {
    submit(id: $id, version: $version) { id version reviewStatus late }
  }
`);

const Approve = graphql(`
  mutation Approve($id: ID!, $version: Int!) {
    approve(id: $id, version: $version) { id version reviewStatus reviewedAt }
  }
`);

const TaskByCode = graphql(`
  query TaskByCode($code: String!) {
    taskByCode(code: $code) { id code dueOn version }
  }
`);

const SetDueDate = graphql(`
  mutation SetDueDate($taskId: ID!, $dueOn: Date!, $version: Int) {
    setTaskDueDate(taskId: $taskId, dueOn: $dueOn, version: $version) { id dueOn version }
  }
`);

const ReviewQueue = graphql(`
  query ReviewQueue($period: String!) {
    dashboard(period: $period) {
      awaitingReview { __typename id version viewerCanReview }
    }
  }
`);

const SubmissionEvents = graphql(`
  subscription SubmissionEvents {
    submissionEvents { kind at submission { id reviewStatus } }
  }
`);

const Upload = graphql(`
  mutation Upload($input: EvidenceInput!, $file: Upload!) {
    uploadEvidence(input: $input, file: $file) {
      id fileName size sha256 downloadUrl downloadLink { url expiresAt }
    }
  }
`);

const Refused = graphql(`
  query Refused {
    me { username }
    auditLog(first: 1) { totalCount }
  }
`);

const Refresh = graphql(`
  mutation Refresh { refreshToken { token expiresAt } }
`);

async function signIn(username: string) {
  const { login } = await run(Login, { username, password });
  assert.ok(Date.parse(login.expiresAt) > Date.now(), login.expiresAt);
  return login;
}

/** Waits for the first event a subscription hears that passes `wanted`. */
function firstEvent<T>(
  token: string,
  wanted: (event: T) => boolean,
): { ready: Promise<void>; heard: Promise<T>; stop: () => void } {
  const client = createClient({
    url: `${base.replace(/^http/, "ws")}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    lazy: false,
  });
  let acknowledged: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    acknowledged = resolve;
  });
  client.on("connected", () => acknowledged());
  const heard = new Promise<T>((resolve, reject) => {
    client.subscribe<T>(
      { query: print(SubmissionEvents) },
      {
        next: (answer) => {
          if (answer.errors) reject(new Error(JSON.stringify(answer.errors)));
          else if (answer.data && wanted(answer.data)) resolve(answer.data);
        },
        error: reject,
        complete: () => {},
      },
    );
  });
  return { ready, heard, stop: () => void client.dispose() };
}

async function main() {
  // Sign-in, and what the user may do in general.
  const department = await signIn(departmentUser);
  assert.equal(department.user.role, "DEPARTMENT");
  assert.equal(department.user.canReview, false);
  const departmentCode = department.user.department?.code;
  assert.ok(departmentCode, "a department user has a department");
  const leadership = await signIn(leadershipUser);
  assert.equal(leadership.user.canReview, true);

  const wrong = await request(Login, { username: departmentUser, password: "not the password" });
  const wrongCode = wrong.errors?.[0]?.extensions.code;
  assert.equal(wrongCode, "INVALID_CREDENTIALS");
  assert.ok(wrongCode && userMessage(wrongCode));

  // A department's home: its tasks and what it may report on, the plan's periods.
  const home = await run(DepartmentHome, { department: departmentCode }, department.token);
  assert.equal(home.me?.username, departmentUser);
  const plan = home.plans[0];
  assert.ok(plan, "a plan");
  const period = plan.periods.find((each) => !each.closed)?.period ?? plan.currentPeriod;
  const task = home.tasks.edges.map((edge) => edge.node).find((node) => node.viewerCanReport);
  assert.ok(task, `${departmentCode} reports on a task`);

  // Save and submit, with the permissions the UI shows its buttons by.
  const { saveProgressReport: draft } = await run(
    SaveReport,
    { input: { taskId: task.id, period, status: "IN_PROGRESS", workDone: "開展政府綠色採購" } },
    department.token,
  );
  assert.equal(draft.reviewStatus, "DRAFT");
  assert.equal(draft.viewerCanEdit, true);
  assert.equal(draft.viewerCanReview, false);

  // Upload evidence for it, then download it by its signed link, with no token.
  const bytes = new TextEncoder().encode("情況說明\n");
  const form = new FormData();
  form.append(
    "operations",
    JSON.stringify({
      query: print(Upload),
      variables: { input: { taskId: task.id, title: "佐證材料", progressReportId: draft.id }, file: null },
    }),
  );
  form.append("map", JSON.stringify({ 0: ["variables.file"] }));
  form.append("0", new Blob([bytes], { type: "text/plain" }), "情況說明.txt");
  const uploaded = await fetch(`${base}/graphql`, {
    method: "POST",
    headers: { authorization: `Bearer ${department.token}` },
    body: form,
  });
  const upload = (await uploaded.json()) as Answer<{ uploadEvidence: { id: string; downloadUrl: string; downloadLink: { url: string } } }>;
  assert.equal(upload.errors, undefined, JSON.stringify(upload.errors));
  const evidence = upload.data?.uploadEvidence;
  assert.ok(evidence);
  const linked = await fetch(evidence.downloadLink.url);
  assert.equal(linked.status, 200);
  assert.deepEqual(new Uint8Array(await linked.arrayBuffer()), bytes);
  assert.match(linked.headers.get("content-disposition") ?? "", /filename\*=UTF-8''/);
  const withToken = await fetch(`${base}${evidence.downloadUrl}`, {
    headers: { authorization: `Bearer ${department.token}` },
  });
  assert.equal(withToken.status, 200);

  const { submit: sent } = await run(Submit, { id: draft.id, version: draft.version }, department.token);
  assert.equal(sent.reviewStatus, "SUBMITTED");

  // A stale version says the current one.
  const stale = await request(Submit, { id: draft.id, version: draft.version }, department.token);
  const staleError = stale.errors?.[0];
  assert.ok(staleError);
  assert.ok(["STALE_VERSION", "INVALID_STATE"].includes(staleError.extensions.code), staleError.extensions.code);
  assert.equal(staleError.extensions.currentVersion, sent.version);

  // The department hears the approval live; the leadership group reviews from its queue.
  const listening = firstEvent<{ submissionEvents: { kind: string; submission: { id: string } } }>(
    department.token,
    (event) => event.submissionEvents.kind === "APPROVED" && event.submissionEvents.submission.id === draft.id,
  );
  await listening.ready;
  await new Promise((resolve) => setTimeout(resolve, 500));
  const queue = await run(ReviewQueue, { period }, leadership.token);
  const waiting = queue.dashboard?.awaitingReview.find((item) => item.id === draft.id);
  assert.ok(waiting, "the submission waits for review");
  assert.equal(waiting.viewerCanReview, true);
  const { approve: approved } = await run(Approve, { id: draft.id, version: waiting.version }, leadership.token);
  assert.equal(approved.reviewStatus, "APPROVED");
  const heard = await Promise.race([
    listening.heard,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no event within 10 s")), 10_000)),
  ]);
  assert.equal(heard.submissionEvents.kind, "APPROVED");
  listening.stop();

  // One task by its code, and its due date changed at the version read: a second change
  // made against the same version is refused with the current one.
  const found = await run(TaskByCode, { code: task.code }, leadership.token);
  const byCode = found.taskByCode;
  assert.ok(byCode, "the leadership group sees the task by its code");
  assert.equal(byCode.id, task.id);
  const { setTaskDueDate: moved } = await run(
    SetDueDate,
    { taskId: byCode.id, dueOn: "2022-11-30", version: byCode.version },
    leadership.token,
  );
  assert.equal(moved.version, byCode.version + 1);
  const overwritten = await request(
    SetDueDate,
    { taskId: byCode.id, dueOn: "2022-10-31", version: byCode.version },
    leadership.token,
  );
  assert.equal(overwritten.errors?.[0]?.extensions.code, "STALE_VERSION");
  assert.equal(overwritten.errors?.[0]?.extensions.currentVersion, moved.version);

  // A field refused to the role is null in place, as its nullable type promises.
  const refused = await request(Refused, {}, department.token);
  assert.equal(refused.data?.me?.username, departmentUser);
  assert.equal(refused.data?.auditLog, null);
  assert.equal(refused.errors?.[0]?.extensions.code, "FORBIDDEN");
  assert.deepEqual(refused.errors?.[0]?.path, ["auditLog"]);

  // Token refresh.
  const { refreshToken } = await run(Refresh, {}, department.token);
  assert.notEqual(refreshToken.token, department.token);
  const again = await run(DepartmentHome, { department: departmentCode }, refreshToken.token);
  assert.equal(again.me?.username, departmentUser);

  // An automatic persisted query: the hash, then the document with it, then the hash.
  const document = print(DepartmentHome);
  const sha256Hash = createHash("sha256").update(document).digest("hex");
  const persisted = async (withDocument: boolean) => {
    const response = await fetch(`${base}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${department.token}` },
      body: JSON.stringify({
        ...(withDocument ? { query: document } : {}),
        variables: { department: departmentCode },
        extensions: { persistedQuery: { version: 1, sha256Hash } },
      }),
    });
    return (await response.json()) as Answer<unknown>;
  };
  const missing = await persisted(false);
  assert.equal(missing.errors?.[0]?.extensions.code, "PERSISTED_QUERY_NOT_FOUND");
  assert.equal((await persisted(true)).errors, undefined);
  assert.equal((await persisted(false)).errors, undefined);

  console.log("the typed client ran every operation");
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
