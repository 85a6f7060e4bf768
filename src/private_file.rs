//! Files only this server's user may read: the session key and the generated token secret
//! (server only). Created once, never overwritten: `create_new` fails if the file exists, so
//! two servers starting on one data directory cannot both write a key.

use std::{io, path::Path};

/// Writes `bytes` to a new file at `path`, mode 0600 on Unix.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(path)?.write_all(bytes)
}
