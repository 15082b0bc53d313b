//! The load generator: N clients, each looping on one operation for a fixed time (and at
//! most a fixed number of requests), against the server on loopback.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::dataset::{DataSet, PASSWORD, TASK_PAGE_CODE};

/// A bound on every client loop besides its duration, so no run can go on for ever.
const MAX_REQUESTS_PER_CLIENT: u64 = 5_000_000;

pub const TASK_QUERY: &str = r#"{ task(code:"12"){ code title leadDepartments{code name} indicators{name target{kind value text}} } }"#;

const HOME_FIELDS: &str = "totalCount edges{ node{ code title leadDepartments{code} indicators{ name status latestValue{value} } } }";

pub const DASHBOARD_QUERY: &str = "{ dashboard { tasksByStatus{status count} departments{department{code} led awaitingReview} indicatorsByStatus{status count} awaitingReviewCount } }";

pub const TREE_QUERY: &str = "{ plan { key title sections { number title tasks { code title leadDepartments { code name } indicators { name target { kind value text } responsibleDepartments { code name } } subtasks { code title leadDepartments { code name } indicators { name target { kind value text } responsibleDepartments { code name } } } } } } }";

pub(crate) const SAVE_MUTATION: &str = "mutation($id: ID, $version: Int, $input: IndicatorValueInput!) { saveIndicatorValue(id: $id, version: $version, input: $input) { id version } }";

const VERSION_QUERY: &str =
    "query($id: ID!) { node(id: $id) { ... on IndicatorValue { version } } }";

/// What one request of an operation is.
pub enum Request {
    Get(&'static str),
    Graphql {
        token: String,
        body: String,
    },
    /// Updates the client's own draft value with the version it last saw.
    SaveIndicatorValue {
        token: String,
    },
}

/// One measured operation.
pub struct Operation {
    /// A short name for `--only`.
    pub key: &'static str,
    pub label: String,
    pub request: Request,
    /// One draft per client, for `SaveIndicatorValue`.
    pub drafts: Vec<Draft>,
}

/// A draft indicator value that one client keeps changing.
#[derive(Clone, Debug)]
pub struct Draft {
    id: String,
    version: i64,
    indicator_id: String,
    period: String,
}

/// The result of one operation.
pub struct Outcome {
    pub key: &'static str,
    pub label: String,
    pub requests: u64,
    pub errors: u64,
    pub elapsed: Duration,
    /// Sorted, in microseconds.
    latencies: Vec<u32>,
    pub response_bytes: u64,
    pub sql_statements: u64,
    pub first_error: Option<String>,
}

impl Outcome {
    pub fn throughput(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The latency at percentile `p` (0–100), in milliseconds.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let rank = ((p / 100.0) * self.latencies.len() as f64).ceil() as usize;
        let index = rank.clamp(1, self.latencies.len()) - 1;
        f64::from(self.latencies[index]) / 1000.0
    }

    pub fn sql_per_request(&self) -> f64 {
        self.sql_statements as f64 / self.requests.max(1) as f64
    }

    pub fn mean_response_bytes(&self) -> f64 {
        self.response_bytes as f64 / self.requests.max(1) as f64
    }
}

#[derive(Default)]
struct Tally {
    latencies: Vec<u32>,
    errors: u64,
    response_bytes: u64,
    first_error: Option<String>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.latencies.extend(other.latencies);
        self.errors += other.errors;
        self.response_bytes += other.response_bytes;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

pub(crate) fn graphql_body(query: &str, variables: Value) -> String {
    json!({ "query": query, "variables": variables }).to_string()
}

pub(crate) fn has_errors(body: &[u8]) -> bool {
    body.windows(9).any(|window| window == b"\"errors\":")
}

pub(crate) fn new_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?)
}

