//! Configuration: every Valkey 8 directive, its type, default and current value.
//!
//! [`params::PARAMS`] declares each directive once (name, alias, type, bounds, default, flags).
//! From it come the config-file parser (valkey.conf syntax, errors naming the line),
//! `--directive value` command-line overrides, CONFIG GET/SET/REWRITE, and the defaults.
//!
//! Values are kept in their canonical string form (what CONFIG GET prints). Settings read on
//! hot paths are mirrored into atomics in [`Hot`] whenever they change.

pub mod file;
pub mod params;

use crate::util::glob_match;
use params::{Param, PARAMS};
use parking_lot::RwLock;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering::Relaxed};

/// Directive flags.
pub mod flags {
    /// Cannot be changed with CONFIG SET.
    pub const IMMUTABLE: u32 = 1 << 0;
    /// Value hidden from logs (passwords).
    pub const SENSITIVE: u32 = 1 << 1;
    /// Not matched by CONFIG GET patterns (only by exact name).
    pub const HIDDEN: u32 = 1 << 2;
    /// Changing it needs `enable-protected-configs`.
    pub const PROTECTED: u32 = 1 << 3;
    /// Takes several arguments in the config file (`save 3600 1 300 100`).
    pub const MULTI_ARG: u32 = 1 << 4;
    /// Kvasir accepts and stores the directive but does not act on it yet: a non-default
    /// value is reported in the log at startup.
    pub const NOT_ACTED_ON: u32 = 1 << 5;
    /// Cannot be changed while the dataset loads (Valkey's `DENY_LOADING_CONFIG`: `dir`,
    /// `appendonly`, `repl-diskless-load`); CONFIG SET answers `-LOADING`.
    pub const DENY_LOADING: u32 = 1 << 6;
}

/// Hot settings, mirrored from the canonical values.
#[derive(Default)]
pub struct Hot {
    pub notify_flags: AtomicU32,
    pub proto_max_bulk_len: AtomicU64,
    pub client_query_buffer_limit: AtomicU64,
    pub maxclients: AtomicU64,
    pub timeout_secs: AtomicU64,
    pub tcp_keepalive_secs: AtomicU64,
    pub hz: AtomicU32,
    pub active_expire_effort: AtomicU32,
    pub requirepass_set: AtomicBool,
    pub protected_mode: AtomicBool,
    pub enable_debug_command: AtomicU32,
    pub lazyfree_lazy_user_del: AtomicBool,
    pub lazyfree_lazy_user_flush: AtomicBool,
    pub lazyfree_lazy_expire: AtomicBool,
    pub busy_reply_threshold_ms: AtomicI64,
    pub loglevel: AtomicU32,
    pub hash_max_listpack_entries: AtomicU64,
    pub hash_max_listpack_value: AtomicU64,
    pub set_max_intset_entries: AtomicU64,
    pub set_max_listpack_entries: AtomicU64,
    pub set_max_listpack_value: AtomicU64,
    pub zset_max_listpack_entries: AtomicU64,
    pub zset_max_listpack_value: AtomicU64,
    pub list_max_listpack_size: AtomicI64,
    pub list_compress_depth: AtomicU64,
    /// `client-output-buffer-limit` per class (normal, replica, pubsub): hard bytes, soft
    /// bytes, soft seconds.
    pub output_limits: [[AtomicU64; 3]; 3],
    pub tracking_table_max_keys: AtomicU64,
    pub hll_sparse_max_bytes: AtomicU64,
    pub stream_node_max_bytes: AtomicU64,
    pub stream_node_max_entries: AtomicU64,
    /// Microseconds; negative disables the slow log.
    pub slowlog_log_slower_than: AtomicI64,
    pub slowlog_max_len: AtomicU64,
    pub min_replicas_to_write: AtomicU64,
    pub min_replicas_max_lag: AtomicU64,
    /// `maxmemory` in bytes (0: no limit). Read before every command.
    pub maxmemory: AtomicU64,
    /// `maxmemory-clients`: bytes, or minus a percentage of `maxmemory` (0: no limit).
    pub maxmemory_clients: AtomicI64,
    /// `maxmemory-policy` as [`crate::evict::Policy`]'s number.
    pub maxmemory_policy: AtomicU32,
    pub maxmemory_samples: AtomicU32,
    pub maxmemory_eviction_tenacity: AtomicU32,
    pub lfu_log_factor: AtomicU32,
    pub lfu_decay_time: AtomicU32,
    pub lazyfree_lazy_eviction: AtomicBool,
}

