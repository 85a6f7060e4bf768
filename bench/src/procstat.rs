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
    use std::{
        io::Write,
        time::{Duration, Instant},
    };

    #[test]
    fn vm_rss_line() {
        let status = "Name:\tpulseboard\nVmPeak:\t  9000 kB\nVmRSS:\t   12345 kB\nThreads:\t3\n";
        assert_eq!(parse_vm_rss(status), Some(12345));
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);
        assert_eq!(parse_vm_rss("VmRSS:\tlots kB\n"), None);
    }

    #[test]
    fn cpu_ticks_after_a_tricky_command_name() {
        let stat = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 500 0 0 0 170 30 0 0 20 0 3 0 100 1000 200";
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
    }

    /// CPU time this thread has used, from the kernel's own per-thread clock (not /proc).
    fn thread_cpu() -> Duration {
        let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: clock_gettime writes to a valid, owned timespec.
        assert_eq!(unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) }, 0);
        Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
    }

    #[test]
    fn cpu_seconds_grow_by_the_cpu_this_process_burns() {
        let pid = std::process::id();
        let wall = Instant::now();
        let before = cpu_seconds(pid).unwrap();
        // Burn 300 ms of this thread's CPU (however long the shared machine takes to give it).
        let start = thread_cpu();
        let mut spin = 0u64;
        while thread_cpu() - start < Duration::from_millis(300) {
            spin = std::hint::black_box(spin.wrapping_add(1));
        }
        let grown = cpu_seconds(pid).unwrap() - before;
        // Clock ticks are 10 ms: allow a few. Other tests run beside this one, so the process may
        // have burnt more, but never more than every CPU for the whole time.
        let most = wall.elapsed().as_secs_f64() * std::thread::available_parallelism().unwrap().get() as f64;
        assert!(grown >= 0.25, "300 ms of CPU burnt, {grown} s counted");
        assert!(grown <= most + 0.05, "{grown} s of CPU counted in {most} CPU-seconds");
    }

    #[test]
    fn rss_counts_memory_this_process_touches() {
        let pid = std::process::id();
        let before = rss_kib(pid).unwrap();
        let mut block = vec![0u8; 64 << 20];
        for page in block.chunks_mut(4096) {
            page[0] = 1;
        }
        let held = rss_kib(std::hint::black_box(pid)).unwrap();
        std::hint::black_box(&block);
        // 64 MiB touched; other tests may free a little meanwhile.
        assert!(held >= before + 48 * 1024, "RSS {before} KiB, then {held} KiB with 64 MiB touched");
    }

    #[test]
    fn tcp_buffers_count_bytes_no_one_reads() {
        // The kernel counts whole pages and may hold back up to 1 MiB per CPU of what it has
        // allocated before adding it to this host-wide figure: queue far more than that.
        let slack_kib = 1024 * std::thread::available_parallelism().unwrap().get() as u64;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let before = tcp_buffers_kib().unwrap();
        let chunk = vec![7u8; 64 * 1024];
        let (mut pairs, mut queued) = (Vec::new(), 0usize);
        // Fill the sender's and the receiver's socket buffers of connections nobody reads.
        while (queued / 1024) as u64 <= 4 * slack_kib && pairs.len() < 64 {
            let mut sender = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let (receiver, _) = listener.accept().unwrap();
            sender.set_nonblocking(true).unwrap();
            loop {
                match sender.write(&chunk) {
                    Ok(n) => queued += n,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) => panic!("writing: {e}"),
                }
            }
            pairs.push((sender, receiver));
        }
        let after = tcp_buffers_kib().unwrap();
        let queued_kib = (queued / 1024) as u64;
        assert!(queued_kib > 4 * slack_kib, "only {queued_kib} KiB queued");
        assert!(
            after + slack_kib >= before + queued_kib,
            "{before} KiB, then {after} KiB with {queued_kib} KiB queued"
        );
        // Pages, not KiB, would read a quarter of that (and bytes far more than the host has).
        assert!(after < before + 4 * queued_kib + slack_kib, "{before} KiB, then {after} KiB");
    }
}
