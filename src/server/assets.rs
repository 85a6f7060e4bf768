//! The built front end: serving its files (`/pkg/...`) and checking, at start, that they are the
//! ones built with this server (server only).
//!
//! Serving. tower-http's `ServeDir` answers from the site's pkg dir. It sends `NAME.br` or
//! `NAME.gz` when the build wrote them (`cargo leptos build --release --precompress`) and the
//! request accepts that encoding, with the right `Content-Encoding`, so nothing is compressed per
//! request; otherwise it sends the plain file, which the router's compression layer then
//! compresses as before (`cargo leptos watch` builds write no precompressed files). A file whose
//! name carries its content hash (`hash-files`, `pulseboard.<hash>.wasm`) never changes, so it is
//! sent `Cache-Control: public, max-age=31536000, immutable`: a returning visitor downloads
//! nothing. Any other file is sent `no-cache` (revalidated, answered 304 when unchanged).
//!
//! Names. The pages link the js, wasm and css that `hash.txt` next to the binary names (or the
//! plain names without `hash-files`): [`linked_front_end`] reads them once when the server starts
//! and the shell links what it read ([`crate::front_end`]); no page render reads the file.
//!
//! Check. The same names, checked before the binary listens. A site folder from another build (a stale
//! `target/site`, a half-copied deploy) gives pages that never hydrate, so the binary refuses to
//! start when a linked file is missing or when the wasm does not carry this build's id
//! ([`crate::build_id`]). No pkg dir at all is only a warning: the server then answers its APIs
//! and pages without a front end (benchmarks, API-only runs). In-process servers (the integration
//! tests) skip the check: they render pages against whatever `target/site` holds.

use crate::{
    build_id::{BUILD_ID, ID_LEN, MARKER_PREFIX},
    front_end::FrontEnd,
};
use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::Response,
    Router,
};
use leptos::config::LeptosOptions;
use std::{
    io,
    path::{Path, PathBuf},
};
use tower_http::services::ServeDir;

/// `Cache-Control` of a file whose name carries its content hash.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The pkg dir's files under `/<site-pkg-dir>/`, precompressed where the build left `.br`/`.gz`;
/// `hashed_names` when the pages link hashed names ([`FrontEnd::hashed`]).
pub fn pkg_router<S: Clone + Send + Sync + 'static>(options: &LeptosOptions, hashed_names: bool) -> Router<S> {
    let dir = Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    let files = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    let served =
        Router::new().fallback_service(files).layer(axum::middleware::from_fn_with_state(hashed_names, cache_headers));
    Router::new().nest(&format!("/{}", options.site_pkg_dir), served)
}

/// `Cache-Control: no-cache` on whatever set none (pages, public files): revalidated each visit.
pub async fn revalidate_by_default(mut response: Response) -> Response {
    response.headers_mut().entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-cache"));
    response
}

async fn cache_headers(State(hashed_names): State<bool>, request: Request, next: Next) -> Response {
    let immutable = hashed_names && has_content_hash(request.uri().path());
    let mut response = next.run(request).await;
    let status = response.status();
    if status.is_success() || status == StatusCode::NOT_MODIFIED {
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(if immutable { IMMUTABLE } else { "no-cache" }));
        // The body depends on Accept-Encoding (precompressed variants): caches must key on it.
        if !headers.contains_key(header::VARY) {
            headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        }
    }
    response
}

/// Whether the last segment of `path` is `stem.<hash>.ext` with cargo-leptos's hash: the URL-safe
/// base64 of an MD5 digest, 22 characters.
pub fn has_content_hash(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() >= 3 && {
        let hash = parts[parts.len() - 2];
        hash.len() == 22 && hash.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }
}

/// What the check found when it let the server start.
#[derive(Debug, PartialEq)]
pub enum SiteStatus {
    /// No pkg dir: no front end to check (pages will not hydrate).
    NoFrontEnd { pkg_dir: PathBuf },
    /// The linked files exist and the wasm is this build's; `precompressed` when it has a `.br`.
    Matches { wasm: PathBuf, precompressed: bool },
}

/// Why the site does not belong to this server. Each message says what to copy.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error(
        "hash-files is on but {0} does not exist: deploy the hash.txt of the same build next to the binary \
         (cargo-leptos writes it beside the binary, e.g. target/release/hash.txt)"
    )]
    HashFileMissing(PathBuf),
    #[error("cannot read {path}: {source}")]
    Unreadable { path: PathBuf, source: io::Error },
    #[error("{path} names no {kind} file: it is not a hash file written by cargo-leptos")]
    HashFileMalformed { path: PathBuf, kind: &'static str },
    #[error(
        "{0} is missing: the site folder is not the one this binary was built with (a stale site or a \
         half-copied deploy); copy the site folder and hash.txt of the same build as the binary"
    )]
    FileMissing(PathBuf),
    #[error("{0} holds no pulseboard build id: it is not from this project's build; rebuild and redeploy the site")]
    NoBuildId(PathBuf),
    #[error(
        "{path} is from build {found}, this server is build {expected}: the site folder is not the one this \
         binary was built with (a stale site or a half-copied deploy); copy the site folder of the same build"
    )]
    OtherBuild { path: PathBuf, found: String, expected: &'static str },
}

