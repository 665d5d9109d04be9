//! Command propagation: the ordered stream of writes that replicas and the AOF consume.
//!
//! Each write command records what it changed as commands to replay (`Keys::propagate`):
//! by default its own arguments, rewritten where Valkey rewrites them (relative TTLs become
//! absolute `PXAT`/`PEXPIREAT`, INCRBYFLOAT becomes SET ... KEEPTTL, a key found expired
//! becomes UNLINK...). The dispatcher appends a command's records to the stream while the
//! command still holds its shard locks, so the stream orders writes to the same keys exactly
//! as they happened, across worker threads. Several records from one command are wrapped in
//! MULTI/EXEC, as Valkey does, except for commands that touch arbitrary keys (SCAN, RANDOMKEY).
//! A SELECT is emitted whenever the database changes.
//!
//! With no consumer attached, nothing is recorded: propagation costs one relaxed load per
//! command.

use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Acquire, Ordering::Relaxed, Ordering::Release};
use std::sync::{Arc, OnceLock};

/// One command to replay, in the database it applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Op {
    pub db: usize,
    pub argv: Vec<Vec<u8>>,
}

/// Where propagated commands go: a replica connection's outgoing stream, or the AOF.
pub struct Sink {
    buf: Mutex<Vec<u8>>,
    /// Bytes pushed since the sink was made (the AOF's group commit compares it with what
    /// is fsynced). Changed under `buf`'s lock.
    pushed: AtomicU64,
    closed: AtomicBool,
    /// Set while the replica's snapshot is being written: what is propagated meanwhile is
    /// kept, and handed out after the snapshot ([`Sink::release`]).
    held: AtomicBool,
    /// Called after each push; set once, by the consumer (a load per push, no lock).
    waker: OnceLock<Box<dyn Fn() + Send + Sync>>,
}

impl Sink {
    pub fn new() -> Arc<Sink> {
        Arc::new(Sink {
            buf: Mutex::new(Vec::new()),
            pushed: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            held: AtomicBool::new(false),
            waker: OnceLock::new(),
        })
    }

    /// A sink that hands out nothing until [`Sink::release`] gives it what goes first.
    pub fn held() -> Arc<Sink> {
        let s = Sink::new();
        s.held.store(true, Relaxed);
        s
    }

    /// Puts `first` (the snapshot) before everything kept so far and starts handing it out.
    pub fn release(&self, mut first: Vec<u8>) {
        {
            let mut buf = self.buf.lock();
            first.extend_from_slice(&buf);
            *buf = first;
            self.held.store(false, Relaxed);
        }
        self.wake();
    }

    /// Sets the function each push calls (once: later calls are ignored).
    pub fn set_waker(&self, w: Box<dyn Fn() + Send + Sync>) {
        let _ = self.waker.set(w);
    }

    fn wake(&self) {
        if let Some(w) = self.waker.get() {
            w();
        }
    }

    /// Takes what has been written so far.
    pub fn take(&self) -> Vec<u8> {
        let mut buf = self.buf.lock();
        if self.held.load(Relaxed) {
            return Vec::new();
        }
        std::mem::take(&mut *buf)
    }

    /// Swaps what has been written so far with `spare` (an empty buffer whose capacity the
    /// sink reuses, so a busy stream does not grow a new buffer after each take). Returns
    /// the stream offset at the end of what `spare` now holds.
    pub fn swap_counted(&self, spare: &mut Vec<u8>) -> u64 {
        spare.clear();
        let mut buf = self.buf.lock();
        std::mem::swap(&mut *buf, spare);
        self.pushed.load(Relaxed)
    }

    /// Bytes pushed so far (the stream offset of the last record).
    pub fn pushed(&self) -> u64 {
        self.pushed.load(Acquire)
    }

    /// The consumer went away: stop feeding it.
    pub fn close(&self) {
        self.closed.store(true, Relaxed);
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Relaxed)
    }

    fn push(&self, bytes: &[u8]) {
        {
            let mut buf = self.buf.lock();
            buf.extend_from_slice(bytes);
            self.pushed.fetch_add(bytes.len() as u64, Release);
        }
        self.wake();
    }

    /// Encodes straight into the sink's buffer (the only consumer's case: no copy).
    fn push_with(&self, f: impl FnOnce(&mut Vec<u8>)) {
        {
            let mut buf = self.buf.lock();
            let before = buf.len();
            f(&mut buf);
            self.pushed.fetch_add((buf.len() - before) as u64, Release);
        }
        self.wake();
    }
}

