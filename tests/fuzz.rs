//! Runs every fuzz target (`fuzz/targets.rs`) in `cargo test`, on stable: inputs are random
//! bytes and mutations of seeds that look like what each parser is meant for (so they get past
//! the first check), `PULSEBOARD_FUZZ_CASES` of each per target (default 4000). The same
//! targets run coverage-guided under `cargo fuzz` (see README, "Fuzzing").

#[path = "../fuzz/targets.rs"]
mod targets;

use proptest::{prelude::*, test_runner::TestRunner};

/// Inputs a parser is meant for, as fields (joined with the 0xFF separator the targets split
/// at): the mutations of these reach deeper branches than random bytes do.
fn seeds(target: &str) -> Vec<Vec<u8>> {
    let seeds: &[&[&str]] = match target {
        "sse_encoding" => {
            &[&["\u{1}\u{2}\u{3}\u{4}xy", "job", "line one\r\nline two\rthree\n", "7"], &["", "", "data: x", ""]]
        }
        "event_id" => &[&["0000002a-17"], &["ffffffff-18446744073709551615"], &["1234abcd-0"]],
        "names" => &[&["jobs.shared"], &["private.jobs.ab12"], &["market.quote.ACME"], &["job:42"], &["reset"]],
        "request_head" => &[
            &["GET /api/events?topic=demo HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 0000002a-1\r\n\r\n"],
            &["GET /api/streams/quotes?symbols=ACME HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"],
            &["POST /api/publish?topic=demo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"],
        ],
        "tick" => &[&[r#"{"symbol":"ACME","price":101.5,"volume":300,"timestamp":1767225600000}"#]],
        "job_params" => {
            &[&["primes", r#"{"limit": 1000}"#, "photos/2024"], &["checksum", r#"{"dir": "photos"}"#, "../etc"]]
        }
        _ => &[],
    };
    seeds.iter().map(|fields| fields.iter().map(|f| f.as_bytes()).collect::<Vec<_>>().join(&0xFF)).collect()
}

/// A seed with a few bytes replaced, inserted or removed, or plain random bytes.
fn inputs(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let edits = prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 0..8);
    let mutated = (prop::sample::select(seeds), edits).prop_map(|(mut bytes, edits)| {
        for (at, byte, op) in edits {
            let at = at.index(bytes.len() + 1);
            match op {
                0 if at < bytes.len() => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                _ if at < bytes.len() => {
                    bytes.remove(at);
                }
                _ => bytes.push(byte),
            }
        }
        bytes
    });
    prop_oneof![1 => prop::collection::vec(any::<u8>(), 0..256), 3 => mutated]
}

#[test]
fn every_fuzz_target_holds_over_generated_inputs() {
    let cases: u32 = std::env::var("PULSEBOARD_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(4000);
    for (name, target) in targets::ALL {
        let config = ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() };
        let mut runner = TestRunner::new(config);
        let result = runner.run(&inputs(seeds(name)), |input| {
            target(&input);
            Ok(())
        });
        if let Err(err) = result {
            panic!("fuzz target {name} failed: {err}");
        }
        println!("fuzz target {name}: {cases} cases passed");
    }
}
