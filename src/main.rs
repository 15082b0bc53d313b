use clap::Parser;
use tracing_subscriber::EnvFilter;

/// mimalloc returns freed memory to the system; the system allocator kept the 19 MiB
/// blocks of every password hash a burst of sign-ins ran, for good.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    init_tracing();
    let cli = ecoplan::cli::Cli::parse();
    match ecoplan::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // One line that says which setting or step failed and why.
            eprintln!("ecoplan: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter = EnvFilter::try_from_env("ECOPLAN_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let json =
        std::env::var("ECOPLAN_LOG_FORMAT").is_ok_and(|format| format.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}