/// Runs a GraphQL request for set-up and returns its `data`; errors are fatal here.
pub(crate) async fn graphql(
    client: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> anyhow::Result<Value> {
    let mut request = client
        .post(format!("{base}/graphql"))
        .header("content-type", "application/json")
        .body(graphql_body(query, variables));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response: Value = request.send().await?.error_for_status()?.json().await?;
    if let Some(errors) = response.get("errors") {
        bail!("the server answered with errors: {errors}");
    }
    response
        .get("data")
        .cloned()
        .context("the server answered without data")
}

pub(crate) async fn login(
    client: &reqwest::Client,
    base: &str,
    username: &str,
) -> anyhow::Result<String> {
    let data = graphql(
        client,
        base,
        None,
        "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
        json!({ "u": username, "p": PASSWORD }),
    )
    .await
    .with_context(|| format!("cannot sign in as {username}"))?;
    data["login"]["token"]
        .as_str()
        .map(str::to_owned)
        .context("the login answer has no token")
}

/// The server's `ecoplan_sql_statements_total`.
pub async fn sql_statements(client: &reqwest::Client, base: &str) -> anyhow::Result<u64> {
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    text.lines()
        .find_map(|line| line.strip_prefix("ecoplan_sql_statements_total "))
        .and_then(|value| value.trim().parse().ok())
        .context("/metrics has no ecoplan_sql_statements_total")
}

/// Signs in and prepares every operation: the plan id of the large plan, and one draft
/// value per client for the write operation (indicators of the 2022 plan, period 2027,
/// which the generated data leaves free).
pub async fn prepare(base: &str, data: &DataSet, clients: usize) -> anyhow::Result<Vec<Operation>> {
    let client = new_client()?;
    let department = login(&client, base, &data.department_user).await?;
    let leadership = login(&client, base, &data.leadership_user).await?;
    let query = |token: &str, query: &str| Request::Graphql {
        token: token.to_owned(),
        body: graphql_body(query, Value::Null),
    };
    let operation = |key, label: &str, request| Operation {
        key,
        label: label.to_owned(),
        request,
        drafts: Vec::new(),
    };

    let mut operations = vec![
        operation("healthz", "(a) GET /healthz", Request::Get("/healthz")),
        operation("task", "(b) task by code", query(&leadership, TASK_QUERY)),
        operation(
            "home",
            "(c) department home, 2022 plan",
            query(
                &department,
                &format!("{{ tasks(first:100){{ {HOME_FIELDS} }} }}"),
            ),
        ),
    ];
    if let Some(key) = &data.large_plan_key {
        let plans = graphql(
            &client,
            base,
            Some(&leadership),
            "{ plans { id key } }",
            Value::Null,
        )
        .await?;
        let plan_id = plans["plans"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|plan| plan["key"] == key.as_str())
            .and_then(|plan| plan["id"].as_str())
            .with_context(|| format!("the plan {key} is not listed"))?;
        operations.push(operation(
            "home-large",
            "(c) department home, 2,000-task plan",
            query(
                &department,
                &format!("{{ tasks(planId:\"{plan_id}\", first:100){{ {HOME_FIELDS} }} }}"),
            ),
        ));
    }
    operations.push(operation(
        "dashboard",
        "(d) leadership dashboard",
        query(&leadership, DASHBOARD_QUERY),
    ));
    operations.push(operation(
        "tree",
        "(e) whole 2022 plan tree",
        query(&leadership, TREE_QUERY),
    ));
    operations.push(operation(
        "task-page",
        "(f) task page, reports and evidence",
        query(
            &department,
            &format!(
                "{{ task(code:\"{TASK_PAGE_CODE}\"){{ code progressReports{{ nodes{{ workDone reviewStatus evidence{{ fileName }} }} }} evidence{{ nodes{{ title }} }} history{{ nodes{{ action }} }} }} }}"
            ),
        ),
    ));

    let indicators = graphql(
        &client,
        base,
        Some(&department),
        "{ indicators(first: 500) { edges { node { id } } } }",
        Value::Null,
    )
    .await?;
    let indicator_ids: Vec<String> = indicators["indicators"]["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|edge| edge["node"]["id"].as_str().map(str::to_owned))
        .collect();
    anyhow::ensure!(
        indicator_ids.len() * 4 >= clients,
        "the department answers for {} indicators: too few for {clients} clients",
        indicator_ids.len()
    );
    let mut drafts = Vec::with_capacity(clients);
    for index in 0..clients {
        let indicator_id = indicator_ids[index % indicator_ids.len()].clone();
        let period = format!("2027-Q{}", index / indicator_ids.len() + 1);
        let saved = graphql(
            &client,
            base,
            Some(&department),
            SAVE_MUTATION,
            json!({ "input": value_input(&indicator_id, &period, 0) }),
        )
        .await
        .context("cannot create a draft value")?;
        drafts.push(Draft {
            id: saved["saveIndicatorValue"]["id"]
                .as_str()
                .context("a saved value has no id")?
                .to_owned(),
            version: saved["saveIndicatorValue"]["version"]
                .as_i64()
                .context("a saved value has no version")?,
            indicator_id,
            period,
        });
    }
    let mut save = operation(
        "save",
        "(g) saveIndicatorValue",
        Request::SaveIndicatorValue { token: department },
    );
    save.drafts = drafts;
    operations.push(save);
    Ok(operations)
}

pub(crate) fn value_input(indicator_id: &str, period: &str, round: u64) -> Value {
    json!({
        "indicatorId": indicator_id,
        "period": period,
        "value": 50.0 + (round % 100) as f64 / 10.0,
        "achieved": true,
        "source": "市統計局季度數據",
        "note": format!("第{round}次修改"),
    })
}

/// One request; an error is a refused status, a GraphQL error, or a transport failure.
async fn one_request(
    client: &reqwest::Client,
    base: &str,
    request: &Request,
    draft: Option<&mut Draft>,
    round: u64,
) -> Result<u64, String> {
    let (response, draft) = match request {
        Request::Get(path) => (client.get(format!("{base}{path}")).send().await, None),
        Request::Graphql { token, body } => (
            client
                .post(format!("{base}/graphql"))
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await,
            None,
        ),
        Request::SaveIndicatorValue { token } => {
            let draft = draft.ok_or("no draft for this client")?;
            let body = graphql_body(
                SAVE_MUTATION,
                json!({
                    "id": draft.id,
                    "version": draft.version,
                    "input": value_input(&draft.indicator_id, &draft.period, round),
                }),
            );
            (
                client
                    .post(format!("{base}/graphql"))
                    .bearer_auth(token)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await,
                Some(draft),
            )
        }
    };
    let response = response.map_err(|error| error.to_string())?;
    let status = response.status();
    let body = response.bytes().await.map_err(|error| error.to_string())?;
    if !status.is_success() {
        return Err(format!("HTTP {status}"));
    }
    if has_errors(&body) {
        return Err(String::from_utf8_lossy(&body).chars().take(300).collect());
    }
    if let Some(draft) = draft {
        let saved: Value = serde_json::from_slice(&body).map_err(|error| error.to_string())?;
        draft.version = saved["data"]["saveIndicatorValue"]["version"]
            .as_i64()
            .ok_or("the answer has no version")?;
    }
    Ok(body.len() as u64)
}

/// After a failed save, reads the draft's current version so the next save can succeed.
async fn refresh_version(
    client: &reqwest::Client,
    base: &str,
    request: &Request,
    draft: &mut Draft,
) {
    let Request::SaveIndicatorValue { token } = request else {
        return;
    };
    if let Ok(data) = graphql(
        client,
        base,
        Some(token),
        VERSION_QUERY,
        json!({ "id": draft.id }),
    )
    .await
        && let Some(version) = data["node"]["version"].as_i64()
    {
        draft.version = version;
    }
}

async fn client_loop(
    client: reqwest::Client,
    base: Arc<str>,
    operation: Arc<Operation>,
    mut draft: Option<Draft>,
    duration: Duration,
) -> (reqwest::Client, Option<Draft>, Tally) {
    let mut tally = Tally::default();
    let deadline = Instant::now() + duration;
    let mut round = 0;
    while round < MAX_REQUESTS_PER_CLIENT && Instant::now() < deadline {
        round += 1;
        let started = Instant::now();
        let result = one_request(&client, &base, &operation.request, draft.as_mut(), round).await;
        let took = started.elapsed();
        tally
            .latencies
            .push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
        match result {
            Ok(bytes) => tally.response_bytes += bytes,
            Err(error) => {
                tally.errors += 1;
                tally.first_error.get_or_insert(error);
                if let Some(draft) = draft.as_mut() {
                    refresh_version(&client, &base, &operation.request, draft).await;
                }
            }
        }
    }
    (client, draft, tally)
}

/// Runs the clients for `duration`; returns their connections and drafts for the next run.
async fn drive(
    base: &Arc<str>,
    operation: &Arc<Operation>,
    clients: Vec<(reqwest::Client, Option<Draft>)>,
    duration: Duration,
) -> anyhow::Result<(Vec<(reqwest::Client, Option<Draft>)>, Tally, Duration)> {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (index, (client, draft)) in clients.into_iter().enumerate() {
        let base = base.clone();
        let operation = operation.clone();
        tasks.spawn(async move {
            (
                index,
                client_loop(client, base, operation, draft, duration).await,
            )
        });
    }
    let mut results = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        results.push(joined.context("a client failed")?);
    }
    let elapsed = started.elapsed();
    results.sort_by_key(|(index, _)| *index);
    let mut tally = Tally::default();
    let mut clients = Vec::with_capacity(results.len());
    for (_, (client, draft, part)) in results {
        tally.merge(part);
        clients.push((client, draft));
    }
    Ok((clients, tally, elapsed))
}

/// Warms up, then measures one operation with `clients` concurrent clients.
pub async fn measure(
    base: &str,
    operation: Operation,
    clients: usize,
    warmup: Duration,
    duration: Duration,
) -> anyhow::Result<Outcome> {
    let base: Arc<str> = Arc::from(base);
    let mut drafts = operation.drafts.clone().into_iter();
    let mut connections = Vec::with_capacity(clients);
    for _ in 0..clients {
        connections.push((new_client()?, drafts.next()));
    }
    let operation = Arc::new(operation);
    if !warmup.is_zero() {
        connections = drive(&base, &operation, connections, warmup).await?.0;
    }
    let metrics_client = new_client()?;
    let before = sql_statements(&metrics_client, &base).await?;
    let (_, mut tally, elapsed) = drive(&base, &operation, connections, duration).await?;
    let after = sql_statements(&metrics_client, &base).await?;
    tally.latencies.sort_unstable();
    Ok(Outcome {
        key: operation.key,
        label: operation.label.clone(),
        requests: tally.latencies.len() as u64,
        errors: tally.errors,
        elapsed,
        latencies: tally.latencies,
        response_bytes: tally.response_bytes,
        sql_statements: after.saturating_sub(before),
        first_error: tally.first_error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(latencies: Vec<u32>) -> Outcome {
        Outcome {
            key: "k",
            label: "l".into(),
            requests: latencies.len() as u64,
            errors: 0,
            elapsed: Duration::from_secs(2),
            latencies,
            response_bytes: 0,
            sql_statements: 30,
            first_error: None,
        }
    }

    #[test]
    fn percentiles_come_from_the_sorted_latencies() {
        let result = outcome((1..=100).map(|ms| ms * 1000).collect());
        assert_eq!(result.percentile_ms(50.0), 50.0);
        assert_eq!(result.percentile_ms(95.0), 95.0);
        assert_eq!(result.percentile_ms(99.0), 99.0);
        assert_eq!(result.throughput(), 50.0);
        assert_eq!(result.sql_per_request(), 0.3);
    }

    #[test]
    fn a_graphql_error_is_found_in_the_body() {
        assert!(has_errors(br#"{"data":null,"errors":[{"message":"x"}]}"#));
        assert!(!has_errors(br#"{"data":{"task":null}}"#));
    }
}
