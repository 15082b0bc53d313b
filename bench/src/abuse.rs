//! The server under abuse and over time: a flood of failed sign-ins while signed-in
//! clients read, the memory of an idle server started with `--demo`, and a soak of mixed
//! reads, saves and uploads. Every loop is bounded in time.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::Rng;
use serde_json::{Value, json};

use crate::dataset::{DataSet, TASK_PAGE_CODE};
use crate::load::{
    SAVE_MUTATION, TASK_QUERY, graphql, graphql_body, has_errors, login, new_client, value_input,
};
use crate::server::Server;

/// Sorted latencies in microseconds → the `p`th percentile in milliseconds.
fn percentile_ms(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    f64::from(sorted[rank.clamp(1, sorted.len()) - 1]) / 1000.0
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Readers: `clients` signed-in clients reading a task for `duration`; their latencies.
async fn read_for(
    base: &str,
    token: &str,
    clients: usize,
    duration: Duration,
) -> anyhow::Result<(Vec<u32>, u64)> {
    let body = graphql_body(TASK_QUERY, Value::Null);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (client, base, token, body) = (
            new_client()?,
            base.to_owned(),
            token.to_owned(),
            body.clone(),
        );
        tasks.spawn(async move {
            let deadline = Instant::now() + duration;
            let (mut latencies, mut errors) = (Vec::new(), 0u64);
            while Instant::now() < deadline {
                let started = Instant::now();
                let answer = client
                    .post(format!("{base}/graphql"))
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                let ok = match answer {
                    Ok(response) => response.bytes().await.is_ok_and(|body| !has_errors(&body)),
                    Err(_) => false,
                };
                latencies.push(u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX));
                if !ok {
                    errors += 1;
                }
            }
            (latencies, errors)
        });
    }
    let (mut latencies, mut errors) = (Vec::new(), 0);
    while let Some(joined) = tasks.join_next().await {
        let (part, part_errors) = joined.context("a reader failed")?;
        latencies.extend(part);
        errors += part_errors;
    }
    latencies.sort_unstable();
    Ok((latencies, errors))
}

/// How the flood's sign-ins were answered.
#[derive(Default)]
struct FloodTally {
    unauthenticated: AtomicU64,
    too_many_requests: AtomicU64,
    other: AtomicU64,
}

