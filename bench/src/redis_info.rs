//! What Redis says about its own work, parsed: the `calls` of each command from
//! `INFO commandstats`, and the difference between two such readings. Redis counts a command
//! run inside a script (`redis.call`) under its own name as well as the script's `evalsha`, so
//! the delta holds everything the publish script does. The parsers are pure and tested here.

use std::collections::BTreeMap;

/// Calls per command name (`xadd`, `client|unblock`, ...), as `INFO commandstats` reports them.
pub type CommandCalls = BTreeMap<String, u64>;

/// The commands this tool sends itself to take its readings: left out of every delta.
pub const OWN_COMMANDS: &[&str] = &["info", "ping", "hello", "client|setinfo"];

/// Parses `INFO commandstats`: lines `cmdstat_<name>:calls=<n>,usec=...`; other lines (the
/// `# Commandstats` header, blank lines) are skipped. `None` if a `cmdstat_` line has no
/// readable `calls`.
pub fn parse_commandstats(info: &str) -> Option<CommandCalls> {
    let mut calls = CommandCalls::new();
    for line in info.lines().map(str::trim) {
        let Some(rest) = line.strip_prefix("cmdstat_") else { continue };
        let (name, fields) = rest.split_once(':')?;
        let count = fields.split(',').find_map(|field| field.strip_prefix("calls="))?.parse().ok()?;
        calls.insert(name.to_ascii_lowercase(), count);
    }
    Some(calls)
}

/// Calls made between two readings, per command, without [`OWN_COMMANDS`] and without
/// commands not called in between. Redis's counters only grow (unless `CONFIG RESETSTAT`):
/// a counter lower than before counts as 0.
pub fn delta(before: &CommandCalls, after: &CommandCalls) -> CommandCalls {
    after
        .iter()
        .filter(|(name, _)| !OWN_COMMANDS.contains(&name.as_str()))
        .map(|(name, calls)| (name.clone(), calls.saturating_sub(before.get(name).copied().unwrap_or(0))))
        .filter(|(_, calls)| *calls > 0)
        .collect()
}

/// Every call in a delta.
pub fn total(calls: &CommandCalls) -> u64 {
    calls.values().sum()
}

/// `name per-event` pairs, most called first (ties by name), e.g. `xadd 1.00, get 2.01`.
pub fn per_event(calls: &CommandCalls, events: u64) -> String {
    if events == 0 {
        return "n/a".into();
    }
    let mut named: Vec<(&String, &u64)> = calls.iter().collect();
    named.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    named
        .iter()
        .map(|(name, calls)| format!("{name} {:.2}", **calls as f64 / events as f64))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = "# Commandstats\r\n\
        cmdstat_info:calls=3,usec=90,usec_per_call=30.00,rejected_calls=0,failed_calls=0\r\n\
        cmdstat_get:calls=10,usec=20,usec_per_call=2.00,rejected_calls=0,failed_calls=0\r\n\
        cmdstat_client|id:calls=1,usec=1,usec_per_call=1.00,rejected_calls=0,failed_calls=0\r\n\
        \r\n";

    const AFTER: &str = "# Commandstats\r\n\
        cmdstat_info:calls=4,usec=120,usec_per_call=30.00,rejected_calls=0,failed_calls=0\r\n\
        cmdstat_get:calls=30,usec=60,usec_per_call=2.00,rejected_calls=0,failed_calls=0\r\n\
        cmdstat_evalsha:calls=10,usec=900,usec_per_call=90.00,rejected_calls=0,failed_calls=0\r\n\
        cmdstat_xadd:calls=10,usec=80,usec_per_call=8.00,rejected_calls=0,failed_calls=0\r\n\
        cmdstat_client|id:calls=1,usec=1,usec_per_call=1.00,rejected_calls=0,failed_calls=0\r\n\
        cmdstat_client|unblock:calls=2,usec=2,usec_per_call=1.00,rejected_calls=0,failed_calls=0\r\n";

    #[test]
    fn commandstats_lines_give_calls_per_command() {
        let calls = parse_commandstats(AFTER).unwrap();
        assert_eq!(calls.len(), 6);
        assert_eq!(calls["get"], 30);
        assert_eq!(calls["client|unblock"], 2);
        assert_eq!(parse_commandstats("# Commandstats\r\n").unwrap().len(), 0);
        // Upper case (as some versions print) is folded.
        assert_eq!(parse_commandstats("cmdstat_XADD:calls=7,usec=1").unwrap()["xadd"], 7);
        assert_eq!(parse_commandstats("cmdstat_get:usec=20"), None);
        assert_eq!(parse_commandstats("cmdstat_get:calls=x,usec=20"), None);
        assert_eq!(parse_commandstats("cmdstat_get"), None);
    }

    #[test]
    fn the_delta_leaves_out_our_own_readings_and_idle_commands() {
        let before = parse_commandstats(BEFORE).unwrap();
        let after = parse_commandstats(AFTER).unwrap();
        let calls = delta(&before, &after);
        let expected: CommandCalls =
            [("client|unblock", 2), ("evalsha", 10), ("get", 20), ("xadd", 10)].map(|(n, c)| (n.to_string(), c)).into();
        assert_eq!(calls, expected);
        assert_eq!(total(&calls), 42);
        // A counter that went down (statistics reset) counts nothing.
        assert!(delta(&after, &before).is_empty());
    }

    #[test]
    fn per_event_lists_the_most_called_first() {
        let calls = delta(&parse_commandstats(BEFORE).unwrap(), &parse_commandstats(AFTER).unwrap());
        assert_eq!(per_event(&calls, 10), "get 2.00, evalsha 1.00, xadd 1.00, client|unblock 0.20");
        assert_eq!(per_event(&calls, 0), "n/a");
    }
}
