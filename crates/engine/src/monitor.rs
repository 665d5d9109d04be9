//! MONITOR: every command executed, as a line sent to each monitoring client (Valkey's
//! `replicationFeedMonitors`).
//!
//! A line is `+<unix secs>.<micros> [<db> <ip:port>] "arg" "arg" ...` with each argument
//! quoted and escaped as Valkey's `sdscatrepr` does, and secret arguments shown as
//! `(redacted)` (`slowlog::redacted`). Lines go through the monitors' mailboxes, like pub/sub
//! messages, so a slow monitor is subject to the output buffer limits. With no monitor, a
//! command pays one relaxed load.

use crate::client::ClientShared;
use crate::engine::Engine;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;

#[derive(Default)]
pub struct Monitors {
    active: AtomicBool,
    clients: Mutex<Vec<Arc<ClientShared>>>,
}

impl Monitors {
    #[inline]
    pub fn active(&self) -> bool {
        self.active.load(Relaxed)
    }

    /// MONITOR: `client` receives every command from now on.
    pub fn add(&self, client: Arc<ClientShared>) {
        let mut list = self.clients.lock();
        if !list.iter().any(|c| Arc::ptr_eq(c, &client)) {
            list.push(client);
        }
        self.active.store(true, Relaxed);
    }

    /// RESET or a disconnect: `client` stops monitoring.
    pub fn remove(&self, client: &ClientShared) {
        let mut list = self.clients.lock();
        list.retain(|c| !std::ptr::eq(&**c, client));
        self.active.store(!list.is_empty(), Relaxed);
    }

    /// Sends the line for one executed command to every monitor. `peer` is the client's
    /// `ip:port`, or `lua` for a command a script ran.
    pub fn feed(&self, engine: &Engine, name: &str, db: usize, peer: &str, argv: &[&[u8]]) {
        let line = line(&engine.config, crate::util::now_us(), name, db, peer, argv);
        let mut list = self.clients.lock();
        list.retain(|c| crate::pubsub::deliver_raw(engine, c, &line));
        self.active.store(!list.is_empty(), Relaxed);
    }
}

fn line(config: &crate::config::Config, now_us: u64, name: &str, db: usize, peer: &str, argv: &[&[u8]]) -> Vec<u8> {
    let hide = crate::slowlog::redacted(config, name, argv);
    let mut out = format!("+{}.{:06} [{db} {peer}] ", now_us / 1_000_000, now_us % 1_000_000).into_bytes();
    for (i, a) in argv.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        if hide.contains(&i) {
            out.extend_from_slice(b"\"(redacted)\"");
        } else {
            quote(&mut out, a);
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Valkey's `sdscatrepr`: a double-quoted string with `\\`, `\"`, `\n`, `\r`, `\t`, `\a`, `\b`
/// escaped and other unprintable bytes as `\xHH`.
pub fn quote(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &b in s {
        match b {
            b'\\' | b'"' => out.extend_from_slice(&[b'\\', b]),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            7 => out.extend_from_slice(b"\\a"),
            8 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(b),
            _ => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_quoted_and_redacted() {
        let c = crate::config::Config::defaults();
        let argv: Vec<&[u8]> = vec![b"set", b"k\"\\", b"a\r\n\x01\xff b"];
        assert_eq!(
            String::from_utf8(line(&c, 1_700_000_000_000_042, "set", 3, "127.0.0.1:5000", &argv)).unwrap(),
            "+1700000000.000042 [3 127.0.0.1:5000] \"set\" \"k\\\"\\\\\" \"a\\r\\n\\x01\\xff b\"\r\n"
        );
        let argv: Vec<&[u8]> = vec![b"auth", b"user", b"pw"];
        assert_eq!(
            String::from_utf8(line(&c, 1_000_000, "auth", 0, "lua", &argv)).unwrap(),
            "+1.000000 [0 lua] \"auth\" \"(redacted)\" \"(redacted)\"\r\n"
        );
    }
}