#[derive(Default)]
struct Inner {
    /// The database the stream last selected.
    selected: Option<usize>,
    sinks: Vec<Arc<Sink>>,
    /// Where records are encoded when several sinks get a copy (kept: no allocation per
    /// command).
    scratch: Vec<u8>,
}

/// The propagation stream and its consumers.
#[derive(Default)]
pub struct Propagation {
    active: AtomicBool,
    inner: Mutex<Inner>,
}

fn encode_select(out: &mut Vec<u8>, db: usize) {
    let mut n = itoa::Buffer::new();
    resp::encode_command(out, &[b"SELECT".as_slice(), n.format(db).as_bytes()]);
}

/// One command's records: those it made on the way (`before`), then itself (`own`, its
/// arguments as received, so nothing is copied for the common case).
struct Records<'a> {
    before: &'a [Op],
    own: Option<(usize, &'a [&'a [u8]])>,
    transaction: bool,
}

impl Records<'_> {
    fn len(&self) -> usize {
        self.before.len() + usize::from(self.own.is_some())
    }

    /// Appends the records to `out`, with a SELECT where the database changes and MULTI/EXEC
    /// around several (when the command allows it).
    fn encode(&self, selected: &mut Option<usize>, out: &mut Vec<u8>) {
        let wrap = self.transaction && self.len() > 1;
        let first_db = self.before.first().map(|o| o.db).or(self.own.map(|(db, _)| db));
        let mut select = |out: &mut Vec<u8>, db: usize| {
            if *selected != Some(db) {
                encode_select(out, db);
                *selected = Some(db);
            }
        };
        if wrap {
            // SELECT goes inside the transaction, with the first command (Valkey's rule).
            resp::encode_command(out, &[b"MULTI".as_slice()]);
            if let Some(db) = first_db {
                select(out, db);
            }
        }
        for op in self.before {
            select(out, op.db);
            resp::encode_command(out, &op.argv);
        }
        if let Some((db, argv)) = self.own {
            select(out, db);
            resp::encode_command(out, argv);
        }
        if wrap {
            resp::encode_command(out, &[b"EXEC".as_slice()]);
        }
    }
}

impl Propagation {
    /// Whether anyone consumes the stream (commands record nothing otherwise).
    #[inline]
    pub fn is_active(&self) -> bool {
        self.active.load(Relaxed)
    }

    /// Attaches a consumer. The caller must hold every shard lock (the consumer's starting
    /// point is the snapshot it was just given), and the next record starts with a SELECT.
    pub fn attach(&self, sink: Arc<Sink>) {
        let mut inner = self.inner.lock();
        inner.sinks.push(sink);
        inner.selected = None;
        self.active.store(true, Relaxed);
    }

    /// Appends one command's records (wrapped in MULTI/EXEC when there are several and
    /// `transaction` allows it). Called with the command's shard locks held.
    pub fn append(&self, ops: &[Op], transaction: bool) {
        self.append_records(Records { before: ops, own: None, transaction });
    }

    /// Appends the records a command made on the way (`before`), then the command itself as
    /// called (`argv`, in database `db`): what [`Propagation::append`] does with the command
    /// added to `before`, without copying its arguments.
    pub fn append_command(&self, before: &[Op], db: usize, argv: &[&[u8]], transaction: bool) {
        self.append_records(Records { before, own: Some((db, argv)), transaction });
    }

    fn append_records(&self, records: Records<'_>) {
        if records.len() == 0 {
            return;
        }
        let mut inner = self.inner.lock();
        let inner = &mut *inner;
        inner.sinks.retain(|s| !s.is_closed());
        match inner.sinks.as_slice() {
            [] => self.active.store(false, Relaxed),
            [only] => only.push_with(|out| records.encode(&mut inner.selected, out)),
            sinks => {
                inner.scratch.clear();
                records.encode(&mut inner.selected, &mut inner.scratch);
                for s in sinks {
                    s.push(&inner.scratch);
                }
                if inner.scratch.capacity() > 64 * 1024 {
                    inner.scratch = Vec::new();
                }
            }
        }
    }

