//! The pulseboard server binary: config -> hub -> router -> serve.

use clap::Parser;
use std::{path::PathBuf, process::ExitCode};

/// Live dashboards over server-sent events.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Configuration file (default: ./Leptos.toml if present, else the built-in defaults).
    #[arg(long, env = "PULSEBOARD_CONFIG", value_name = "PATH")]
    config: Option<PathBuf>,
}

fn main() -> ExitCode {
    // Rendering Leptos views recurses deeply (more so in debug builds): give every runtime
    // thread room instead of the 2 MiB default.
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().thread_stack_size(8 * 1024 * 1024).build();
    match runtime {
        Ok(runtime) => runtime.block_on(serve()),
        Err(err) => {
            eprintln!("pulseboard: cannot start the async runtime: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> ExitCode {
    // Logs go to stderr (README): stdout carries only the "listening" line scripts read.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .init();
    let args = Args::parse();
    let settings = match pulseboard::config::resolve_path(args.config.as_deref())
        .and_then(|path| pulseboard::config::load(path.as_deref()))
    {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("pulseboard: {err}");
            return ExitCode::from(2);
        }
    };
    match &settings.source {
        Some(path) => tracing::info!(config = %path.display(), "configuration loaded"),
        None => tracing::info!("no configuration file; using built-in defaults"),
    }
    match pulseboard::server::run(settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("pulseboard: {err}");
            ExitCode::FAILURE
        }
    }
}