/// `attackers` clients signing in with wrong names for `duration`, each request from a
/// random address behind the (trusted) proxy, so that the per-address rate does not
/// stop them and the hashing pool is what holds.
async fn flood_for(
    base: &str,
    attackers: usize,
    duration: Duration,
    tally: Arc<FloodTally>,
) -> anyhow::Result<()> {
    let mut tasks = tokio::task::JoinSet::new();
    for attacker in 0..attackers {
        let (client, base, tally) = (new_client()?, base.to_owned(), tally.clone());
        tasks.spawn(async move {
            let deadline = Instant::now() + duration;
            let mut round = 0u64;
            while Instant::now() < deadline {
                round += 1;
                let address = {
                    let mut rng = rand::rng();
                    format!(
                        "198.{}.{}.{}",
                        rng.random_range(18..20),
                        rng.random::<u8>(),
                        rng.random::<u8>()
                    )
                };
                let body = graphql_body(
                    "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
                    json!({ "u": format!("intruder-{attacker}-{round}"), "p": "guess-123456" }),
                );
                let answer = client
                    .post(format!("{base}/graphql"))
                    .header("content-type", "application/json")
                    .header("x-forwarded-for", address)
                    .body(body)
                    .send()
                    .await;
                let text = match answer {
                    Ok(response) => response.text().await.unwrap_or_default(),
                    Err(_) => String::new(),
                };
                let counter = if text.contains("\"UNAUTHENTICATED\"") {
                    &tally.unauthenticated
                } else if text.contains("\"TOO_MANY_REQUESTS\"") {
                    &tally.too_many_requests
                } else {
                    &tally.other
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.context("an attacker failed")?;
    }
    Ok(())
}

/// The sign-in flood: readers alone, then readers during 256 failing sign-ins, then the
/// memory once the flood is over.
pub async fn flood(
    server: &Server,
    data: &DataSet,
    readers: usize,
    attackers: usize,
    duration: Duration,
) -> anyhow::Result<()> {
    let client = new_client()?;
    let token = login(&client, &server.base_url, &data.leadership_user).await?;
    // Warm-up, not measured.
    read_for(&server.base_url, &token, readers, Duration::from_secs(2)).await?;
    let (quiet, quiet_errors) = read_for(&server.base_url, &token, readers, duration).await?;
    let before_kib = server.rss_kib();
    server.take_sampled_peak_kib();

    let tally = Arc::new(FloodTally::default());
    let started = Instant::now();
    let (flooded, flood) = tokio::join!(
        read_for(&server.base_url, &token, readers, duration),
        flood_for(&server.base_url, attackers, duration, tally.clone()),
    );
    let flood_elapsed = started.elapsed();
    let (flooded, flooded_errors) = flooded?;
    flood?;
    let peak_kib = server.take_sampled_peak_kib();
    // Freed memory goes back to the system a moment after the burst.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after_kib = server.rss_kib();

    let quiet_p99 = percentile_ms(&quiet, 99.0);
    let flooded_p99 = percentile_ms(&flooded, 99.0);
    let sign_ins = tally.unauthenticated.load(Ordering::Relaxed)
        + tally.too_many_requests.load(Ordering::Relaxed)
        + tally.other.load(Ordering::Relaxed);
    println!();
    println!(
        "## Sign-in flood: {attackers} clients failing to sign in for {} s while {readers} signed-in clients read",
        duration.as_secs()
    );
    println!();
    println!("| | readers' requests | readers' p50 ms | readers' p99 ms | readers' errors |");
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| without the flood | {} | {:.2} | {:.2} | {quiet_errors} |",
        quiet.len(),
        percentile_ms(&quiet, 50.0),
        quiet_p99
    );
    println!(
        "| during the flood | {} | {:.2} | {:.2} | {flooded_errors} |",
        flooded.len(),
        percentile_ms(&flooded, 50.0),
        flooded_p99
    );
    println!();
    println!(
        "Flood: {sign_ins} sign-ins ({:.0}/s): {} UNAUTHENTICATED (hashed), {} TOO_MANY_REQUESTS (refused at once), {} other.",
        sign_ins as f64 / flood_elapsed.as_secs_f64(),
        tally.unauthenticated.load(Ordering::Relaxed),
        tally.too_many_requests.load(Ordering::Relaxed),
        tally.other.load(Ordering::Relaxed)
    );
    println!(
        "Readers' p99 during / without: {:.2}× (target ≤ 2×).",
        flooded_p99 / quiet_p99.max(1e-9)
    );
    println!(
        "Server memory: {:.1} MiB before the flood, peak {:.1} MiB during it (target < 96), {:.1} MiB 5 s after it (target within 16 MiB of before).",
        mib(before_kib),
        mib(peak_kib),
        mib(after_kib)
    );
    Ok(())
}

/// The resident memory of a server started with `--demo` on an empty database, once it
/// has settled.
pub async fn idle(server: &Server, settle: Duration) -> anyhow::Result<()> {
    let at_start = server.rss_kib();
    tokio::time::sleep(settle).await;
    let settled = server.rss_kib();
    println!();
    println!("## Idle after `serve --demo`");
    println!();
    println!(
        "Server memory: {:.1} MiB when ready, {:.1} MiB after {} s idle (target ≤ 48 MiB); peak during start-up {:.1} MiB.",
        mib(at_start),
        mib(settled),
        settle.as_secs(),
        mib(server.take_sampled_peak_kib())
    );
    Ok(())
}

/// Counts of one minute of the soak.
#[derive(Default)]
struct Minute {
    requests: AtomicU64,
    unexpected_errors: AtomicU64,
    conflicts: AtomicU64,
    /// Sum and number of the `VmRSS` samples (one a second).
    rss_sum_kib: AtomicU64,
    rss_samples: AtomicU64,
}

/// A small PDF, different each time.
fn pdf(round: u64) -> Vec<u8> {
    let mut bytes = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n".to_vec();
    bytes.extend_from_slice(format!("% round {round}\n").as_bytes());
    bytes.resize(16 * 1024, b' ');
    bytes.extend_from_slice(b"\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n");
    bytes
}

const UPLOAD: &str = "mutation($input: EvidenceInput!, $file: Upload!) { uploadEvidence(input: $input, file: $file) { id } }";

/// The soak: `clients` clients for `minutes`, each request a read (6 in 10), a save of the
/// client's own draft (3 in 10) or an upload (1 in 10).
pub async fn soak(
    server: &Server,
    data: &DataSet,
    clients: usize,
    minutes: u64,
) -> anyhow::Result<()> {
    let base = server.base_url.clone();
    let client = new_client()?;
    let department = login(&client, &base, &data.department_user).await?;
    let leadership = login(&client, &base, &data.leadership_user).await?;
    let task = graphql(
        &client,
        &base,
        Some(&department),
        &format!("{{ task(code:\"{TASK_PAGE_CODE}\") {{ id }} }}"),
        Value::Null,
    )
    .await?;
    let task_id = task["task"]["id"]
        .as_str()
        .context("the task has no id")?
        .to_owned();
    let indicators = graphql(
        &client,
        &base,
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
        !indicator_ids.is_empty(),
        "the department has no indicators"
    );
    let mut drafts = Vec::new();
    for index in 0..clients {
        let indicator = indicator_ids[index % indicator_ids.len()].clone();
        let period = format!("2026-Q{}", index / indicator_ids.len() + 1);
        let saved = graphql(
            &client,
            &base,
            Some(&department),
            SAVE_MUTATION,
            json!({ "input": value_input(&indicator, &period, 0) }),
        )
        .await
        .context("cannot create a draft value")?;
        let id = saved["saveIndicatorValue"]["id"]
            .as_str()
            .context("a saved value has no id")?
            .to_owned();
        let version = saved["saveIndicatorValue"]["version"]
            .as_i64()
            .context("a saved value has no version")?;
        drafts.push((id, version, indicator, period));
    }

    let minutes_data: Arc<Vec<Minute>> =
        Arc::new((0..minutes).map(|_| Minute::default()).collect());
    let started = Instant::now();
    let total = Duration::from_secs(minutes * 60);
    let minute_of = move |at: Instant| ((at - started).as_secs() / 60) as usize;
    let running = Arc::new(AtomicBool::new(true));
    let first_error: Arc<std::sync::Mutex<Option<String>>> = Arc::default();

    let sampler = {
        let (minutes_data, running) = (minutes_data.clone(), running.clone());
        let pid_rss = server.rss_reader();
        tokio::spawn(async move {
            while running.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if let Some(minute) = minutes_data.get(minute_of(Instant::now())) {
                    minute.rss_sum_kib.fetch_add(pid_rss(), Ordering::Relaxed);
                    minute.rss_samples.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };

    let mut tasks = tokio::task::JoinSet::new();
    for (index, (draft_id, mut version, indicator, period)) in drafts.into_iter().enumerate() {
        let (base, department, leadership, task_id) = (
            base.clone(),
            department.clone(),
            leadership.clone(),
            task_id.clone(),
        );
        let (minutes_data, first_error) = (minutes_data.clone(), first_error.clone());
        let client = new_client()?;
        tasks.spawn(async move {
            let mut round = index as u64;
            while started.elapsed() < total {
                round += 1;
                let kind = round % 10;
                let request = if kind < 6 {
                    let token = if kind.is_multiple_of(2) { &leadership } else { &department };
                    client
                        .post(format!("{base}/graphql"))
                        .bearer_auth(token)
                        .header("content-type", "application/json")
                        .body(graphql_body(TASK_QUERY, Value::Null))
                } else if kind < 9 {
                    client
                        .post(format!("{base}/graphql"))
                        .bearer_auth(&department)
                        .header("content-type", "application/json")
                        .body(graphql_body(
                            SAVE_MUTATION,
                            json!({
                                "id": draft_id,
                                "version": version,
                                "input": value_input(&indicator, &period, round),
                            }),
                        ))
                } else {
                    let operations = json!({
                        "query": UPLOAD,
                        "variables": { "input": { "taskId": task_id, "title": "現場照片" }, "file": null },
                    });
                    let form = reqwest::multipart::Form::new()
                        .text("operations", operations.to_string())
                        .text("map", json!({ "0": ["variables.file"] }).to_string())
                        .part(
                            "0",
                            reqwest::multipart::Part::bytes(pdf(round)).file_name("現場.pdf"),
                        );
                    client
                        .post(format!("{base}/graphql"))
                        .bearer_auth(&department)
                        .multipart(form)
                };
                let answer = match request.send().await {
                    Ok(response) => response.text().await.unwrap_or_default(),
                    Err(error) => format!("transport: {error}"),
                };
                let Some(minute) = minutes_data.get(minute_of(Instant::now())) else {
                    break;
                };
                minute.requests.fetch_add(1, Ordering::Relaxed);
                let failed = !answer.starts_with("{\"data\"") || has_errors(answer.as_bytes());
                if failed && is_concurrent_change(&answer) {
                    minute.conflicts.fetch_add(1, Ordering::Relaxed);
                } else if failed {
                    minute.unexpected_errors.fetch_add(1, Ordering::Relaxed);
                    if let Ok(mut first) = first_error.lock() {
                        first.get_or_insert_with(|| answer.chars().take(300).collect());
                    }
                }
                if (6..9).contains(&kind) {
                    if let Ok(saved) = serde_json::from_str::<Value>(&answer)
                        && let Some(saved) = saved["data"]["saveIndicatorValue"]["version"].as_i64()
                    {
                        version = saved;
                    } else if let Ok(current) = graphql(
                        &client,
                        &base,
                        Some(&department),
                        "query($id: ID!) { node(id: $id) { ... on IndicatorValue { version } } }",
                        json!({ "id": draft_id }),
                    )
                    .await
                        && let Some(current) = current["node"]["version"].as_i64()
                    {
                        version = current;
                    }
                }
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.context("a soak client failed")?;
    }
    running.store(false, Ordering::Relaxed);
    let _ = sampler.await;

    println!();
    println!(
        "## Soak: {clients} clients, {minutes} minutes of reads (6/10), saves (3/10) and uploads (1/10)"
    );
    println!();
    println!(
        "| minute | requests | req/s | STALE_VERSION, INVALID_STATE, ALREADY_EXISTS | other errors | mean VmRSS MiB |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    let mut unexpected = 0;
    let mut rows = Vec::new();
    for (index, minute) in minutes_data.iter().enumerate() {
        let requests = minute.requests.load(Ordering::Relaxed);
        let errors = minute.unexpected_errors.load(Ordering::Relaxed);
        unexpected += errors;
        let samples = minute.rss_samples.load(Ordering::Relaxed).max(1);
        let rss = mib(minute.rss_sum_kib.load(Ordering::Relaxed) / samples);
        println!(
            "| {} | {requests} | {:.1} | {} | {errors} | {rss:.1} |",
            index + 1,
            requests as f64 / 60.0,
            minute.conflicts.load(Ordering::Relaxed)
        );
        rows.push((requests, rss));
    }
    println!();
    println!(
        "Errors other than STALE_VERSION, INVALID_STATE and ALREADY_EXISTS: {unexpected} (target 0)."
    );
    if let Ok(first) = first_error.lock()
        && let Some(first) = first.as_ref()
    {
        println!("First unexpected error: {first}");
    }
    if rows.len() >= 2 {
        let (first_requests, _) = rows[0];
        let (_, second_rss) = rows[1];
        let (last_requests, last_rss) = rows[rows.len() - 1];
        println!(
            "Memory, last minute vs the second: {last_rss:.1} vs {second_rss:.1} MiB, {:+.1} % (target within 10 %).",
            100.0 * (last_rss - second_rss) / second_rss.max(1e-9)
        );
        println!(
            "Throughput, last minute vs the first: {last_requests} vs {first_requests} requests, {:.0} % (target ≥ 80 %).",
            100.0 * last_requests as f64 / (first_requests as f64).max(1.0)
        );
    }
    Ok(())
}

/// An answer that refuses a change because another came first: a stale version, an item
/// already moved on, or a draft another writer created.
fn is_concurrent_change(answer: &str) -> bool {
    [
        "\"STALE_VERSION\"",
        "\"INVALID_STATE\"",
        "\"ALREADY_EXISTS\"",
    ]
    .iter()
    .any(|code| answer.contains(code))
}
