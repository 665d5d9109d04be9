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
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;

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
    pushed: std::sync::atomic::AtomicU64,
    closed: AtomicBool,
    /// Set while the replica's snapshot is being written: what is propagated meanwhile is
    /// kept, and handed out after the snapshot ([`Sink::release`]).
    held: AtomicBool,
    waker: Mutex<Option<Box<dyn Fn() + Send + Sync>>>,
}

impl Sink {
    pub fn new() -> Arc<Sink> {
        Arc::new(Sink {
            buf: Mutex::new(Vec::new()),
            pushed: std::sync::atomic::AtomicU64::new(0),
            closed: AtomicBool::new(false),
            held: AtomicBool::new(false),
            waker: Mutex::new(None),
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
        if let Some(w) = self.waker.lock().as_ref() {
            w();
        }
    }

    pub fn set_waker(&self, w: Box<dyn Fn() + Send + Sync>) {
        *self.waker.lock() = Some(w);
    }

    /// Takes what has been written so far.
    pub fn take(&self) -> Vec<u8> {
        let mut buf = self.buf.lock();
        if self.held.load(Relaxed) {
            return Vec::new();
        }
        std::mem::take(&mut *buf)
    }

    /// Takes what has been written so far, with the stream offset at its end.
    pub fn take_counted(&self) -> (Vec<u8>, u64) {
        let mut buf = self.buf.lock();
        (std::mem::take(&mut *buf), self.pushed.load(Relaxed))
    }

    /// Bytes pushed so far (the stream offset of the last record).
    pub fn pushed(&self) -> u64 {
        self.pushed.load(std::sync::atomic::Ordering::Acquire)
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
            self.pushed.fetch_add(bytes.len() as u64, std::sync::atomic::Ordering::Release);
        }
        if let Some(w) = self.waker.lock().as_ref() {
            w();
        }
    }
}

#[derive(Default)]
struct Inner {
    /// The database the stream last selected.
    selected: Option<usize>,
    sinks: Vec<Arc<Sink>>,
}

/// The propagation stream and its consumers.
#[derive(Default)]
pub struct Propagation {
    active: AtomicBool,
    inner: Mutex<Inner>,
}

fn encode(out: &mut Vec<u8>, argv: &[Vec<u8>]) {
    out.push(b'*');
    resp::number::push_i64(out, argv.len() as i64);
    out.extend_from_slice(b"\r\n");
    for a in argv {
        out.push(b'$');
        resp::number::push_i64(out, a.len() as i64);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
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
        if ops.is_empty() {
            return;
        }
        let mut inner = self.inner.lock();
        inner.sinks.retain(|s| !s.is_closed());
        if inner.sinks.is_empty() {
            self.active.store(false, Relaxed);
            return;
        }
        let wrap = transaction && ops.len() > 1;
        let mut bytes = Vec::new();
        if wrap {
            // SELECT goes inside the transaction, with the first command (Valkey's rule).
            if inner.selected != Some(ops[0].db) {
                encode(&mut bytes, &[b"MULTI".to_vec()]);
                encode(&mut bytes, &[b"SELECT".to_vec(), ops[0].db.to_string().into_bytes()]);
                inner.selected = Some(ops[0].db);
            } else {
                encode(&mut bytes, &[b"MULTI".to_vec()]);
            }
        }
        for op in ops {
            if inner.selected != Some(op.db) {
                encode(&mut bytes, &[b"SELECT".to_vec(), op.db.to_string().into_bytes()]);
                inner.selected = Some(op.db);
            }
            encode(&mut bytes, &op.argv);
        }
        if wrap {
            encode(&mut bytes, &[b"EXEC".to_vec()]);
        }
        for s in &inner.sinks {
            s.push(&bytes);
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
}
