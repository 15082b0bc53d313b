//! The `ecoplan` command: parses the command line and hands over to the library
//! (`ecoplan::cli`).

use clap::Parser;
use tracing_subscriber::EnvFilter;

/// mimalloc returns freed memory to the system; the system allocator kept the memory
/// of every password hash a burst of sign-ins ran, for good.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay`, which libmimalloc-sys does not name (mimalloc.h, `mi_option_e`).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// By default mimalloc purges freed pages 10 ms later, when the thread that freed them next
/// allocates; a worker that goes idle after a burst would keep them. Purging at once gives
/// them back to the system when they are freed.
fn purge_freed_memory_at_once() {
    // SAFETY: setting an option only stores a number; mimalloc reads it on later frees.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    purge_freed_memory_at_once();
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
