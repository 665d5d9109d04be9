//! Blocking commands (BLPOP, BLMOVE, BZPOPMIN, XREAD BLOCK...): clients waiting for keys.
//!
//! A command that finds nothing to serve registers a [`Waiter`] in the FIFO queue of each key
//! it waits on; the queues live in the keys' shards, so registration happens under the same
//! shard locks as the command's check, and no push can slip between "found nothing" and
//! "waiting".
//!
//! Any write to a key with waiters marks the key ready (`Keys::changed`). After the writing
//! command (or transaction) has finished, and before its shard locks are released, the
//! dispatcher serves ready keys: waiters are taken first come, first served, and each one's
//! [`ServeFn`] runs the blocked command's operation on its behalf and writes the reply into its
//! [`Slot`]. That is Valkey's guarantee: the blocked pop happens as if right after the pushing
//! command, before any other client can see or take the pushed elements.
//!
//! The blocked connection waits on its slot (served, timed out, unblocked, or killed) and then
//! removes its leftover registrations from the other keys' queues.

use crate::commands::Error;
use crate::db::Keys;
use parking_lot::Mutex;
use resp::Reply;
use std::sync::Arc;

/// What the blocked client gets in the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotState {
    Waiting,
    /// Served by a writer: the complete reply, encoded for this client's protocol.
    Served(Vec<u8>),
    /// CLIENT UNBLOCK <id> TIMEOUT, or the timeout passed.
    TimedOut,
    /// CLIENT UNBLOCK <id> ERROR.
    UnblockedWithError,
}

/// The meeting point of a blocked client and whoever serves it.
pub struct Slot {
    state: Mutex<SlotState>,
    waker: Mutex<Option<Box<dyn Fn() + Send + Sync>>>,
}

impl Slot {
    pub fn new() -> Arc<Slot> {
        Arc::new(Slot { state: Mutex::new(SlotState::Waiting), waker: Mutex::new(None) })
    }

    /// Sets the function that wakes the blocked connection.
    pub fn set_waker(&self, wake: Box<dyn Fn() + Send + Sync>) {
        *self.waker.lock() = Some(wake);
    }

    pub fn is_waiting(&self) -> bool {
        *self.state.lock() == SlotState::Waiting
    }

    /// Moves from Waiting to `to`; false if something else got there first.
    pub fn finish(&self, to: SlotState) -> bool {
        {
            let mut s = self.state.lock();
            if *s != SlotState::Waiting {
                return false;
            }
            *s = to;
        }
        if let Some(w) = self.waker.lock().as_ref() {
            w();
        }
        true
    }

    /// The final state (Waiting if not finished yet).
    pub fn state(&self) -> SlotState {
        self.state.lock().clone()
    }
}

/// The result of trying to serve a waiter with a ready key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// The reply was written; the waiter is done.
    Yes,
    /// Nothing to serve now (the key is empty again, or holds another type): keep waiting.
    NotYet,
    /// Serving needs a shard the writer does not hold (BLMOVE to a key elsewhere): try again
    /// after the writer's locks are released, with the right locks.
    Retry,
}

