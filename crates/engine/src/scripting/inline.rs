//! Script commands (EVAL, FCALL ..., an EXEC holding one) run on the worker thread that read
//! them, on a stack of their own, and move off that thread only if they turn out long.
//!
//! Most scripts take microseconds: handing each to another thread and back cost more than
//! the script (two thread wake-ups per call; EVALSHA of a three-command script ran at half
//! redis-server's rate that way). But a worker must not stop serving its other connections
//! for a long script: past `busy-reply-threshold` they get BUSY, and SCRIPT KILL or
//! SHUTDOWN NOSAVE must get through, also with one worker thread. So the command runs in a
//! coroutine ([`corosensei`]) on the worker; when the running script has taken
//! [`ESCAPE_AFTER_US`], the Lua instruction hook suspends the coroutine ([`suspend_if_due`])
//! and the worker hands the suspended run ([`Escaped`]) to a thread of its blocking pool,
//! which resumes it to the end, while the worker goes back to its event loop. That is the
//! only suspension: a script never resumes on the worker, and nothing else runs on the
//! coroutine's stack.

use crate::client::Client;
use crate::engine::Engine;
use crate::exec::{execute, Outcome};
use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, CoroutineResult, Yielder};
use resp::Reply;
use smallvec::SmallVec;
use std::cell::Cell;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

/// How long a script runs on its worker before it is moved off it. Other clients' commands
/// start giving way to a script at the same age (`exec::SCRIPT_BACK_OFF_MS`).
pub const ESCAPE_AFTER_US: u64 = 1000;

/// The coroutine's stack: reserved, committed as it is touched, with a guard page. As large
/// as a thread's default main stack, for the recursion scripts may reach (Lua's C calls,
/// cjson and cmsgpack nesting, commands run by `server.call`).
const STACK_SIZE: usize = 8 << 20;

type Run = Coroutine<(), (), (Client, Reply, Outcome), DefaultStack>;

/// What running a script command on the worker came to. Returned once per script and taken
/// apart at once, so the client is not boxed for the sake of the rare other variant.
#[allow(clippy::large_enum_variant)]
pub enum Inline {
    /// It ran to the end: the client, its reply buffer and the outcome.
    Done(Client, Reply, Outcome),
    /// Its script ran long and was suspended: finish it on another thread.
    Escaped(Escaped),
}

/// A script command suspended mid-run, to be finished off the worker thread.
pub struct Escaped(Run);

// SAFETY: the coroutine's stack holds the command's frames: the engine (`Arc`), the client
// and reply buffer (owned, `Send`), the shard and slot guards (parking_lot's mutexes may be
// unlocked from any thread) and the Lua state's handles (mlua without its `send` feature:
// plain reference counts, touched only by the holder of the state's mutex, which this
// command is until it ends). The thread-locals the command uses are looked up again where
// it runs (statistics blocks, the pub/sub batch, the memory meter), so moving it between
// two of its steps changes whose counters it adds to, nothing else. It is resumed only by
// `finish`, on one thread at a time.
unsafe impl Send for Escaped {}

impl Escaped {
    /// Runs the rest of the command (on the calling thread): the client, its reply buffer
    /// and the outcome.
    pub fn finish(mut self) -> (Client, Reply, Outcome) {
        loop {
            if let CoroutineResult::Return(done) = self.0.resume(()) {
                // The stack goes back to the workers (mapping a fresh one and unmapping this
                // one cost a tenth of a long script's time in TLB shootdowns).
                let mut spare = SPARE_STACKS.lock();
                if spare.len() < MAX_SPARE_STACKS {
                    spare.push(SendStack(self.0.into_stack()));
                }
                return done;
            }
        }
    }
}

/// Stacks of escaped runs, for the next worker that needs one.
static SPARE_STACKS: parking_lot::Mutex<Vec<SendStack>> = parking_lot::Mutex::new(Vec::new());
const MAX_SPARE_STACKS: usize = 4;

/// A coroutine stack no coroutine uses: only memory.
struct SendStack(DefaultStack);
// SAFETY: an unused stack is a mapping and its bounds; nothing on it is live.
unsafe impl Send for SendStack {}

thread_local! {
    /// This worker's coroutine stack, kept between two script commands.
    static STACK: Cell<Option<DefaultStack>> = const { Cell::new(None) };
    /// The yielder of the coroutine this thread is running a script command on, while it
    /// runs (type-erased `*const Yielder<(), ()>`); null otherwise.
    static YIELDER: Cell<*const ()> = const { Cell::new(std::ptr::null()) };
}

