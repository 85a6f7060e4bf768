//! The benchmark's errors: each names what failed, for a clear message and a non-zero exit.

use crate::http1::HttpError;

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("bad argument: {0}")]
    BadArgument(String),
    #[error("could not raise the file-descriptor limit: {0}")]
    FdLimit(String),
    #[error("{subscribers} subscribers need {subscribers} + {headroom} file descriptors, but the limit is {limit}")]
    TooManySubscribers { subscribers: usize, limit: u64, headroom: u64 },
    #[error("only 127.0.0.1 may be loaded; got {0}")]
    NotLoopback(std::net::SocketAddr),
    #[error("could not start the {server} server ({path}): {reason}")]
    Spawn { server: &'static str, path: String, reason: String },
    #[error("reading {0}: {1}")]
    Proc(String, String),
    #[error("{0}: {1}")]
    Io(&'static str, std::io::Error),
    #[error("HTTP: {0}")]
    Http(#[from] HttpError),
    #[error("{what} answered HTTP {status}")]
    Status { what: &'static str, status: u16 },
    #[error("{0} timed out")]
    Timeout(&'static str),
    #[error("the connection closed during {0}")]
    Closed(&'static str),
    #[error("unexpected answer from the server: {0}")]
    BadAnswer(String),
}