/// Where the hash file is looked for: beside the running binary (where cargo-leptos writes it).
fn exe_dir() -> PathBuf {
    std::env::current_exe().ok().and_then(|exe| exe.parent().map(Path::to_path_buf)).unwrap_or_default()
}

/// The names the pages link, read once when the server starts (blocking: call it off the async
/// runtime). Without a hash file beside the binary there is no hashed front end to link (a binary
/// run without a site, an in-process test; with a site, [`check_site`] has refused to start
/// already): the pages link the plain names.
pub fn linked_front_end(options: &LeptosOptions) -> Result<FrontEnd, SiteError> {
    match front_end(options, &exe_dir()) {
        Err(SiteError::HashFileMissing(path)) => {
            tracing::debug!(path = %path.display(), "no hash file beside the binary: pages link unhashed asset names");
            Ok(FrontEnd::plain(&options.output_name))
        }
        found => found,
    }
}

/// The binary's check, off the async runtime: logs what it found, or refuses with the reason.
pub async fn check_site(options: &LeptosOptions) -> io::Result<()> {
    let options = options.clone();
    let status = tokio::task::spawn_blocking(move || inspect_site(&options, &exe_dir()))
        .await
        .map_err(io::Error::other)?
        .map_err(io::Error::other)?;
    match status {
        SiteStatus::NoFrontEnd { pkg_dir } => tracing::warn!(
            pkg_dir = %pkg_dir.display(),
            "no front end at this path: pages are served but will not hydrate (build it with cargo leptos build)"
        ),
        SiteStatus::Matches { wasm, precompressed } => {
            tracing::info!(build = BUILD_ID, wasm = %wasm.display(), "the site's front end is this build's");
            if !precompressed {
                tracing::warn!(
                    "the site has no precompressed files: assets are compressed per request \
                     (build with cargo leptos build --release --precompress)"
                );
            }
        }
    }
    Ok(())
}

/// The check itself: `exe_dir` is where the hash file is looked for (beside the binary).
pub fn inspect_site(options: &LeptosOptions, exe_dir: &Path) -> Result<SiteStatus, SiteError> {
    let pkg_dir = Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    if !pkg_dir.is_dir() {
        return Ok(SiteStatus::NoFrontEnd { pkg_dir });
    }
    let names = front_end(options, exe_dir)?;
    for name in [&names.js, &names.wasm, &names.css] {
        let path = pkg_dir.join(name);
        if !path.is_file() {
            return Err(SiteError::FileMissing(path));
        }
    }
    let wasm = pkg_dir.join(&names.wasm);
    let bytes = std::fs::read(&wasm).map_err(|source| SiteError::Unreadable { path: wasm.clone(), source })?;
    match build_ids(&bytes) {
        ids if ids.contains(&BUILD_ID) => {
            let precompressed = pkg_dir.join(format!("{}.br", names.wasm)).is_file();
            Ok(SiteStatus::Matches { wasm, precompressed })
        }
        ids => match ids.first() {
            Some(found) => Err(SiteError::OtherBuild { path: wasm, found: found.to_string(), expected: BUILD_ID }),
            None => Err(SiteError::NoBuildId(wasm)),
        },
    }
}

/// The js, wasm and css file names the pages link: the plain names, or under `hash-files` those
/// of the hash file in `exe_dir`.
fn front_end(options: &LeptosOptions, exe_dir: &Path) -> Result<FrontEnd, SiteError> {
    if !options.hash_files {
        return Ok(FrontEnd::plain(&options.output_name));
    }
    let path = exe_dir.join(&*options.hash_file);
    if !path.is_file() {
        return Err(SiteError::HashFileMissing(path));
    }
    let text = std::fs::read_to_string(&path).map_err(|source| SiteError::Unreadable { path: path.clone(), source })?;
    FrontEnd::hashed(&options.output_name, &text).map_err(|kind| SiteError::HashFileMalformed { path, kind })
}

/// Every build id that follows the marker prefix in `bytes`.
fn build_ids(bytes: &[u8]) -> Vec<&str> {
    let prefix = MARKER_PREFIX.as_bytes();
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(offset) = bytes[at..].windows(prefix.len()).position(|w| w == prefix) {
        let start = at + offset + prefix.len();
        if let Some(id) = bytes.get(start..start + ID_LEN).and_then(|id| std::str::from_utf8(id).ok()) {
            if id.bytes().all(|b| b.is_ascii_hexdigit()) {
                found.push(id);
            }
        }
        at = start;
    }
    found
}

#[cfg(test)]
#[path = "assets_tests.rs"]
mod tests;
