//! The Lua scripts of the Redis job store: every change of a job's state is one of them, so it is
//! decided and applied at one instant, whichever instance sends it.
//!
//! A job is a hash (`pulseboard:job:<id>`): `view` (the JSON the runner last saved), `state` (the
//! truth: scripts change it without rewriting the JSON, and reads apply it over the view),
//! `owner`, `params`, `token`, `worker` (the consumer running it, '' if none), `entry` (its queue
//! entry once taken), `announced` ('1' once its queued event is out), `counted` ('1' while it
//! holds a place under the cluster's job limits), and for an external job `reported` (ms of its
//! producer's last report, once it has reported).
//!
//! Invariants: a terminal state is final (no script changes it); a job taken by a worker is
//! saved only by that worker; leaving a live state gives its place under the limits back and
//! removes its queue entry (`XACK` + `XDEL`), exactly once (`settle`).
//!
//! Common KEYS of the transition scripts: 1 the job hash, 2 the limits hash, 3 the queue stream;
//! ARGV[1] the consumer group. Running external jobs are also in a sorted set scored by when their
//! producer last reported (ms), which the silence watch reads.

use redis::Script;

/// Lua shared by the transition scripts: is a state live, and give back what a live job held.
const SETTLE: &str = r"
local function live(state) return state == 'queued' or state == 'running' end
local function settle()
  if redis.call('HGET', KEYS[1], 'counted') == '1' then
    local owner = redis.call('HGET', KEYS[1], 'owner')
    redis.call('HINCRBY', KEYS[2], 'owner:' .. owner, -1)
    redis.call('HINCRBY', KEYS[2], 'total', -1)
    redis.call('HSET', KEYS[1], 'counted', '0')
  end
  local entry = redis.call('HGET', KEYS[1], 'entry')
  if entry and entry ~= '' then
    redis.call('XACK', KEYS[3], ARGV[1], entry)
    redis.call('XDEL', KEYS[3], entry)
  end
end
";

fn with_settle(body: &str) -> Script {
    Script::new(&format!("{SETTLE}\n{body}"))
}

/// A new job. KEYS: job, limits, queue, the index it is listed in, the running external jobs.
/// ARGV: group, id, view, state, owner, params, token, counted ('1': check and take a place under
/// the limits), per-session limit, total limit, enqueue ('1': add it to the queue), now (ms).
/// Returns `{0, 0}`, or `{-1, n}` / `{-2, n}` when the session's / the cluster's limit of n is
/// reached (nothing written). An external job (one with a token) created running joins the
/// running external jobs, scored by its creation (its silence counts from then); `reported`
/// stays unset until its first report, so its rate starts between two reports, as in memory.
pub(super) fn insert() -> Script {
    Script::new(
        r"
if ARGV[8] == '1' then
  local mine = tonumber(redis.call('HGET', KEYS[2], 'owner:' .. ARGV[5]) or '0')
  if mine >= tonumber(ARGV[9]) then return {-1, mine} end
  local all = tonumber(redis.call('HGET', KEYS[2], 'total') or '0')
  if all >= tonumber(ARGV[10]) then return {-2, all} end
  redis.call('HINCRBY', KEYS[2], 'owner:' .. ARGV[5], 1)
  redis.call('HINCRBY', KEYS[2], 'total', 1)
end
redis.call('HSET', KEYS[1], 'view', ARGV[3], 'state', ARGV[4], 'owner', ARGV[5], 'params', ARGV[6],
  'token', ARGV[7], 'counted', ARGV[8], 'worker', '', 'entry', '', 'announced', '0')
redis.call('ZADD', KEYS[4], tonumber(ARGV[2]), ARGV[2])
if ARGV[11] == '1' then
  redis.call('XADD', KEYS[3], '*', 'job', ARGV[2])
end
if ARGV[7] ~= '' and ARGV[4] == 'running' then
  redis.call('ZADD', KEYS[5], tonumber(ARGV[12]), ARGV[2])
end
return {0, 0}
",
    )
}

/// The runner saves a job. KEYS 4: the running external jobs. ARGV: group, state, view, this
/// instance's consumer, now (ms), the job's id. Returns 1, or 0 when the record is final or another
/// worker's (nothing written). An external job's save is its producer's report: it records when
/// (`reported`, and its score among the running external jobs, which it leaves when it ends).
pub(super) fn save() -> Script {
    with_settle(
        r"
local state = redis.call('HGET', KEYS[1], 'state')
if not state or not live(state) then return 0 end
local worker = redis.call('HGET', KEYS[1], 'worker')
if worker and worker ~= '' and worker ~= ARGV[4] then return 0 end
redis.call('HSET', KEYS[1], 'view', ARGV[3], 'state', ARGV[2])
if not live(ARGV[2]) then settle() end
local token = redis.call('HGET', KEYS[1], 'token')
if token and token ~= '' then
  redis.call('HSET', KEYS[1], 'reported', ARGV[5])
  if live(ARGV[2]) then
    redis.call('ZADD', KEYS[4], tonumber(ARGV[5]), ARGV[6])
  else
    redis.call('ZREM', KEYS[4], ARGV[6])
  end
end
return 1
",
    )
}

