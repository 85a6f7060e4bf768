//! One HTTP/1.1 request and its whole response over a raw TCP connection (Content-Length or
//! chunked body): what the publisher's keep-alive connections and the `/metrics` and snapshot
//! reads of `market` share.

use crate::{
    error::BenchError,
    http1::{self, Dechunker},
};
use std::{net::SocketAddr, time::Duration};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// Opens a connection with Nagle off (requests are small and waited for).
pub async fn open(addr: SocketAddr, what: &'static str) -> Result<TcpStream, BenchError> {
    let stream = TcpStream::connect(addr).await.map_err(|e| BenchError::Io(what, e))?;
    stream.set_nodelay(true).map_err(|e| BenchError::Io(what, e))?;
    Ok(stream)
}

/// Writes one request and reads its whole response; `Ok` only for status 200, with the body.
/// `buf` carries bytes read past the response to the next call (keep-alive).
pub async fn exchange(
    stream: &mut TcpStream,
    request: &[u8],
    buf: &mut Vec<u8>,
    what: &'static str,
) -> Result<Vec<u8>, BenchError> {
    stream.write_all(request).await.map_err(|e| BenchError::Io(what, e))?;
    let mut chunk = [0u8; 4096];
    let (head, start) = loop {
        if let Some(parsed) = http1::parse_head(buf)? {
            break parsed;
        }
        read_more(stream, buf, &mut chunk, what).await?;
    };
    if head.status != 200 {
        return Err(BenchError::Status { what, status: head.status });
    }
    let mut body = Vec::new();
    if head.chunked {
        let mut dechunker = Dechunker::default();
        dechunker.feed(&buf[start..], &mut body)?;
        buf.clear();
        while !dechunker.is_done() {
            let n = read_some(stream, &mut chunk, what).await?;
            dechunker.feed(&chunk[..n], &mut body)?;
        }
        return Ok(body);
    }
    let end = start + head.content_length.unwrap_or(0);
    while buf.len() < end {
        read_more(stream, buf, &mut chunk, what).await?;
    }
    body.extend_from_slice(&buf[start..end]);
    buf.drain(..end);
    Ok(body)
}

/// `GET path` on a fresh connection, within `timeout`: the body of a 200 answer.
pub async fn get(addr: SocketAddr, path: &str, what: &'static str, timeout: Duration) -> Result<Vec<u8>, BenchError> {
    tokio::time::timeout(timeout, async {
        let mut stream = open(addr, what).await?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        exchange(&mut stream, request.as_bytes(), &mut Vec::new(), what).await
    })
    .await
    .map_err(|_| BenchError::Timeout(what))?
}

async fn read_some(stream: &mut TcpStream, chunk: &mut [u8], what: &'static str) -> Result<usize, BenchError> {
    match stream.read(chunk).await.map_err(|e| BenchError::Io(what, e))? {
        0 => Err(BenchError::Closed(what)),
        n => Ok(n),
    }
}

async fn read_more(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    chunk: &mut [u8],
    what: &'static str,
) -> Result<(), BenchError> {
    let n = read_some(stream, chunk, what).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}
