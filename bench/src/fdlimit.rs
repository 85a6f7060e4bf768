//! Raises this process's soft file-descriptor limit to its hard limit (children inherit it),
//! and checks that a run fits.

use crate::error::BenchError;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the new soft limit.
pub fn raise() -> Result<u64, BenchError> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit write to / read from a valid, owned rlimit struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return Err(BenchError::FdLimit(std::io::Error::last_os_error().to_string()));
        }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(BenchError::FdLimit(std::io::Error::last_os_error().to_string()));
            }
        }
    }
    #[allow(clippy::unnecessary_cast)] // rlim_t is u64 on 64-bit Linux, not on every target.
    Ok(limit.rlim_cur as u64)
}

/// Descriptors a run with `subscribers` needs beyond the subscriber sockets themselves.
pub const HEADROOM: u64 = 256;

pub fn check(subscribers: usize, soft_limit: u64) -> Result<(), BenchError> {
    let needed = subscribers as u64 + HEADROOM;
    if needed > soft_limit {
        return Err(BenchError::TooManySubscribers { subscribers, limit: soft_limit, headroom: HEADROOM });
    }
    Ok(())
}