/// One class's `client-output-buffer-limit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputLimit {
    pub hard: u64,
    pub soft: u64,
    pub soft_secs: u64,
}

const OUTPUT_LIMIT_CLASSES: [&str; 3] = ["normal", "slave", "pubsub"];

impl Hot {
    /// The memory normal and pub/sub clients may use together before the largest are
    /// disconnected (Valkey's `getClientEvictionLimit`): `maxmemory-clients` in bytes or as a
    /// share of `maxmemory` (no limit while `maxmemory` is 0), never below 128 KiB, so that a
    /// tiny setting cannot cut every client off. 0 = no limit.
    pub fn client_eviction_limit(&self) -> usize {
        let setting = self.maxmemory_clients.load(Relaxed);
        let maxmemory = self.maxmemory.load(Relaxed);
        let bytes = if setting < 0 && maxmemory > 0 {
            (maxmemory as f64 * -(setting as f64) / 100.0) as u64
        } else if setting > 0 {
            setting as u64
        } else {
            return 0;
        };
        usize::try_from(bytes).unwrap_or(usize::MAX).max(128 * 1024)
    }

    /// The output buffer limits of a client class (a primary's connection uses `normal`).
    pub fn output_limit(&self, class: crate::client::ClientType) -> OutputLimit {
        use crate::client::ClientType;
        let i = match class {
            ClientType::Normal | ClientType::Primary => 0,
            ClientType::Replica => 1,
            ClientType::Pubsub => 2,
        };
        let l = &self.output_limits[i];
        OutputLimit { hard: l[0].load(Relaxed), soft: l[1].load(Relaxed), soft_secs: l[2].load(Relaxed) }
    }

    /// Applies the classes a canonical value names (`pubsub 1 2 3` changes only pubsub).
    fn set_output_limits(&self, v: &str) {
        let words: Vec<&str> = v.split_whitespace().collect();
        for g in words.chunks_exact(4) {
            if let Some(i) = OUTPUT_LIMIT_CLASSES.iter().position(|c| *c == g[0]) {
                for (slot, w) in self.output_limits[i].iter().zip(&g[1..]) {
                    slot.store(w.parse().unwrap_or(0), Relaxed);
                }
            }
        }
    }

    /// All classes, as CONFIG GET shows them.
    fn output_limits_string(&self) -> String {
        let mut parts = Vec::new();
        for (name, l) in OUTPUT_LIMIT_CLASSES.iter().zip(&self.output_limits) {
            parts.push(format!("{name} {} {} {}", l[0].load(Relaxed), l[1].load(Relaxed), l[2].load(Relaxed)));
        }
        parts.join(" ")
    }

    pub fn hash_limits(&self) -> crate::types::hash::HashLimits {
        crate::types::hash::HashLimits {
            max_entries: self.hash_max_listpack_entries.load(Relaxed) as usize,
            max_value: self.hash_max_listpack_value.load(Relaxed) as usize,
        }
    }

    pub fn zset_limits(&self) -> crate::types::zset::ZSetLimits {
        crate::types::zset::ZSetLimits {
            max_listpack_entries: self.zset_max_listpack_entries.load(Relaxed) as usize,
            max_listpack_value: self.zset_max_listpack_value.load(Relaxed) as usize,
        }
    }

    pub fn list_limits(&self) -> crate::types::list::ListLimits {
        crate::types::list::ListLimits {
            fill: self.list_max_listpack_size.load(Relaxed),
            compress_depth: self.list_compress_depth.load(Relaxed),
        }
    }

    pub fn stream_limits(&self) -> crate::types::stream::StreamLimits {
        crate::types::stream::StreamLimits {
            node_max_bytes: self.stream_node_max_bytes.load(Relaxed) as usize,
            node_max_entries: self.stream_node_max_entries.load(Relaxed) as usize,
        }
    }

    pub fn set_limits(&self) -> crate::types::set::SetLimits {
        crate::types::set::SetLimits {
            max_intset_entries: self.set_max_intset_entries.load(Relaxed) as usize,
            max_listpack_entries: self.set_max_listpack_entries.load(Relaxed) as usize,
            max_listpack_value: self.set_max_listpack_value.load(Relaxed) as usize,
        }
    }
}

/// An error from setting a value: the message Valkey appends to its CONFIG SET / startup error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError(pub String);