/// A worker takes a queued job. KEYS: job. ARGV: consumer, queue entry. Returns 1 (taken, now
/// running and this worker's), 0 (not queued any more: skip it) or 2 (its queued event is not out
/// yet: try again in a moment, so pages see queued before running).
pub(super) fn take() -> Script {
    Script::new(
        r"
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'queued' then return 0 end
if redis.call('HGET', KEYS[1], 'announced') ~= '1' and ARGV[3] ~= '1' then return 2 end
redis.call('HSET', KEYS[1], 'state', 'running', 'worker', ARGV[1], 'entry', ARGV[2])
return 1
",
    )
}

/// Cancel from any instance. ARGV: group, the cancelled view, the prefix of cancel lists, the
/// job id. A queued job becomes cancelled (`{'applied'}`); a running one's worker is told on
/// its cancel list (`{'notified'}`); otherwise the state it has (`{state}`, '' if none).
pub(super) fn cancel() -> Script {
    with_settle(
        r"
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'queued' then
  redis.call('HSET', KEYS[1], 'view', ARGV[2], 'state', 'cancelled')
  settle()
  return {'applied'}
end
if state == 'running' then
  local worker = redis.call('HGET', KEYS[1], 'worker')
  if worker and worker ~= '' then
    local list = ARGV[3] .. worker
    redis.call('RPUSH', list, ARGV[4])
    redis.call('PEXPIRE', list, 86400000)
    return {'notified'}
  end
  return {'running'}
end
return {state or ''}
",
    )
}

/// A job whose worker stopped answering becomes interrupted. ARGV: group, the interrupted view,
/// the queue entry that was claimed. Returns 1 if it changed (its event is to be published).
pub(super) fn interrupt() -> Script {
    with_settle(
        r"
local state = redis.call('HGET', KEYS[1], 'state')
local changed = 0
if state and live(state) then
  redis.call('HSET', KEYS[1], 'view', ARGV[2], 'state', 'interrupted')
  settle()
  changed = 1
end
redis.call('XACK', KEYS[3], ARGV[1], ARGV[3])
redis.call('XDEL', KEYS[3], ARGV[3])
return changed
",
    )
}

/// An external job whose producer went silent fails. KEYS 4: the running external jobs. ARGV:
/// group, the job's id, the cutoff (ms: it last reported at or before it), the failed view.
/// Returns 1 if it failed now (its event is to be published); 0 if it reported since, or had
/// ended (then it also leaves the running external jobs).
pub(super) fn silence() -> Script {
    with_settle(
        r"
local state = redis.call('HGET', KEYS[1], 'state')
if not state or not live(state) then
  redis.call('ZREM', KEYS[4], ARGV[2])
  return 0
end
local reported = redis.call('ZSCORE', KEYS[4], ARGV[2])
if not reported or tonumber(reported) > tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], 'view', ARGV[4], 'state', 'failed')
settle()
redis.call('ZREM', KEYS[4], ARGV[2])
return 1
",
    )
}

/// The running instance keeps its claims fresh. KEYS: queue. ARGV: group, consumer, then the
/// entries it runs. Resets the idle time of those still its own; returns those that are not
/// (claimed by another instance meanwhile: the job is no longer this instance's).
pub(super) fn refresh() -> Script {
    Script::new(
        r"
local lost = {}
for i = 3, #ARGV do
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1, ARGV[2])
  if pending[1] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
  else
    lost[#lost + 1] = ARGV[i]
  end
end
return lost
",
    )
}

/// A job's hash and its log tail at one instant. KEYS: job hash, log list. ARGV: lines.
pub(super) fn detail() -> Script {
    Script::new(
        r"
return {redis.call('HGETALL', KEYS[1]), redis.call('LRANGE', KEYS[2], -tonumber(ARGV[1]), -1)}
",
    )
}

/// The jobs a session sees, newest first. KEYS: its own index, the shared index. ARGV: limit,
/// the job key prefix. Returns the hashes (as field lists).
pub(super) fn list() -> Script {
    Script::new(
        r"
local limit = tonumber(ARGV[1])
local ids = {}
for _, key in ipairs(KEYS) do
  for _, id in ipairs(redis.call('ZREVRANGE', key, 0, limit - 1)) do ids[#ids + 1] = tonumber(id) end
end
table.sort(ids, function(a, b) return a > b end)
local out = {}
for i = 1, math.min(limit, #ids) do
  out[#out + 1] = redis.call('HGETALL', ARGV[2] .. string.format('%d', ids[i]))
end
return out
",
    )
}
