//! The pulseboard server binary: config -> hub -> router -> serve; `pulseboard token`, which
//! mints a token with the same configuration's key (README, "Tokens"); and `pulseboard cert`,
//! which writes a self-signed certificate for local HTTPS (README, "TLS and HTTP/2").

use clap::{Parser, Subcommand};
use pulseboard::streams::auth::{keys, Auth, Grants};
use std::{path::PathBuf, process::ExitCode, time::Duration};

/// Live dashboards over server-sent events.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Configuration file (default: ./Leptos.toml if present, else the built-in defaults).
    #[arg(long, env = "PULSEBOARD_CONFIG", value_name = "PATH", global = true)]
    config: Option<PathBuf>,
    /// Without a command: serve.
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Prints a token signed with this server's key (the same configuration and environment as
    /// the server, so the same data directory's generated secret): the token is the last line.
    Token {
        /// A topic pattern the token may publish to (a topic, `prefix*` or `*`); repeatable.
        #[arg(long, value_name = "PATTERN")]
        publish: Vec<String>,
        /// A topic pattern the token may subscribe to; repeatable.
        #[arg(long, value_name = "PATTERN")]
        subscribe: Vec<String>,
        /// How long the token is valid: seconds, or a number with s, m, h or d (`90s`, `1h`, `7d`).
        #[arg(long, default_value = "1h", value_parser = parse_ttl)]
        ttl: Duration,
    },
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
    let settings = match pulseboard::config::resolve_path(args.config.as_deref())
        .and_then(|path| pulseboard::config::load(path.as_deref()))
    {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("pulseboard: {err}");
            return ExitCode::from(2);
        }
    };
    if let Some(Command::Token { publish, subscribe, ttl }) = args.command {
        return token(&settings, Grants { publish, subscribe }, ttl);
    }
    // Rendering Leptos views recurses deeply (more so in debug builds): give every runtime
    // thread room instead of the 2 MiB default.
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().thread_stack_size(8 * 1024 * 1024).build();
    match runtime {
        Ok(runtime) => runtime.block_on(serve(settings)),
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

async fn serve(settings: pulseboard::config::Settings) -> ExitCode {
    // Logs go to stderr (README): stdout carries only the "listening" line scripts read.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .init();
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

/// `pulseboard token`: what it made goes to stderr, the token alone to stdout, last.
fn token(settings: &pulseboard::config::Settings, grants: Grants, ttl: Duration) -> ExitCode {
    if grants.publish.is_empty() && grants.subscribe.is_empty() {
        eprintln!("pulseboard token: give at least one --publish or --subscribe pattern");
        return ExitCode::from(2);
    }
    let config = &settings.pulseboard;
    let data_dir = &config.server.data_dir;
    let loaded = std::fs::create_dir_all(data_dir)
        .map_err(|err| std::io::Error::other(format!("cannot create the data directory {}: {err}", data_dir.display())))
        .and_then(|()| keys::load(&config.auth, data_dir));
    let auth = match loaded {
        Ok(keys) => Auth::new(keys, &config.auth),
        Err(err) => {
            eprintln!("pulseboard token: {err}");
            return ExitCode::FAILURE;
        }
    };
    let summary = format!("publish {:?}, subscribe {:?}, valid {}s", grants.publish, grants.subscribe, ttl.as_secs());
    match auth.mint(grants, ttl) {
        None => {
            eprintln!(
                "pulseboard token: this server only verifies tokens (jwt-public-key); sign them with the matching \
                 private key"
            );
            ExitCode::from(2)
        }
        Some(Err(err)) => {
            eprintln!("pulseboard token: {err}");
            ExitCode::from(2)
        }
        Some(Ok(token)) => {
            eprintln!("{}", auth.describe());
            eprintln!("token for {summary}:");
            println!("{token}");
            ExitCode::SUCCESS
        }
    }
}

/// `90`, `90s`, `15m`, `1h`, `7d`, at most a year. (Four suffixes: not worth a crate.)
fn parse_ttl(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let multiplier = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("unknown unit {unit:?}; use s, m, h or d (e.g. 1h)")),
    };
    let seconds = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .filter(|&s| (1..=366 * 86_400).contains(&s))
        .ok_or_else(|| format!("{text:?} is not a duration from 1s to 366d (e.g. 90s, 15m, 1h, 7d)"))?;
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::parse_ttl;
    use std::time::Duration;

    #[test]
    fn ttls() {
        assert_eq!(parse_ttl("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_ttl("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_ttl("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_ttl("7d"), Ok(Duration::from_secs(7 * 86_400)));
        for bad in ["", "0", "1w", "h", "-1h", "400d", "99999999999999999999"] {
            assert!(parse_ttl(bad).is_err(), "{bad}");
        }
    }
}
