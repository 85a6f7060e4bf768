//! `checksum`: SHA-256 of every file under a directory inside the jobs root. Progress in bytes;
//! the result is a digest over all (path, file digest) pairs, so two trees compare with one value.

use super::{text, Prepared};
use crate::jobs::{
    confine,
    job::{FieldError, Job, JobContext, JobEnv, JobFailure, JobFuture},
};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::{
    fs::File,
    io::Read,
    path::{Path, PathBuf},
};

pub const KIND: &str = "checksum";

pub fn prepare(params: &Value, env: &JobEnv) -> Result<Prepared, FieldError> {
    let requested = text(params, "dir")?;
    let dir =
        confine::resolve_dir(&env.files_root, requested).map_err(|err| FieldError::new("dir", err.to_string()))?;
    let root = confine::canonical_root(&env.files_root).map_err(|err| FieldError::new("dir", err.to_string()))?;
    let shown = if requested.trim().is_empty() { ".".to_string() } else { requested.trim().to_string() };
    Ok(Prepared { label: format!("Checksum of {shown}"), job: Box::new(Checksum { dir, root }) })
}

struct Checksum {
    dir: PathBuf,
    root: PathBuf,
}

impl Job for Checksum {
    fn run(self: Box<Self>, ctx: JobContext) -> JobFuture {
        Box::pin(async move {
            tokio::task::spawn_blocking(move || checksum_tree(&self.dir, &self.root, &ctx))
                .await
                .map_err(|err| JobFailure::Failed(format!("checksum stopped: {err}")))?
        })
    }
}

fn checksum_tree(dir: &Path, root: &Path, ctx: &JobContext) -> Result<String, JobFailure> {
    ctx.set_stage("listing files");
    ctx.set_total(None, "bytes");
    let mut files = Vec::new();
    let mut total = 0u64;
    let mut skipped = 0u64;
    for entry in walkdir::WalkDir::new(dir).follow_links(false).sort_by_file_name() {
        ctx.check()?;
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                skipped += 1;
                ctx.log(format!("skipped: {err}"));
                continue;
            }
        };
        let path = entry.path();
        let file_type = entry.file_type();
        let is_file = file_type.is_file() || (file_type.is_symlink() && path.is_file());
        if !is_file {
            continue;
        }
        // A symlinked file counts only if it resolves inside the root.
        if file_type.is_symlink() && !confine::is_inside(root, path) {
            skipped += 1;
            ctx.log(format!("skipped {}: link leads outside the jobs root", relative(dir, path)));
            continue;
        }
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        total += size;
        files.push((path.to_path_buf(), size));
    }
    ctx.log(format!("{} files, {total} bytes", files.len()));
    ctx.set_total(Some(total), "bytes");
    ctx.set_stage("hashing");

    let mut tree = Sha256::new();
    let mut buffer = vec![0u8; 256 * 1024];
    for (path, _) in &files {
        ctx.check()?;
        let name = relative(dir, path);
        match hash_file(path, &mut buffer, ctx) {
            Ok(digest) => {
                tree.update(name.as_bytes());
                tree.update([0]);
                tree.update(digest.as_bytes());
                tree.update(b"\n");
                ctx.log(format!("{digest}  {name}"));
            }
            Err(HashError::Cancelled) => return Err(JobFailure::Cancelled),
            Err(HashError::Io(err)) => {
                skipped += 1;
                ctx.log(format!("skipped {name}: {err}"));
            }
        }
    }
    let digest = hex::encode(tree.finalize());
    let mut summary = format!("{} files, {total} bytes, tree sha256 {digest}", files.len());
    if skipped > 0 {
        summary.push_str(&format!(" ({skipped} skipped)"));
    }
    Ok(summary)
}

enum HashError {
    Cancelled,
    Io(std::io::Error),
}

fn hash_file(path: &Path, buffer: &mut [u8], ctx: &JobContext) -> Result<String, HashError> {
    let mut file = File::open(path).map_err(HashError::Io)?;
    let mut hasher = Sha256::new();
    loop {
        if ctx.cancelled() {
            return Err(HashError::Cancelled);
        }
        let read = file.read(buffer).map_err(HashError::Io)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        ctx.advance(read as u64);
    }
    Ok(hex::encode(hasher.finalize()))
}

fn relative(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir).unwrap_or(path).display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_util::sync::CancellationToken;

    #[test]
    fn hashes_every_file_and_reports_bytes() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("sub")).unwrap();
        std::fs::write(root.path().join("a.txt"), "hello").unwrap();
        std::fs::write(root.path().join("sub/b.txt"), "world!").unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "nope").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), root.path().join("link")).unwrap();

        let ctx = JobContext::new(1, CancellationToken::new());
        let canonical = root.path().canonicalize().unwrap();
        let summary = checksum_tree(&canonical, &canonical, &ctx).unwrap();
        assert!(summary.starts_with("2 files, 11 bytes, tree sha256 "), "{summary}");
        assert!(summary.ends_with("(1 skipped)"), "{summary}");
        let reported = ctx.take();
        assert_eq!((reported.done, reported.total), (11, Some(11)));
        // sha256("hello")
        assert!(reported
            .new_lines
            .iter()
            .any(|l| l.text == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824  a.txt"));
        assert!(reported.new_lines.iter().any(|l| l.text.contains("link leads outside")));
    }

    #[test]
    fn refuses_paths_outside_the_root() {
        let root = tempfile::tempdir().unwrap();
        let env = JobEnv { files_root: root.path().to_path_buf() };
        let err = prepare(&serde_json::json!({"dir": "../"}), &env).err().unwrap();
        assert_eq!(err.field, "dir");
        assert_eq!(err.message, "the path must not contain '..'");
    }
}