/// Runs a script command on this thread, in a coroutine. `None` if it panicked (the
/// connection is closed then, as when any command panics).
pub fn execute_inline(engine: &Arc<Engine>, client: Client, argv: &[&[u8]], reply: Reply) -> Option<Inline> {
    let owned: SmallVec<[Vec<u8>; 8]> = argv.iter().map(|a| a.to_vec()).collect();
    let engine = engine.clone();
    let body = move |yielder: &Yielder<(), ()>, ()| {
        YIELDER.with(|y| y.set(yielder as *const Yielder<(), ()> as *const ()));
        let (mut client, mut reply) = (client, reply);
        let argv: SmallVec<[&[u8]; 8]> = owned.iter().map(Vec::as_slice).collect();
        let outcome = execute(&engine, &mut client, &argv, &mut reply);
        (client, reply, outcome)
    };
    let spare = || SPARE_STACKS.lock().pop().map(|s| s.0);
    let stack = match STACK.with(Cell::take).or_else(spare) {
        Some(s) => s,
        None => DefaultStack::new(STACK_SIZE).ok()?,
    };
    let mut run: Run = Coroutine::with_stack(stack, body);
    let resumed = std::panic::catch_unwind(AssertUnwindSafe(|| run.resume(())));
    // Whether it ended or was suspended, it no longer runs on this thread.
    YIELDER.with(|y| y.set(std::ptr::null()));
    match resumed.ok()? {
        CoroutineResult::Return((client, reply, outcome)) => {
            STACK.with(|s| s.set(Some(run.into_stack())));
            Some(Inline::Done(client, reply, outcome))
        }
        CoroutineResult::Yield(()) => Some(Inline::Escaped(Escaped(run))),
    }
}

/// The yielder of the script command running on this thread, for the script to record in
/// its [`super::RunState`] when it starts (null when it is not running in a coroutine: the
/// AOF loader, the replication link, tests).
pub(crate) fn current_yielder() -> *mut () {
    YIELDER.with(Cell::get) as *mut ()
}

/// From the Lua instruction hook: once the running script has run [`ESCAPE_AFTER_US`] on
/// its worker, suspends it so the worker can hand it to another thread. At most once per
/// script (the escape is consumed), and never where it was not started in a coroutine.
pub(crate) fn suspend_if_due(run: &super::RunState) {
    let y = run.escape.load(Relaxed);
    if y.is_null() || crate::util::now_us().saturating_sub(run.started_us.load(Relaxed)) < ESCAPE_AFTER_US {
        return;
    }
    if run.escape.compare_exchange(y, std::ptr::null_mut(), Relaxed, Relaxed).is_ok() {
        // SAFETY: `y` was recorded by this script's own start from the coroutine it runs in
        // (`current_yielder`), on this thread, and is consumed here: the coroutine is live
        // and this code runs on its stack.
        let yielder = unsafe { &*(y as *const Yielder<(), ()>) };
        yielder.suspend(());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::tests::client;

    fn eval(e: &Arc<Engine>, c: Client, body: &str) -> Inline {
        let argv: [&[u8]; 4] = [b"EVAL", body.as_bytes(), b"1", b"k"];
        execute_inline(e, c, &argv, Reply::new(false)).expect("no panic")
    }

    #[test]
    fn a_short_script_ends_on_the_calling_thread() {
        let e = Engine::for_tests();
        let Inline::Done(c, reply, _) = eval(&e, client(&e), "return redis.call('INCR', KEYS[1])") else {
            panic!("a short script escaped");
        };
        assert_eq!(reply.as_bytes(), b":1\r\n");
        // The stack is kept for the next one.
        assert!(STACK.with(|s| {
            let kept = s.take();
            let found = kept.is_some();
            s.set(kept);
            found
        }));
        let Inline::Done(_, reply, _) = eval(&e, c, "return redis.call('INCR', KEYS[1])") else { panic!("escaped") };
        assert_eq!(reply.as_bytes(), b":2\r\n");
    }

    #[test]
    fn a_long_script_escapes_and_finishes_on_another_thread() {
        let e = Engine::for_tests();
        // Writes before and after a loop of a few tens of milliseconds: both land, once.
        let body = "redis.call('INCR', KEYS[1]) local t = 0 for i = 1, 3000000 do t = t + i end \
                    return {redis.call('INCR', KEYS[1]), tostring(t)}";
        let Inline::Escaped(rest) = eval(&e, client(&e), body) else { panic!("a long script did not escape") };
        assert!(e.scripting.run.running.load(Relaxed), "the script is suspended mid-run");
        let (c, reply, _) = std::thread::spawn(move || rest.finish()).join().expect("finished");
        assert_eq!(reply.as_bytes(), b"*2\r\n:2\r\n$13\r\n4500001500000\r\n");
        assert!(!e.scripting.run.running.load(Relaxed));
        assert!(e.scripting.run.escape.load(Relaxed).is_null());
        // The next script runs on the calling thread again, on a spare stack.
        let Inline::Done(_, reply, _) = eval(&e, c, "return redis.call('GET', KEYS[1])") else { panic!("escaped") };
        assert_eq!(reply.as_bytes(), b"$1\r\n2\r\n");
    }
}
