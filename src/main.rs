//! The pulseboard server binary: config -> hub -> router -> serve.

use clap::{Parser, Subcommand};
use std::{path::PathBuf, process::ExitCode};

/// Live dashboards over server-sent events.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Configuration file (default: ./Leptos.toml if present, else the built-in defaults).
    #[arg(long, env = "PULSEBOARD_CONFIG", value_name = "PATH")]
    config: Option<PathBuf>,
    /// Without a command: serve.
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write a TLS certificate and key for local use (DIR/cert.pem, DIR/key.pem).
    Cert {
        /// A self-signed certificate for localhost, 127.0.0.1 and ::1, written to DIR.
        #[arg(long, value_name = "DIR")]
        self_signed: PathBuf,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(Command::Cert { self_signed }) = &args.command {
        return cert(self_signed);
    }
    // Rendering Leptos views recurses deeply (more so in debug builds): give every runtime
    // thread room instead of the 2 MiB default.
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().thread_stack_size(8 * 1024 * 1024).build();
    match runtime {
        Ok(runtime) => runtime.block_on(serve(args)),
        Err(err) => {
            eprintln!("pulseboard: cannot start the async runtime: {err}");
            ExitCode::FAILURE
        }
    }
}

/// `pulseboard cert --self-signed DIR`: prints where the files went and how to use them.
fn cert(dir: &std::path::Path) -> ExitCode {
    match pulseboard::server::tls::self_signed::write_self_signed(dir) {
        Ok(written) => {
            println!(
                "wrote {} and {} (valid for localhost, 127.0.0.1 and ::1)",
                written.cert.display(),
                written.key.display()
            );
            println!(
                "serve HTTPS with: PULSEBOARD_TLS_CERT={} PULSEBOARD_TLS_KEY={} pulseboard",
                written.cert.display(),
                written.key.display()
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("pulseboard: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args) -> ExitCode {
    // Logs go to stderr (README): stdout carries only the "listening" line scripts read.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .init();
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