    /// The next record starts with a SELECT (a new AOF incr file must not rely on the
    /// database selected in the previous one).
    pub fn reselect(&self) {
        self.inner.lock().selected = None;
    }

    pub fn consumers(&self) -> usize {
        self.inner.lock().sinks.iter().filter(|s| !s.is_closed()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(db: usize, args: &[&str]) -> Op {
        Op { db, argv: args.iter().map(|a| a.as_bytes().to_vec()).collect() }
    }

    #[test]
    fn selects_and_transactions() {
        let p = Propagation::default();
        assert!(!p.is_active());
        let sink = Sink::new();
        p.attach(sink.clone());
        assert!(p.is_active());
        p.append(&[op(9, &["SET", "a", "1"])], true);
        p.append(&[op(9, &["DEL", "a"])], true);
        p.append(&[op(9, &["UNLINK", "x"]), op(9, &["SET", "y", "2"])], true);
        p.append(&[op(0, &["UNLINK", "x"]), op(0, &["UNLINK", "z"])], false);
        let got = String::from_utf8(sink.take()).unwrap();
        let expected = concat!(
            "*2\r\n$6\r\nSELECT\r\n$1\r\n9\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n",
            "*2\r\n$3\r\nDEL\r\n$1\r\na\r\n",
            "*1\r\n$5\r\nMULTI\r\n*2\r\n$6\r\nUNLINK\r\n$1\r\nx\r\n*3\r\n$3\r\nSET\r\n$1\r\ny\r\n$1\r\n2\r\n*1\r\n$4\r\nEXEC\r\n",
            "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*2\r\n$6\r\nUNLINK\r\n$1\r\nx\r\n*2\r\n$6\r\nUNLINK\r\n$1\r\nz\r\n",
        );
        assert_eq!(got, expected);
        sink.close();
        p.append(&[op(0, &["SET", "a", "1"])], true);
        assert!(!p.is_active(), "no consumer left");
    }

    /// A command appended as called (arguments borrowed) reads as if it were an `Op`; two
    /// sinks get the same bytes; `swap_counted` hands out the bytes with their end offset.
    #[test]
    fn append_command_and_several_sinks() {
        let p = Propagation::default();
        let (a, b) = (Sink::new(), Sink::new());
        p.attach(a.clone());
        p.append_command(&[], 2, &[b"SET".as_slice(), b"k", b"v"], true);
        p.attach(b.clone());
        p.append_command(&[op(2, &["UNLINK", "old"])], 3, &[b"DEL".as_slice(), b"k"], true);
        p.append_command(&[op(3, &["UNLINK", "x"])], 3, &[b"SCAN".as_slice(), b"0"], false);
        let first = "*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
        // b was attached after the first record: its stream starts with a SELECT.
        let rest_b = concat!(
            "*1\r\n$5\r\nMULTI\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n*2\r\n$6\r\nUNLINK\r\n$3\r\nold\r\n",
            "*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n*1\r\n$4\r\nEXEC\r\n",
            "*2\r\n$6\r\nUNLINK\r\n$1\r\nx\r\n*2\r\n$4\r\nSCAN\r\n$1\r\n0\r\n",
        );
        let mut spare = b"stale".to_vec();
        let end = a.swap_counted(&mut spare);
        assert_eq!(String::from_utf8(spare.clone()).unwrap(), format!("{first}{rest_b}"));
        assert_eq!(end, spare.len() as u64);
        assert_eq!(String::from_utf8(b.take()).unwrap(), rest_b);
        // The spare handed back is reused empty.
        let mut again = Vec::with_capacity(8);
        assert_eq!(a.swap_counted(&mut again), end);
        assert!(again.is_empty());
        p.append_command(&[], 3, &[b"INCR".as_slice(), b"n"], true);
        let mut next = Vec::new();
        assert_eq!(a.swap_counted(&mut next), end + next.len() as u64);
        assert_eq!(next, b"*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n");
    }
}
