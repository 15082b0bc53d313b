//! `ecoplan-bench`: builds a synthetic data set in a fresh database, starts the release
//! server on it as a child process, drives it over loopback HTTP with concurrent clients,
//! and prints throughput, latency, SQL statements per request and the server's memory.
//!
//! Every loop is bounded in time and in requests, and the run stops by itself.

mod abuse;
mod database;
mod dataset;
mod load;
mod plans;
mod server;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;

use crate::database::{Backend, TempDatabase};
use crate::dataset::{DataSet, Scale, Sizes};
use crate::load::Outcome;
use crate::server::{Memory, Server};

#[derive(Debug, Parser)]
#[command(
    name = "ecoplan-bench",
    about = "Load benchmark of the ecoplan server on a synthetic data set"
)]
struct Args {
    #[arg(long, value_enum)]
    database: Backend,
    /// small: the 2022 plan and 200 users; large: 50 plans (one with 2,000 tasks),
    /// 100,000 indicator values and 1,000,000 audit rows.
    #[arg(long, value_enum)]
    scale: Scale,
    /// Concurrent clients per operation.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Seconds each operation is measured.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Seconds each operation runs before it is measured.
    #[arg(long, default_value_t = 1)]
    warmup: u64,
    /// The server binary (build it with `cargo build --release`).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/release/ecoplan"))]
    server: PathBuf,
    /// The PostgreSQL maintenance database; the bench database is created beside it.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres_url: String,
    /// Only these operations (healthz, task, home, home-large, dashboard, tree, task-page,
    /// save), comma-separated; /healthz always runs, as the reference.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Override the number of indicator values of the scale.
    #[arg(long)]
    indicator_values: Option<u64>,
    /// Override the number of audit rows of the scale.
    #[arg(long)]
    audit_rows: Option<u64>,
    /// Only generate the data set, keep the database and print its URL (for looking at
    /// query plans); nothing is measured.
    #[arg(long)]
    generate_only: bool,
    /// What to run: the load benchmark (the default), a sign-in flood, the idle memory
    /// after `serve --demo`, or a soak of mixed reads, saves and uploads.
    #[arg(long, value_enum, default_value_t = Scenario::Load)]
    scenario: Scenario,
    /// Failing sign-in clients of the flood.
    #[arg(long, default_value_t = 256)]
    flood_clients: usize,
    /// Seconds the flood lasts (and the readers are measured without it).
    #[arg(long, default_value_t = 20)]
    flood_seconds: u64,
    /// Minutes the soak lasts.
    #[arg(long, default_value_t = 10)]
    soak_minutes: u64,
    /// Keep the server running after the measurements for this many seconds (for a
    /// profiler attached by pid); bounded at 10 minutes.
    #[arg(long, default_value_t = 0)]
    linger: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Scenario {
    Load,
    Flood,
    Idle,
    Soak,
}

fn main() -> ExitCode {
    let args = Args::parse();
    // One thread: the load generator shares the machine with the server and should take
    // at most one core.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("ecoplan-bench: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ecoplan-bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let server_binary = args.server.canonicalize().with_context(|| {
        format!(
            "the server binary {} is missing: run `cargo build --release` first, or pass --server",
            args.server.display()
        )
    })?;
    if args.clients == 0 || args.duration == 0 {
        bail!("--clients and --duration must be at least 1");
    }
    let folder = tempfile::Builder::new()
        .prefix("ecoplan-bench-")
        .tempdir()
        .context("cannot create a temporary folder")?;
    let database = TempDatabase::create(args.database, &args.postgres_url, folder.path()).await?;
    println!("database: {:?} {}", database.backend, database.name());
    if args.generate_only {
        let folder = folder.keep();
        generate(&args, &database, &folder).await?;
        println!("kept the database: DATABASE_URL={}", database.url);
        return Ok(());
    }
    let outcome = match args.scenario {
        Scenario::Load => bench(&args, &database, &server_binary, folder.path()).await,
        scenario => abuse(&args, scenario, &database, &server_binary, folder.path()).await,
    };
    let dropped = database.drop_database().await;
    outcome?;
    dropped
}

