//! Counted permits per key and in total: the concurrency limits (open streams per client IP,
//! jobs per session).
//!
//! Hand-written because it is a counter under a short lock: the well-kept semaphores (tokio's)
//! count one pool, not one per key plus a total. Invariants: a [`Permit`] is the only way to hold
//! a place, its `Drop` gives it back (so no exit path can leak one), and a key whose count falls
//! to zero is forgotten, so the map holds only keys that hold permits.

use parking_lot::Mutex;
use std::{collections::HashMap, hash::Hash, sync::Arc};

/// Which of the two limits refused a permit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The key already holds this many.
    PerKey(usize),
    /// All keys together hold this many.
    Total(usize),
}

struct Counts<K> {
    total: usize,
    by_key: HashMap<K, usize>,
}

struct Shared<K> {
    per_key: usize,
    total: usize,
    counts: Mutex<Counts<K>>,
}

/// At most `per_key` permits held for one key and `total` over all keys. Cheap to clone.
pub struct KeyedPermits<K> {
    shared: Arc<Shared<K>>,
}

impl<K> Clone for KeyedPermits<K> {
    fn clone(&self) -> Self {
        Self { shared: self.shared.clone() }
    }
}

impl<K: Hash + Eq + Clone> KeyedPermits<K> {
    pub fn new(per_key: usize, total: usize) -> Self {
        let counts = Mutex::new(Counts { total: 0, by_key: HashMap::new() });
        Self { shared: Arc::new(Shared { per_key, total, counts }) }
    }

    /// A permit for `key`, or which limit is reached.
    pub fn try_acquire(&self, key: K) -> Result<Permit<K>, Refusal> {
        let shared = &self.shared;
        let mut counts = shared.counts.lock();
        let held = counts.by_key.get(&key).copied().unwrap_or(0);
        if held >= shared.per_key {
            return Err(Refusal::PerKey(shared.per_key));
        }
        if counts.total >= shared.total {
            return Err(Refusal::Total(shared.total));
        }
        counts.total += 1;
        counts.by_key.insert(key.clone(), held + 1);
        drop(counts);
        Ok(Permit { shared: self.shared.clone(), key })
    }

    /// Permits held for `key` and in total (for tests and monitoring).
    pub fn held(&self, key: &K) -> (usize, usize) {
        let counts = self.shared.counts.lock();
        (counts.by_key.get(key).copied().unwrap_or(0), counts.total)
    }
}

/// One place under a [`KeyedPermits`]; given back when dropped.
pub struct Permit<K: Hash + Eq> {
    shared: Arc<Shared<K>>,
    key: K,
}

impl<K: Hash + Eq> Drop for Permit<K> {
    fn drop(&mut self) {
        let mut counts = self.shared.counts.lock();
        counts.total -= 1;
        if let Some(held) = counts.by_key.get_mut(&self.key) {
            *held -= 1;
            if *held == 0 {
                counts.by_key.remove(&self.key);
            }
        }
    }
}

impl<K: Hash + Eq> std::fmt::Debug for Permit<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Permit").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_key_and_in_total_and_dropping_gives_back() {
        let permits = KeyedPermits::new(2, 3);
        let a1 = permits.try_acquire("a").unwrap();
        let a2 = permits.try_acquire("a").unwrap();
        assert_eq!(permits.try_acquire("a").unwrap_err(), Refusal::PerKey(2));
        let b1 = permits.try_acquire("b").unwrap();
        assert_eq!(permits.try_acquire("c").unwrap_err(), Refusal::Total(3));
        assert_eq!(permits.held(&"a"), (2, 3));
        drop(a1);
        assert_eq!(permits.held(&"a"), (1, 2));
        let c1 = permits.try_acquire("c").unwrap();
        drop((a2, b1, c1));
        assert_eq!(permits.held(&"a"), (0, 0));
        // Keys holding nothing are forgotten.
        assert!(permits.shared.counts.lock().by_key.is_empty());
    }

    #[test]
    fn concurrent_acquires_never_exceed_the_total() {
        let permits = KeyedPermits::new(usize::MAX, 10);
        let held: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|t| {
                    scope.spawn({
                        let p = permits.clone();
                        move || (0..100).filter_map(|i| p.try_acquire(t * 1000 + i).ok()).collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(held.len(), 10);
        assert_eq!(permits.held(&0).1, 10);
    }
}