pub struct Config {
    values: RwLock<Vec<String>>,
    index: HashMap<&'static str, usize>,
    pub hot: Hot,
    /// The config file given at startup, for CONFIG REWRITE.
    pub file: Option<std::path::PathBuf>,
    /// The password (requirepass), kept apart from the string table to avoid cloning it.
    requirepass: RwLock<Option<Vec<u8>>>,
}

/// Protection levels for `enable-debug-command` and `enable-protected-configs`.
pub const PROTECTION_NO: u32 = 0;
pub const PROTECTION_YES: u32 = 1;
pub const PROTECTION_LOCAL: u32 = 2;

impl Config {
    /// All directives at their defaults.
    pub fn defaults() -> Config {
        let mut index = HashMap::new();
        for (i, p) in PARAMS.iter().enumerate() {
            index.insert(p.name, i);
            if let Some(a) = p.alias {
                index.insert(a, i);
            }
        }
        let c = Config {
            values: RwLock::new(PARAMS.iter().map(|p| p.default.to_string()).collect()),
            index,
            hot: Hot::default(),
            file: None,
            requirepass: RwLock::new(None),
        };
        for (i, p) in PARAMS.iter().enumerate() {
            c.apply_hot(p, PARAMS[i].default);
        }
        c
    }

    pub fn param(&self, name: &str) -> Option<&'static Param> {
        let lower = name.to_ascii_lowercase();
        self.index.get(lower.as_str()).map(|&i| &PARAMS[i])
    }

    fn idx(&self, name: &str) -> Option<usize> {
        self.index.get(name.to_ascii_lowercase().as_str()).copied()
    }

    /// The current value of a directive (canonical form); panics on an unknown name, which is
    /// a programming error.
    pub fn get(&self, name: &str) -> String {
        let i = self.idx(name).unwrap_or_else(|| panic!("unknown config {name}"));
        self.values.read()[i].clone()
    }

    pub fn get_i64(&self, name: &str) -> i64 {
        self.get(name).parse().unwrap_or(0)
    }

    pub fn get_bool(&self, name: &str) -> bool {
        self.get(name) == "yes"
    }

    pub fn requirepass(&self) -> Option<Vec<u8>> {
        self.requirepass.read().clone()
    }

    /// Validates `args` for directive `p` and returns the canonical value.
    pub fn canonicalize(p: &Param, args: &[&[u8]]) -> Result<String, ValueError> {
        params::canonicalize(p, args)
    }

    /// Sets one directive from already-validated canonical form.
    fn store(&self, i: usize, mut canonical: String) {
        let p = &PARAMS[i];
        self.apply_hot(p, &canonical);
        if p.name == "client-output-buffer-limit" {
            // Setting some classes keeps the others (Valkey's behaviour).
            canonical = self.hot.output_limits_string();
        }
        if p.name == "requirepass" {
            *self.requirepass.write() = if canonical.is_empty() { None } else { Some(canonical.clone().into_bytes()) };
        }
        self.values.write()[i] = canonical;
    }

    /// Sets a directive from arguments (config file, command line, CONFIG SET).
    pub fn set(&self, name: &str, args: &[&[u8]]) -> Result<(), ValueError> {
        let i = self.idx(name).ok_or_else(|| ValueError("Bad directive or wrong number of arguments".into()))?;
        let canonical = params::canonicalize(&PARAMS[i], args)?;
        self.store(i, canonical);
        Ok(())
    }

    /// CONFIG SET of several directives at once: all are validated first, then all applied;
    /// if one fails, none changes. Returns Valkey's error text.
    pub fn set_many(&self, pairs: &[(&[u8], &[u8])], protected_ok: bool, loading: bool) -> Result<(), String> {
        let mut staged: Vec<(usize, String)> = Vec::with_capacity(pairs.len());
        // Valkey checks every name first (unknown, immutable, protected, duplicate: the first
        // problem wins), then every value.
        for (name, _) in pairs {
            let typed = String::from_utf8_lossy(name);
            let Some(i) = self.idx(&typed) else {
                return Err(format!("ERR Unknown option or number of arguments for CONFIG SET - '{typed}'"));
            };
            let p = &PARAMS[i];
            if p.flags & flags::IMMUTABLE != 0 {
                return Err(format!(
                    "ERR CONFIG SET failed (possibly related to argument '{typed}') - can't set immutable config"
                ));
            }
            if p.flags & flags::PROTECTED != 0 && !protected_ok {
                return Err(format!(
                    "ERR CONFIG SET failed (possibly related to argument '{typed}') - can't set protected config"
                ));
            }
            if p.flags & flags::DENY_LOADING != 0 && loading {
                return Err(crate::loading::LOADING_ERR.to_string());
            }
            if staged.iter().any(|(j, _)| *j == i) {
                return Err(format!(
                    "ERR CONFIG SET failed (possibly related to argument '{typed}') - duplicate parameter"
                ));
            }
            staged.push((i, String::new()));
        }
        for ((_, value), (i, canonical)) in pairs.iter().zip(staged.iter_mut()) {
            let p = &PARAMS[*i];
            let args = params::split_set_value(p, value);
            let arg_refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
            match params::canonicalize(p, &arg_refs) {
                Ok(c) => *canonical = c,
                Err(ValueError(msg)) => {
                    return Err(format!("ERR CONFIG SET failed (possibly related to argument '{}') - {msg}", p.name))
                }
            }
        }
        for (i, c) in staged {
            self.store(i, c);
        }
        Ok(())
    }

    /// CONFIG GET: `(name, value)` for every directive matching any pattern. Aliases are
    /// matched too and reported under the name that matched, as Valkey does.
    pub fn get_matching(&self, patterns: &[&[u8]]) -> Vec<(String, String)> {
        let values = self.values.read();
        let mut out: Vec<(String, String)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for pat in patterns {
            let has_glob = pat.iter().any(|b| matches!(b, b'*' | b'?' | b'['));
            for (i, p) in PARAMS.iter().enumerate() {
                for name in std::iter::once(p.name).chain(p.alias) {
                    let hit = if has_glob {
                        p.flags & flags::HIDDEN == 0 && glob_match(pat, name.as_bytes(), true)
                    } else {
                        pat.eq_ignore_ascii_case(name.as_bytes())
                    };
                    if hit && seen.insert(name) {
                        out.push((name.to_string(), values[i].clone()));
                    }
                }
            }
        }
        out
    }

    /// (name, current, default) for every directive, for CONFIG REWRITE and startup reports.
    pub fn all(&self) -> Vec<(&'static Param, String)> {
        let values = self.values.read();
        PARAMS.iter().zip(values.iter()).map(|(p, v)| (p, v.clone())).collect()
    }

    fn apply_hot(&self, p: &Param, v: &str) {
        let h = &self.hot;
        let int = || v.parse::<i64>().unwrap_or(0);
        let yes = || v == "yes";
        match p.name {
            "notify-keyspace-events" => h
                .notify_flags
                .store(crate::notify::effective(crate::notify::parse_flags(v.as_bytes()).unwrap_or(0)), Relaxed),
            "proto-max-bulk-len" => h.proto_max_bulk_len.store(int() as u64, Relaxed),
            "client-query-buffer-limit" => h.client_query_buffer_limit.store(int() as u64, Relaxed),
            "maxclients" => h.maxclients.store(int() as u64, Relaxed),
            "timeout" => h.timeout_secs.store(int() as u64, Relaxed),
            "tcp-keepalive" => h.tcp_keepalive_secs.store(int() as u64, Relaxed),
            "hz" => h.hz.store(int().clamp(1, 500) as u32, Relaxed),
            "active-expire-effort" => h.active_expire_effort.store(int() as u32, Relaxed),
            "requirepass" => h.requirepass_set.store(!v.is_empty(), Relaxed),
            "protected-mode" => h.protected_mode.store(yes(), Relaxed),
            "enable-debug-command" => h.enable_debug_command.store(protection_level(v), Relaxed),
            "lazyfree-lazy-user-del" => h.lazyfree_lazy_user_del.store(yes(), Relaxed),
            "lazyfree-lazy-user-flush" => h.lazyfree_lazy_user_flush.store(yes(), Relaxed),
            "lazyfree-lazy-expire" => h.lazyfree_lazy_expire.store(yes(), Relaxed),
            "busy-reply-threshold" => h.busy_reply_threshold_ms.store(int(), Relaxed),
            "hash-max-listpack-entries" => h.hash_max_listpack_entries.store(int() as u64, Relaxed),
            "hash-max-listpack-value" => h.hash_max_listpack_value.store(int() as u64, Relaxed),
            "set-max-intset-entries" => h.set_max_intset_entries.store(int() as u64, Relaxed),
            "set-max-listpack-entries" => h.set_max_listpack_entries.store(int() as u64, Relaxed),
            "set-max-listpack-value" => h.set_max_listpack_value.store(int() as u64, Relaxed),
            "zset-max-listpack-entries" => h.zset_max_listpack_entries.store(int() as u64, Relaxed),
            "zset-max-listpack-value" => h.zset_max_listpack_value.store(int() as u64, Relaxed),
            "list-max-listpack-size" => h.list_max_listpack_size.store(int(), Relaxed),
            "list-compress-depth" => h.list_compress_depth.store(int() as u64, Relaxed),
            "client-output-buffer-limit" => h.set_output_limits(v),
            "tracking-table-max-keys" => h.tracking_table_max_keys.store(int() as u64, Relaxed),
            "hll-sparse-max-bytes" => h.hll_sparse_max_bytes.store(int() as u64, Relaxed),
            "stream-node-max-bytes" => h.stream_node_max_bytes.store(int() as u64, Relaxed),
            "stream-node-max-entries" => h.stream_node_max_entries.store(int() as u64, Relaxed),
            "slowlog-log-slower-than" => h.slowlog_log_slower_than.store(int(), Relaxed),
            "slowlog-max-len" => h.slowlog_max_len.store(int() as u64, Relaxed),
            "min-replicas-to-write" => h.min_replicas_to_write.store(int().max(0) as u64, Relaxed),
            "min-replicas-max-lag" => h.min_replicas_max_lag.store(int().max(0) as u64, Relaxed),
            "maxmemory" => h.maxmemory.store(int().max(0) as u64, Relaxed),
            "maxmemory-clients" => h.maxmemory_clients.store(
                match v.strip_suffix('%') {
                    Some(pct) => -pct.parse::<i64>().unwrap_or(0),
                    None => int(),
                },
                Relaxed,
            ),
            "maxmemory-policy" => h.maxmemory_policy.store(crate::evict::Policy::from_name(v) as u32, Relaxed),
            "maxmemory-samples" => h.maxmemory_samples.store(int().clamp(1, 64) as u32, Relaxed),
            "maxmemory-eviction-tenacity" => h.maxmemory_eviction_tenacity.store(int().clamp(0, 100) as u32, Relaxed),
            "lfu-log-factor" => h.lfu_log_factor.store(int().clamp(0, i64::from(u32::MAX)) as u32, Relaxed),
            "lfu-decay-time" => h.lfu_decay_time.store(int().clamp(0, i64::from(u32::MAX)) as u32, Relaxed),
            "lazyfree-lazy-eviction" => h.lazyfree_lazy_eviction.store(yes(), Relaxed),
            "loglevel" => h.loglevel.store(
                match v {
                    "debug" => 0,
                    "verbose" => 1,
                    "notice" => 2,
                    "warning" => 3,
                    _ => 4,
                },
                Relaxed,
            ),
            _ => {}
        }
    }
}

