//! Keeps file jobs inside the configured root (server only).
//!
//! A requested path is taken relative to the root, must not contain `..`, and must still be
//! inside the root once symlinks are resolved. Files found while walking are checked the same
//! way, so a symlink inside the tree cannot lead out of it.

use std::path::{Component, Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfineError {
    #[error("the path must be relative to the jobs root, not absolute")]
    Absolute,
    #[error("the path must not contain '..'")]
    ParentDir,
    #[error("{0} does not exist")]
    Missing(String),
    #[error("{0} is not a directory")]
    NotADirectory(String),
    #[error("{0} leads outside the jobs root (through a symlink)")]
    Escapes(String),
    #[error("the jobs root {0} is not usable: {1}")]
    BadRoot(String, String),
}

/// The canonical root, for comparisons.
pub fn canonical_root(root: &Path) -> Result<PathBuf, ConfineError> {
    root.canonicalize().map_err(|err| ConfineError::BadRoot(root.display().to_string(), err.to_string()))
}

/// Resolves `requested` (relative, e.g. "photos/2024") to a directory inside `root`.
pub fn resolve_dir(root: &Path, requested: &str) -> Result<PathBuf, ConfineError> {
    let requested = requested.trim();
    let relative = Path::new(if requested.is_empty() { "." } else { requested });
    if relative.is_absolute() || relative.has_root() {
        return Err(ConfineError::Absolute);
    }
    if relative.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(ConfineError::ParentDir);
    }
    let root = canonical_root(root)?;
    let joined = root.join(relative);
    let resolved = joined.canonicalize().map_err(|_| ConfineError::Missing(requested.to_string()))?;
    if !resolved.starts_with(&root) {
        return Err(ConfineError::Escapes(requested.to_string()));
    }
    if !resolved.is_dir() {
        return Err(ConfineError::NotADirectory(requested.to_string()));
    }
    Ok(resolved)
}

/// Whether a file met while walking is inside the (canonical) root after resolving links.
pub fn is_inside(canonical_root: &Path, path: &Path) -> bool {
    path.canonicalize().is_ok_and(|p| p.starts_with(canonical_root))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confines_requests_to_the_root() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("a/b")).unwrap();
        std::fs::write(root.path().join("a/file.txt"), "x").unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("a/out")).unwrap();
        std::os::unix::fs::symlink(root.path().join("a/b"), root.path().join("a/in")).unwrap();

        let canonical = root.path().canonicalize().unwrap();
        assert_eq!(resolve_dir(root.path(), "a/b").unwrap(), canonical.join("a/b"));
        assert_eq!(resolve_dir(root.path(), "").unwrap(), canonical);
        assert_eq!(resolve_dir(root.path(), "a/in").unwrap(), canonical.join("a/b"), "links inside are fine");
        assert_eq!(resolve_dir(root.path(), "/etc"), Err(ConfineError::Absolute));
        assert_eq!(resolve_dir(root.path(), "a/../.."), Err(ConfineError::ParentDir));
        assert_eq!(resolve_dir(root.path(), "a/out"), Err(ConfineError::Escapes("a/out".into())));
        assert_eq!(resolve_dir(root.path(), "nope"), Err(ConfineError::Missing("nope".into())));
        assert_eq!(resolve_dir(root.path(), "a/file.txt"), Err(ConfineError::NotADirectory("a/file.txt".into())));

        std::fs::write(outside.path().join("secret"), "s").unwrap();
        assert!(!is_inside(&canonical, &root.path().join("a/out/secret")));
        assert!(is_inside(&canonical, &root.path().join("a/file.txt")));
    }
}
