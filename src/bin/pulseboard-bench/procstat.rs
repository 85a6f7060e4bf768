//! Reads a server process's resident memory and CPU time from `/proc/<pid>/status` and
//! `/proc/<pid>/stat`, and the kernel's TCP buffer memory from `/proc/net/sockstat` (Linux).
//! The parsers are pure and tested here.

use crate::error::BenchError;

/// Resident set size (VmRSS) in KiB.
pub fn rss_kib(pid: u32) -> Result<u64, BenchError> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).map_err(|e| BenchError::Proc(path.clone(), e.to_string()))?;
    parse_vm_rss(&text).ok_or_else(|| BenchError::Proc(path, "no VmRSS line".into()))
}

/// User plus system CPU time, in seconds.
pub fn cpu_seconds(pid: u32) -> Result<f64, BenchError> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).map_err(|e| BenchError::Proc(path.clone(), e.to_string()))?;
    let ticks = parse_cpu_ticks(&text).ok_or_else(|| BenchError::Proc(path, "unexpected format".into()))?;
    // SAFETY: sysconf only reads a system constant.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let per_second = if per_second > 0 { per_second as f64 } else { 100.0 };
    Ok(ticks as f64 / per_second)
}

/// Memory the kernel holds in TCP socket buffers, all sockets of the host (both ends of every
/// loopback connection), in KiB: where bytes a stalled client does not read wait, outside any
/// process's RSS.
pub fn tcp_buffers_kib() -> Result<u64, BenchError> {
    let path = "/proc/net/sockstat";
    let text = std::fs::read_to_string(path).map_err(|e| BenchError::Proc(path.into(), e.to_string()))?;
    let pages = parse_tcp_mem_pages(&text).ok_or_else(|| BenchError::Proc(path.into(), "no TCP mem figure".into()))?;
    // SAFETY: sysconf only reads a system constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let page = if page > 0 { page as u64 } else { 4096 };
    Ok(pages * page / 1024)
}

/// The `mem` figure (pages) of the `TCP:` line of `/proc/net/sockstat`.
pub fn parse_tcp_mem_pages(sockstat: &str) -> Option<u64> {
    let line = sockstat.lines().find(|l| l.starts_with("TCP:"))?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    let at = fields.iter().position(|f| *f == "mem")?;
    fields.get(at + 1)?.parse().ok()
}

pub fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut parts = line["VmRSS:".len()..].split_whitespace();
    let value: u64 = parts.next()?.parse().ok()?;
    match parts.next() {
        Some("kB") | None => Some(value),
        _ => None,
    }
}

/// utime + stime, in clock ticks. The command name (field 2) may hold spaces and parentheses,
/// so fields are counted after its closing parenthesis: there, utime is the 12th and stime the 13th.
pub fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_rss_line() {
        let status = "Name:\tpulseboard\nVmPeak:\t  9000 kB\nVmRSS:\t   12345 kB\nThreads:\t3\n";
        assert_eq!(parse_vm_rss(status), Some(12345));
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);
        assert_eq!(parse_vm_rss("VmRSS:\tlots kB\n"), None);
    }

    #[test]
    fn cpu_ticks_after_a_tricky_command_name() {
        let stat =
            "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 500 0 0 0 170 30 0 0 20 0 3 0 100 1000 200";
        assert_eq!(parse_cpu_ticks(stat), Some(200));
        assert_eq!(parse_cpu_ticks("4242 (x) S 1"), None);
        assert_eq!(parse_cpu_ticks("garbage"), None);
    }

    #[test]
    fn tcp_buffer_pages_from_sockstat() {
        let sockstat = "sockets: used 18\nTCP: inuse 5 orphan 0 tw 1 alloc 5 mem 317\nUDP: inuse 0 mem 9\n";
        assert_eq!(parse_tcp_mem_pages(sockstat), Some(317));
        assert_eq!(parse_tcp_mem_pages("UDP: inuse 0 mem 9\n"), None);
        assert_eq!(parse_tcp_mem_pages("TCP: inuse 5 mem\n"), None);
        assert!(tcp_buffers_kib().is_ok());
    }

    #[test]
    fn this_process_can_be_read() {
        let pid = std::process::id();
        assert!(rss_kib(pid).unwrap() > 0);
        assert!(cpu_seconds(pid).unwrap() >= 0.0);
    }
}