/// Runs a blocked command's operation for `waiter` on the ready `key`, writing the reply into
/// `out` (already in the waiter's protocol). The shard of `key` is locked.
pub type ServeFn = fn(&mut Keys<'_>, &Waiter, &[u8], &mut Reply) -> Result<Served, Error>;

/// Writes the reply for a timeout (null, null array... depending on the command).
pub type TimeoutReplyFn = fn(&mut Reply);

/// A blocked client, as registered in each key's queue.
pub struct Waiter {
    pub client_id: u64,
    pub db: usize,
    /// The keys waited on, in command order.
    pub keys: Vec<Vec<u8>>,
    pub resp3: bool,
    /// The blocked command's arguments (what `serve` needs to redo its work).
    pub argv: Vec<Vec<u8>>,
    pub serve: ServeFn,
    pub timeout_reply: TimeoutReplyFn,
    pub slot: Arc<Slot>,
}

/// What a command that decided to block hands to the dispatcher.
pub struct BlockRequest {
    pub waiter: Arc<Waiter>,
    /// Absolute deadline in ms since the epoch; None waits forever.
    pub deadline_ms: Option<u64>,
}

/// Per-shard queues of waiters, by key.
#[derive(Default)]
pub struct WaitQueues {
    queues: std::collections::HashMap<Vec<u8>, std::collections::VecDeque<Arc<Waiter>>>,
}

impl WaitQueues {
    pub fn is_empty(&self) -> bool {
        self.queues.is_empty()
    }

    pub fn has(&self, key: &[u8]) -> bool {
        !self.queues.is_empty() && self.queues.contains_key(key)
    }

    pub fn push(&mut self, key: &[u8], w: Arc<Waiter>) {
        self.queues.entry(key.to_vec()).or_default().push_back(w);
    }

    /// The first waiter on `key` that is still waiting (finished ones are dropped on the way).
    pub fn front(&mut self, key: &[u8]) -> Option<Arc<Waiter>> {
        let q = self.queues.get_mut(key)?;
        while let Some(w) = q.front() {
            if w.slot.is_waiting() {
                return Some(w.clone());
            }
            q.pop_front();
        }
        self.queues.remove(key);
        None
    }

    /// The waiters on `key` still waiting, in order (finished ones are dropped on the way).
    pub fn waiting(&mut self, key: &[u8]) -> Vec<Arc<Waiter>> {
        let Some(q) = self.queues.get_mut(key) else { return Vec::new() };
        q.retain(|w| w.slot.is_waiting());
        if q.is_empty() {
            self.queues.remove(key);
            return Vec::new();
        }
        q.iter().cloned().collect()
    }

    /// Removes `w` from `key`'s queue.
    pub fn remove(&mut self, key: &[u8], w: &Arc<Waiter>) {
        if let Some(q) = self.queues.get_mut(key) {
            q.retain(|x| !Arc::ptr_eq(x, w));
            if q.is_empty() {
                self.queues.remove(key);
            }
        }
    }

    /// (keys with a waiting client, those of them with a client that is woken when the key
    /// goes away: XREADGROUP, Valkey's "unblock on no key").
    pub fn counts(&self) -> (usize, usize) {
        let (mut keys, mut nokey) = (0, 0);
        for q in self.queues.values() {
            let waiting = || q.iter().filter(|w| w.slot.is_waiting());
            if waiting().next().is_some() {
                keys += 1;
            }
            if waiting().any(|w| w.argv.first().is_some_and(|a| a.eq_ignore_ascii_case(b"xreadgroup"))) {
                nokey += 1;
            }
        }
        (keys, nokey)
    }

    /// Keys with waiters (SWAPDB, FLUSHALL wake-ups).
    pub fn keys(&self) -> Vec<Vec<u8>> {
        self.queues.keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiter(slot: Arc<Slot>) -> Arc<Waiter> {
        fn serve(_: &mut Keys<'_>, _: &Waiter, _: &[u8], _: &mut Reply) -> Result<Served, Error> {
            Ok(Served::NotYet)
        }
        Arc::new(Waiter {
            client_id: 1,
            db: 0,
            keys: vec![b"k".to_vec()],
            resp3: false,
            argv: vec![],
            serve,
            timeout_reply: |out| out.null_array(),
            slot,
        })
    }

    /// A write to a key with waiters serves them in order, inside the writer's command.
    #[test]
    fn writers_serve_waiters_first_come_first_served() {
        use crate::engine::Engine;
        use crate::exec::tests::{client, run};
        use crate::keyspace::{hash_key, shard_of};
        fn serve_once(keys: &mut Keys<'_>, w: &Waiter, key: &[u8], out: &mut Reply) -> Result<Served, Error> {
            // Serve by deleting the key: the next waiter then finds nothing.
            if keys.write(key)?.is_none() {
                return Ok(Served::NotYet);
            }
            keys.delete(key)?;
            out.bulk(format!("served {}", w.client_id).as_bytes());
            Ok(Served::Yes)
        }
        let e = Engine::for_tests();
        let mut c = client(&e);
        let slots: Vec<Arc<Slot>> = (0..3).map(|_| Slot::new()).collect();
        for (i, slot) in slots.iter().enumerate() {
            let w = Arc::new(Waiter {
                client_id: i as u64,
                db: 0,
                keys: vec![b"k".to_vec()],
                resp3: false,
                argv: vec![],
                serve: serve_once,
                timeout_reply: |out| out.null(),
                slot: slot.clone(),
            });
            e.keyspace.with_shard(0, shard_of(hash_key(b"k")), |s| s.waiters.push(b"k", w));
        }
        assert_eq!(run(&e, &mut c, &["set", "k", "v"]), "+OK\r\n");
        assert_eq!(slots[0].state(), SlotState::Served(b"$8\r\nserved 0\r\n".to_vec()));
        assert!(slots[1].is_waiting() && slots[2].is_waiting());
        assert_eq!(run(&e, &mut c, &["exists", "k"]), ":0\r\n", "the waiter took the value");
        run(&e, &mut c, &["set", "k", "v"]);
        assert_eq!(slots[1].state(), SlotState::Served(b"$8\r\nserved 1\r\n".to_vec()));
        // A writer to another key serves nobody.
        run(&e, &mut c, &["set", "other", "v"]);
        assert!(slots[2].is_waiting());
    }

    #[test]
    fn queues_are_fifo_and_skip_finished_waiters() {
        let mut q = WaitQueues::default();
        let (s1, s2) = (Slot::new(), Slot::new());
        let (w1, w2) = (waiter(s1.clone()), waiter(s2.clone()));
        q.push(b"k", w1.clone());
        q.push(b"k", w2.clone());
        assert!(Arc::ptr_eq(&q.front(b"k").unwrap(), &w1));
        assert!(s1.finish(SlotState::TimedOut));
        assert!(!s1.finish(SlotState::Served(vec![])), "a slot finishes once");
        assert!(Arc::ptr_eq(&q.front(b"k").unwrap(), &w2));
        q.remove(b"k", &w2);
        assert!(q.front(b"k").is_none());
        assert!(q.is_empty());
    }
}