/// Builds the data set; returns it and how long it took.
async fn generate(
    args: &Args,
    database: &TempDatabase,
    folder: &std::path::Path,
) -> anyhow::Result<(DataSet, Duration)> {
    let mut sizes = Sizes::of(args.scale);
    if let Some(values) = args.indicator_values {
        sizes.indicator_values = values;
    }
    if let Some(rows) = args.audit_rows {
        sizes.audit_rows = rows;
    }
    println!("generating the {:?} data set: {sizes:?}", args.scale);
    let started = Instant::now();
    let data = dataset::generate(&database.url, &sizes).await?;
    let generation = started.elapsed();
    println!("generation took {:.1} s", generation.as_secs_f64());
    if database.backend == Backend::Sqlite {
        let bytes: u64 = std::fs::read_dir(folder)?
            .filter_map(Result::ok)
            .filter_map(|entry| entry.metadata().ok())
            .map(|metadata| metadata.len())
            .sum();
        println!("database files: {:.0} MiB", bytes as f64 / 1048576.0);
    }
    Ok((data, generation))
}

async fn bench(
    args: &Args,
    database: &TempDatabase,
    server_binary: &std::path::Path,
    folder: &std::path::Path,
) -> anyhow::Result<()> {
    let (data, generation) = generate(args, database, folder).await?;

    let server = Server::start(server_binary, &database.url, folder).await?;
    println!("server {} on {}", server_binary.display(), server.base_url);
    println!("load average before: {}", load_average());
    let measured = measure_all(args, &server, &data).await;
    if measured.is_ok() && args.linger > 0 {
        let linger = args.linger.min(600);
        println!("the server stays up for {linger} s");
        tokio::time::sleep(Duration::from_secs(linger)).await;
    }
    println!("load average after: {}", load_average());
    let log_file = server.log_file.clone();
    let memory = server.stop().await?;
    let outcomes = measured?;
    print_report(args, &data, generation, &outcomes, memory);
    print_server_errors(&log_file);
    Ok(())
}

/// The flood, the idle memory or the soak.
async fn abuse(
    args: &Args,
    scenario: Scenario,
    database: &TempDatabase,
    server_binary: &std::path::Path,
    folder: &std::path::Path,
) -> anyhow::Result<()> {
    if scenario == Scenario::Idle {
        // An empty database: start-up migrates, loads the plan and makes the demo accounts.
        let server =
            Server::start_with(server_binary, &database.url, folder, &["--demo"], &[]).await?;
        println!("load average: {}", load_average());
        let outcome = abuse::idle(&server, Duration::from_secs(10)).await;
        server.stop().await?;
        return outcome;
    }
    let (data, _) = generate(args, database, folder).await?;
    // The flood comes from many addresses through a proxy the server trusts, so the
    // per-address rate does not stop it: the hashing pool must.
    let server = Server::start_with(
        server_binary,
        &database.url,
        folder,
        &[],
        &[("ECOPLAN_TRUSTED_PROXIES", "127.0.0.1")],
    )
    .await?;
    println!("server {} on {}", server_binary.display(), server.base_url);
    println!("load average before: {}", load_average());
    let outcome = match scenario {
        Scenario::Flood => {
            abuse::flood(
                &server,
                &data,
                args.clients,
                args.flood_clients,
                Duration::from_secs(args.flood_seconds.max(1)),
            )
            .await
        }
        _ => abuse::soak(&server, &data, args.clients, args.soak_minutes.max(1)).await,
    };
    println!("load average after: {}", load_average());
    let log_file = server.log_file.clone();
    let memory = server.stop().await?;
    println!(
        "Server memory over the run: peak RSS (VmHWM) {:.1} MiB.",
        memory.peak_rss_kib as f64 / 1024.0
    );
    print_server_errors(&log_file);
    outcome
}