fn protection_level(v: &str) -> u32 {
    match v {
        "yes" => PROTECTION_YES,
        "local" => PROTECTION_LOCAL,
        _ => PROTECTION_NO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_set() {
        let c = Config::defaults();
        assert_eq!(c.get("maxclients"), "10000");
        assert_eq!(c.get("proto-max-bulk-len"), "536870912");
        c.set("maxmemory", &[b"100mb"]).unwrap();
        assert_eq!(c.get("maxmemory"), "104857600");
        assert!(c.set("maxmemory", &[b"lots"]).is_err());
        assert!(c.set("no-such-thing", &[b"1"]).is_err());
    }

    #[test]
    fn set_many_is_all_or_nothing() {
        let c = Config::defaults();
        let err = c.set_many(&[(b"timeout", b"5"), (b"maxclients", b"nope")], true, false).unwrap_err();
        assert!(err.starts_with("ERR CONFIG SET failed (possibly related to argument 'maxclients')"), "{err}");
        assert_eq!(c.get("timeout"), "0");
        c.set_many(&[(b"timeout", b"5"), (b"hz", b"20")], true, false).unwrap();
        assert_eq!((c.get("timeout").as_str(), c.get("hz").as_str()), ("5", "20"));
        assert_eq!(c.hot.hz.load(Relaxed), 20);
        assert!(c
            .set_many(&[(b"timeout", b"1"), (b"TIMEOUT", b"2")], true, false)
            .unwrap_err()
            .contains("duplicate parameter"));
        assert!(c.set_many(&[(b"databases", b"4")], true, false).unwrap_err().contains("immutable"));
    }

    #[test]
    fn get_matches_globs_and_aliases() {
        let c = Config::defaults();
        let got = c.get_matching(&[b"maxmemory-p*"]);
        assert!(got.iter().any(|(n, v)| n == "maxmemory-policy" && v == "noeviction"));
        let got = c.get_matching(&[b"slaveof"]);
        assert_eq!(got.len(), 1);
    }
}
