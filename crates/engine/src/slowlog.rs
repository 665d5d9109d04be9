//! The slow log (Valkey's `slowlog.c`): commands whose execution took at least
//! `slowlog-log-slower-than` microseconds, newest first, at most `slowlog-max-len` of them.
//!
//! The dispatcher checks the duration it already measured against one atomic threshold, so a
//! command that is not slow costs one relaxed load and a compare. An entry keeps the command
//! as the client sent it (not as it was rewritten for replicas), with secrets replaced by
//! `(redacted)` (see [`redacted`]), at most 32 arguments and 128 bytes per argument.

use crate::client::ClientShared;
use crate::config::Config;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;

/// Arguments kept per entry; the last one says how many more there were.
const MAX_ARGC: usize = 32;
/// Bytes kept per argument; the rest is summarized.
const MAX_STRING: usize = 128;

/// One logged command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub id: u64,
    /// Unix time in seconds when it was logged.
    pub time: u64,
    pub duration_us: u64,
    pub argv: Vec<Vec<u8>>,
    /// `ip:port` of the client.
    pub peer: String,
    pub client_name: Vec<u8>,
}

#[derive(Default)]
struct Log {
    entries: VecDeque<Entry>,
    next_id: u64,
}

#[derive(Default)]
pub struct SlowLog {
    log: Mutex<Log>,
}

impl SlowLog {
    /// Whether a command that took `duration_us` is logged (the dispatcher's check).
    #[inline]
    pub fn wants(config: &Config, duration_us: u64) -> bool {
        let threshold = config.hot.slowlog_log_slower_than.load(Relaxed);
        threshold >= 0 && duration_us >= threshold as u64 && config.hot.slowlog_max_len.load(Relaxed) > 0
    }

    /// Logs a command `wants` accepted. `name` is the command's full name (`config|set`),
    /// used to find the arguments to redact.
    pub fn push(&self, config: &Config, client: &ClientShared, name: &str, argv: &[&[u8]], duration_us: u64) {
        let hide = redacted(config, name, argv);
        let argc = argv.len().min(MAX_ARGC);
        let mut kept = Vec::with_capacity(argc);
        for (i, a) in argv.iter().take(argc).enumerate() {
            kept.push(if argc != argv.len() && i == argc - 1 {
                format!("... ({} more arguments)", argv.len() - argc + 1).into_bytes()
            } else if hide.contains(&i) {
                b"(redacted)".to_vec()
            } else if a.len() > MAX_STRING {
                let mut s = a[..MAX_STRING].to_vec();
                s.extend_from_slice(format!("... ({} more bytes)", a.len() - MAX_STRING).as_bytes());
                s
            } else {
                a.to_vec()
            });
        }
        let client_name = client.name.lock().clone().unwrap_or_default();
        let time = crate::util::now_ms() / 1000;
        let max = config.hot.slowlog_max_len.load(Relaxed) as usize;
        let mut log = self.log.lock();
        let id = log.next_id;
        log.next_id += 1;
        log.entries.push_front(Entry { id, time, duration_us, argv: kept, peer: client.addr.clone(), client_name });
        log.entries.truncate(max);
    }

    pub fn len(&self) -> usize {
        self.log.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The newest `count` entries, newest first.
    pub fn newest(&self, count: usize) -> Vec<Entry> {
        self.log.lock().entries.iter().take(count).cloned().collect()
    }

    /// SLOWLOG RESET (entry ids keep counting, as in Valkey).
    pub fn reset(&self) {
        self.log.lock().entries.clear();
    }
}

/// Logs a blocked command when a writer serves it (Valkey logs it when it is unblocked, with
/// the time the serving took, not the time it waited).
pub fn log_served(engine: &crate::engine::Engine, w: &crate::blocking::Waiter, duration_us: u64) {
    if !SlowLog::wants(&engine.config, duration_us) {
        return;
    }
    let (Some(client), Some(cmd)) = (engine.clients.get(w.client_id), engine.commands.by_name(&w.argv[0])) else {
        return;
    };
    let argv: Vec<&[u8]> = w.argv.iter().map(|a| a.as_slice()).collect();
    engine.slowlog.push(&engine.config, &client, &cmd.full_name, &argv, duration_us);
}

/// Positions of the arguments a log (SLOWLOG, MONITOR) must not show, as Valkey redacts them:
/// AUTH's credentials, HELLO's `AUTH user pass`, the values of sensitive directives in CONFIG
/// SET, MIGRATE's `AUTH pass` / `AUTH2 user pass`.
pub fn redacted(config: &Config, name: &str, argv: &[&[u8]]) -> Vec<usize> {
    let is = |a: &[u8], s: &str| a.eq_ignore_ascii_case(s.as_bytes());
    match name {
        "auth" => (1..argv.len()).collect(),
        "hello" => match argv.iter().position(|a| is(a, "auth")) {
            Some(i) => (i + 1..(i + 3).min(argv.len())).collect(),
            None => Vec::new(),
        },
        "config|set" => (2..argv.len())
            .step_by(2)
            .filter(|&i| {
                i + 1 < argv.len()
                    && std::str::from_utf8(argv[i])
                        .ok()
                        .and_then(|n| config.param(n))
                        .is_some_and(|p| p.flags & crate::config::flags::SENSITIVE != 0)
            })
            .map(|i| i + 1)
            .collect(),
        "migrate" => {
            let mut hide = Vec::new();
            let mut i = 6;
            while i < argv.len() {
                if is(argv[i], "auth") {
                    hide.push(i + 1);
                    i += 2;
                } else if is(argv[i], "auth2") {
                    hide.extend([i + 1, i + 2]);
                    i += 3;
                } else if is(argv[i], "keys") {
                    break;
                } else {
                    i += 1;
                }
            }
            hide.retain(|&i| i < argv.len());
            hide
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_secrets() {
        let c = Config::defaults();
        let r = |name: &str, argv: &[&str]| {
            let v: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
            redacted(&c, name, &v)
        };
        assert_eq!(r("auth", &["auth", "user", "pass"]), vec![1, 2]);
        assert_eq!(r("hello", &["hello", "3", "AUTH", "u", "p", "SETNAME", "n"]), vec![3, 4]);
        assert_eq!(r("hello", &["hello", "3"]), Vec::<usize>::new());
        assert_eq!(
            r("config|set", &["config", "set", "maxclients", "10", "requirepass", "x", "masterauth", "y"]),
            vec![5, 7]
        );
        assert_eq!(r("migrate", &["migrate", "h", "1", "k", "0", "5000", "AUTH2", "u", "p"]), vec![7, 8]);
        assert_eq!(r("migrate", &["migrate", "h", "1", "k", "0", "5000", "COPY", "AUTH", "p"]), vec![8]);
        assert_eq!(r("get", &["get", "k"]), Vec::<usize>::new());
    }
}
