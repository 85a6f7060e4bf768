//! The two Lua scripts the hub runs in Redis, and what they return.
//!
//! Why scripts: a script runs atomically, which gives the hub its two promises cheaply.
//! - **One order across topics.** Publish takes the Redis clock and the cluster-wide last id and
//!   makes the next id `max(now, last) ` (sequence + 1 within a millisecond), so the ids of all
//!   topics form one order, as the in-process hub's sequence does: one `Last-Event-ID` then says
//!   exactly which events of every topic a client has seen. Plain `XADD *` ids are only ordered
//!   per key (two topics may both get `5-0`), which would make a multi-topic resume ambiguous.
//! - **A resume decided on one view.** The resume script reads the last id, the first id of the
//!   data set, and per topic what was deleted and what followed the client's id, all at one
//!   instant, so trimming in between cannot open a gap.
//!
//! History is trimmed exactly (`MAXLEN n`, `MINID`), not approximately (`~`): one event is
//! evicted per publish at most, which costs little, and the documented bounds stay the bounds a
//! resume is judged by. Publish costs Redis 7 calls (the script, `TIME`, `MGET` of the two last
//! ids, `XADD` with its count bound, `XTRIM MINID`, `PEXPIRE`, `MSET` of both last ids), 8 for a
//! data set's first event (`since`), whatever the number of subscribers (BENCHMARKS.md, "Redis"). A topic's stream key expires after `history-secs` without a publish (all
//! its events would be older than the age bound anyway); a small key per topic keeps its last id.
//!
//! How a gap is seen: Redis does not record what trimming removed, so each entry carries `p`,
//! the id of the topic's event before it. For a client's id `c`, the first entry after `c` with
//! `p > c` means the event `p` is gone: a gap. No entry after `c`, but a topic last id above `c`:
//! those events are gone too (the key expired).

use redis::Script;

/// KEYS: topic stream, last id, since, topic's last id. ARGV: max events, max age (ms), event
/// type, data. Returns the new id.
pub(super) fn publish() -> Script {
    Script::new(
        r"
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local seq = 0
local got = redis.call('MGET', KEYS[2], KEYS[4])
local last = got[1]
if last then
  local lms, lseq = string.match(last, '^(%d+)-(%d+)$')
  lms = tonumber(lms)
  if ms <= lms then
    ms = lms
    seq = tonumber(lseq) + 1
    if seq > 2097151 then
      ms = ms + 1
      seq = 0
    end
  end
end
local id = string.format('%.0f-%.0f', ms, seq)
local prev = got[2] or '0-0'
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], id, 't', ARGV[3], 'd', ARGV[4], 'p', prev)
redis.call('XTRIM', KEYS[1], 'MINID', string.format('%.0f', ms - tonumber(ARGV[2])))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('MSET', KEYS[4], id, KEYS[2], id)
if not last then
  redis.call('SET', KEYS[3], id, 'NX')
end
return id
",
    )
}

/// KEYS: last id, since, then per topic its stream and its last id. ARGV: the client's id, then
/// per topic the newest id to return. Returns `{last, since, {{prev, topic_last, entries}, ...}}`:
/// `prev` is the `p` of the first entry after the client's id ('' if none), `topic_last` the
/// topic's last id ('' if it never had one), `entries` those after the client's id up to the
/// bound.
pub(super) fn resume() -> Script {
    Script::new(
        r"
local after = '(' .. ARGV[1]
local topics = {}
for i = 3, #KEYS, 2 do
  local first = redis.call('XRANGE', KEYS[i], after, '+', 'COUNT', 1)
  local prev = ''
  if first[1] then
    local fields = first[1][2]
    for j = 1, #fields, 2 do
      if fields[j] == 'p' then prev = fields[j + 1] end
    end
  end
  local entries = redis.call('XRANGE', KEYS[i], after, ARGV[(i - 1) / 2 + 1])
  topics[#topics + 1] = {prev, redis.call('GET', KEYS[i + 1]) or '', entries}
end
return {redis.call('GET', KEYS[1]) or '', redis.call('GET', KEYS[2]) or '', topics}
",
    )
}

/// One stream entry as Redis returns it: id, then field-value pairs.
pub(super) type RawEntry = (String, Vec<String>);

/// What [`resume`] returns.
pub(super) type ResumeReply = (String, String, Vec<(String, String, Vec<RawEntry>)>);

/// The event type and data of an entry's fields (`t`, `d`).
pub(super) fn fields(pairs: &[String]) -> (Option<&str>, &str) {
    let mut event_type = None;
    let mut data = "";
    for [field, value] in pairs.as_chunks::<2>().0 {
        match field.as_str() {
            "t" => event_type = Some(value.as_str()),
            "d" => data = value.as_str(),
            _ => {}
        }
    }
    (event_type, data)
}