async fn measure_all(args: &Args, server: &Server, data: &DataSet) -> anyhow::Result<Vec<Outcome>> {
    let operations = load::prepare(&server.base_url, data, args.clients).await?;
    let mut outcomes = Vec::new();
    for operation in operations {
        if operation.key != "healthz"
            && !args.only.is_empty()
            && !args.only.iter().any(|key| key == operation.key)
        {
            continue;
        }
        println!("measuring {} …", operation.label);
        let outcome = load::measure(
            &server.base_url,
            operation,
            args.clients,
            Duration::from_secs(args.warmup),
            Duration::from_secs(args.duration),
        )
        .await?;
        println!(
            "  {:.1} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors",
            outcome.throughput(),
            outcome.percentile_ms(50.0),
            outcome.percentile_ms(99.0),
            outcome.errors
        );
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// The machine's load average (1, 5 and 15 minutes): the machine is shared, and other
/// work on it shows in the numbers.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// The first few distinct errors the server logged, since its log goes with the
/// temporary folder.
fn print_server_errors(log_file: &std::path::Path) {
    let Ok(log) = std::fs::read_to_string(log_file) else {
        return;
    };
    // An entry starts with its time stamp; the lines after it (an error's causes) belong
    // to it.
    let mut entries: Vec<String> = Vec::new();
    for line in log.lines() {
        match entries.last_mut() {
            Some(entry) if !line.starts_with("20") => {
                entry.push_str(" | ");
                entry.push_str(line.trim());
            }
            _ => entries.push(line.to_owned()),
        }
    }
    let mut seen: Vec<&str> = Vec::new();
    for entry in entries.iter().filter(|entry| entry.contains("ERROR")) {
        // Entries differ in their time stamp; compare what follows the level.
        let message = entry
            .split_once("ERROR")
            .map_or(entry.as_str(), |(_, rest)| rest);
        if !seen.contains(&message) {
            seen.push(message);
            println!("server: {entry}");
        }
        if seen.len() == 5 {
            break;
        }
    }
}

fn print_report(
    args: &Args,
    data: &DataSet,
    generation: Duration,
    outcomes: &[Outcome],
    memory: Memory,
) {
    println!();
    println!(
        "## {:?}, scale {:?}: {} clients, {} s per operation (after {} s warm-up)",
        args.database, args.scale, args.clients, args.duration, args.warmup
    );
    println!();
    let counts: Vec<String> = data
        .counts
        .iter()
        .map(|(name, count)| format!("{count} {name}"))
        .collect();
    println!("Data: {}.", counts.join(", "));
    let phases: Vec<String> = data
        .phases
        .iter()
        .map(|(name, took)| format!("{name} {:.1} s", took.as_secs_f64()))
        .collect();
    println!(
        "Generation: {:.1} s ({}).",
        generation.as_secs_f64(),
        phases.join(", ")
    );
    println!();
    println!(
        "| operation | requests | req/s | p50 ms | p95 ms | p99 ms | errors | SQL/req | KiB/resp | vs /healthz |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let ceiling = outcomes
        .iter()
        .find(|outcome| outcome.key == "healthz")
        .map(Outcome::throughput)
        .unwrap_or(0.0);
    for outcome in outcomes {
        let ratio = if ceiling > 0.0 {
            100.0 * outcome.throughput() / ceiling
        } else {
            0.0
        };
        println!(
            "| {} | {} | {:.1} | {:.2} | {:.2} | {:.2} | {} | {:.1} | {:.1} | {:.2} % |",
            outcome.label,
            outcome.requests,
            outcome.throughput(),
            outcome.percentile_ms(50.0),
            outcome.percentile_ms(95.0),
            outcome.percentile_ms(99.0),
            outcome.errors,
            outcome.sql_per_request(),
            outcome.mean_response_bytes() / 1024.0,
            ratio
        );
    }
    println!();
    println!(
        "Server memory: peak RSS (VmHWM) {:.1} MiB; largest sampled VmRSS {:.1} MiB; VmRSS at the end {:.1} MiB.",
        memory.peak_rss_kib as f64 / 1024.0,
        memory.peak_sampled_rss_kib as f64 / 1024.0,
        memory.final_rss_kib as f64 / 1024.0
    );
    for outcome in outcomes {
        if let Some(error) = &outcome.first_error {
            println!("First error of {}: {error}", outcome.label);
        }
    }
}
