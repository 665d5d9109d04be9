//! The table of configuration directives (Valkey 8's set, with its names, aliases, types,
//! bounds and defaults) and the rules that turn arguments into canonical values.
//!
//! Directives Kvasir does not act on yet carry [`NOT_ACTED_ON`]: they are accepted (so that
//! existing valkey.conf files load) and shown by CONFIG GET, and a non-default value is
//! reported in the log at startup so nobody believes e.g. `appendonly yes` is protecting data.

use super::flags::{DENY_LOADING, HIDDEN, IMMUTABLE, MULTI_ARG, NOT_ACTED_ON, PROTECTED, SENSITIVE};
use super::ValueError;

/// Directives whose parsing is particular to them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Special {
    Dir,
    Save,
    ClientOutputBufferLimit,
    OomScoreAdjValues,
    NotifyKeyspaceEvents,
    Bind,
    Replicaof,
    LatencyTrackingInfoPercentiles,
}

#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Bool,
    Int {
        min: i64,
        max: i64,
    },
    /// A byte count; accepts `k`, `kb`, `m`, `mb`, `g`, `gb` suffixes; `percent` also accepts
    /// `N%` (stored and shown as such).
    Memory {
        min: i64,
        max: i64,
        percent: bool,
    },
    Enum(&'static [&'static str]),
    /// Several enum values at once (`shutdown-on-sigterm nosave now`).
    Flags(&'static [&'static str]),
    Str,
    Special(Special),
}

#[derive(Debug)]
pub struct Param {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub flags: u32,
    pub kind: Kind,
    pub default: &'static str,
}

const fn p(name: &'static str, alias: Option<&'static str>, flags: u32, kind: Kind, default: &'static str) -> Param {
    Param { name, alias, flags, kind, default }
}

use Kind::{Bool, Enum, Flags, Int, Memory, Str};

/// Every directive.
pub static PARAMS: &[Param] = &[
    p("rdbchecksum", None, IMMUTABLE, Bool, "yes"),
    p("daemonize", None, IMMUTABLE, Bool, "no"),
    p("io-threads-do-reads", None, IMMUTABLE, Bool, "yes"),
    p("always-show-logo", None, IMMUTABLE, Bool, "no"),
    p("protected-mode", None, 0, Bool, "yes"),
    p("rdbcompression", None, 0, Bool, "yes"),
    p("rdb-del-sync-files", None, NOT_ACTED_ON, Bool, "no"),
    p("activerehashing", None, 0, Bool, "yes"),
    p("stop-writes-on-bgsave-error", None, 0, Bool, "yes"),
    p("set-proc-title", None, IMMUTABLE, Bool, "yes"),
    p("dynamic-hz", None, 0, Bool, "yes"),
    p("lazyfree-lazy-eviction", None, 0, Bool, "yes"),
    p("lazyfree-lazy-expire", None, 0, Bool, "yes"),
    p("lazyfree-lazy-server-del", None, 0, Bool, "yes"),
    p("lazyfree-lazy-user-del", None, 0, Bool, "yes"),
    p("lazyfree-lazy-user-flush", None, 0, Bool, "yes"),
    p("repl-disable-tcp-nodelay", None, NOT_ACTED_ON, Bool, "no"),
    p("repl-diskless-sync", None, NOT_ACTED_ON, Bool, "yes"),
    p("dual-channel-replication-enabled", None, NOT_ACTED_ON, Bool, "no"),
    p("aof-rewrite-incremental-fsync", None, NOT_ACTED_ON, Bool, "yes"),
    p("no-appendfsync-on-rewrite", None, NOT_ACTED_ON, Bool, "no"),
    p("cluster-require-full-coverage", None, NOT_ACTED_ON, Bool, "yes"),
    p("rdb-save-incremental-fsync", None, NOT_ACTED_ON, Bool, "yes"),
    p("aof-load-truncated", None, 0, Bool, "yes"),
    p("aof-use-rdb-preamble", None, 0, Bool, "yes"),
    p("aof-timestamp-enabled", None, NOT_ACTED_ON, Bool, "no"),
    p("cluster-replica-no-failover", Some("cluster-slave-no-failover"), NOT_ACTED_ON, Bool, "no"),
    p("replica-lazy-flush", Some("slave-lazy-flush"), NOT_ACTED_ON, Bool, "yes"),
    p("replica-serve-stale-data", Some("slave-serve-stale-data"), 0, Bool, "yes"),
    p("replica-read-only", Some("slave-read-only"), 0, Bool, "yes"),
    p("replica-ignore-maxmemory", Some("slave-ignore-maxmemory"), NOT_ACTED_ON, Bool, "yes"),
    p("jemalloc-bg-thread", None, 0, Bool, "yes"),
    p("activedefrag", None, NOT_ACTED_ON, Bool, "no"),
    p("syslog-enabled", None, IMMUTABLE, Bool, "no"),
    p("cluster-enabled", None, IMMUTABLE | NOT_ACTED_ON, Bool, "no"),
    p("appendonly", None, DENY_LOADING, Bool, "no"),
    p("cluster-allow-reads-when-down", None, NOT_ACTED_ON, Bool, "no"),
    p("cluster-allow-pubsubshard-when-down", None, NOT_ACTED_ON, Bool, "yes"),
    p("crash-log-enabled", None, 0, Bool, "yes"),
    p("crash-memcheck-enabled", None, 0, Bool, "yes"),
    p("use-exit-on-panic", None, HIDDEN, Bool, "no"),
    p("disable-thp", None, IMMUTABLE, Bool, "yes"),
    p("cluster-allow-replica-migration", None, NOT_ACTED_ON, Bool, "yes"),
    p("replica-announced", None, NOT_ACTED_ON, Bool, "yes"),
    p("latency-tracking", None, NOT_ACTED_ON, Bool, "yes"),
    p("aof-disable-auto-gc", None, HIDDEN | NOT_ACTED_ON, Bool, "no"),
    p("replica-ignore-disk-write-errors", None, NOT_ACTED_ON, Bool, "no"),
    p("extended-redis-compatibility", None, 0, Bool, "no"),
    p("enable-debug-assert", None, IMMUTABLE | HIDDEN, Bool, "no"),
    p("cluster-slot-stats-enabled", None, NOT_ACTED_ON, Bool, "no"),
    p("hide-user-data-from-log", None, 0, Bool, "yes"),
    p("aclfile", None, IMMUTABLE | NOT_ACTED_ON, Str, ""),
    p("unixsocket", None, IMMUTABLE | NOT_ACTED_ON, Str, ""),
    p("unixsocketgroup", None, IMMUTABLE | NOT_ACTED_ON, Str, ""),
    p("pidfile", None, IMMUTABLE, Str, ""),
    p("replica-announce-ip", Some("slave-announce-ip"), NOT_ACTED_ON, Str, ""),
    p("primaryuser", Some("masteruser"), SENSITIVE, Str, ""),
    p("cluster-announce-ip", None, NOT_ACTED_ON, Str, ""),
    p("cluster-announce-client-ipv4", None, NOT_ACTED_ON, Str, ""),
    p("cluster-announce-client-ipv6", None, NOT_ACTED_ON, Str, ""),
    p("cluster-config-file", None, IMMUTABLE | NOT_ACTED_ON, Str, "nodes.conf"),
    p("cluster-announce-hostname", None, NOT_ACTED_ON, Str, ""),
    p("cluster-announce-human-nodename", None, NOT_ACTED_ON, Str, ""),
    p("syslog-ident", None, IMMUTABLE, Str, "kvasir"),
    p("dbfilename", None, PROTECTED, Str, "dump.rdb"),
    p("appendfilename", None, IMMUTABLE, Str, "appendonly.aof"),
    p("appenddirname", None, IMMUTABLE, Str, "appendonlydir"),
    p("server-cpulist", Some("server_cpulist"), IMMUTABLE | NOT_ACTED_ON, Str, ""),
    p("bio-cpulist", Some("bio_cpulist"), IMMUTABLE | NOT_ACTED_ON, Str, ""),
    p("aof-rewrite-cpulist", Some("aof_rewrite_cpulist"), IMMUTABLE | NOT_ACTED_ON, Str, ""),
    p("bgsave-cpulist", Some("bgsave_cpulist"), IMMUTABLE | NOT_ACTED_ON, Str, ""),
    p("ignore-warnings", None, 0, Str, ""),
    p("proc-title-template", None, 0, Str, "{title} {listen-addr} {server-mode}"),
    p("bind-source-addr", None, NOT_ACTED_ON, Str, ""),
    p("logfile", None, IMMUTABLE, Str, ""),
    p("req-res-logfile", None, IMMUTABLE | HIDDEN | NOT_ACTED_ON, Str, ""),
    p("locale-collate", None, 0, Str, ""),
    p("debug-context", None, HIDDEN, Str, ""),
    p("primaryauth", Some("masterauth"), SENSITIVE, Str, ""),
    p("requirepass", None, SENSITIVE, Str, ""),
    p("availability-zone", None, NOT_ACTED_ON, Str, ""),
    p("supervised", None, IMMUTABLE, Enum(&["upstart", "systemd", "auto", "no"]), "no"),
    p(
        "syslog-facility",
        None,
        IMMUTABLE,
        Enum(&["user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"]),
        "local0",
    ),
    p(
        "repl-diskless-load",
        None,
        NOT_ACTED_ON | DENY_LOADING,
        Enum(&["disabled", "on-empty-db", "swapdb"]),
        "disabled",
    ),
    p("loglevel", None, 0, Enum(&["debug", "verbose", "notice", "warning", "nothing"]), "notice"),
    p(
        "maxmemory-policy",
        None,
        0,
        Enum(&[
            "volatile-lru",
            "volatile-lfu",
            "volatile-random",
            "volatile-ttl",
            "allkeys-lru",
            "allkeys-lfu",
            "allkeys-random",
            "noeviction",
        ]),
        "noeviction",
    ),
    p("appendfsync", None, 0, Enum(&["everysec", "always", "no"]), "everysec"),
    p("oom-score-adj", None, NOT_ACTED_ON, Enum(&["no", "yes", "relative", "absolute"]), "no"),
    p("acl-pubsub-default", None, NOT_ACTED_ON, Enum(&["allchannels", "resetchannels"]), "resetchannels"),
    p("sanitize-dump-payload", None, NOT_ACTED_ON, Enum(&["no", "yes", "clients"]), "no"),
    p("enable-protected-configs", None, IMMUTABLE, Enum(&["no", "yes", "local"]), "no"),
    p("enable-debug-command", None, IMMUTABLE, Enum(&["no", "yes", "local"]), "no"),
    p("enable-module-command", None, IMMUTABLE, Enum(&["no", "yes", "local"]), "no"),
    p("cluster-preferred-endpoint-type", None, NOT_ACTED_ON, Enum(&["ip", "hostname", "unknown-endpoint"]), "ip"),
    p("propagation-error-behavior", None, NOT_ACTED_ON, Enum(&["ignore", "panic", "panic-on-replicas"]), "ignore"),
    p("shutdown-on-sigint", None, MULTI_ARG, Flags(&["default", "save", "nosave", "now", "force"]), "default"),
    p("shutdown-on-sigterm", None, MULTI_ARG, Flags(&["default", "save", "nosave", "now", "force"]), "default"),
    p("databases", None, IMMUTABLE, Int { min: 1, max: 2147483647 }, "16"),
    p("port", None, 0, Int { min: 0, max: 65535 }, "6379"),
    p("io-threads", None, IMMUTABLE, Int { min: 1, max: 128 }, "1"),
    p("events-per-io-thread", None, 0, Int { min: 0, max: 2147483647 }, "2"),
    p("prefetch-batch-max-size", None, 0, Int { min: 0, max: 128 }, "16"),
    p("auto-aof-rewrite-percentage", None, 0, Int { min: 0, max: 2147483647 }, "100"),
    p(
        "cluster-replica-validity-factor",
        Some("cluster-slave-validity-factor"),
        NOT_ACTED_ON,
        Int { min: 0, max: 2147483647 },
        "10",
    ),
    p("list-max-listpack-size", Some("list-max-ziplist-size"), 0, Int { min: -2147483648, max: 2147483647 }, "-2"),
    p("tcp-keepalive", None, 0, Int { min: 0, max: 2147483647 }, "300"),
    p("cluster-migration-barrier", None, NOT_ACTED_ON, Int { min: 0, max: 2147483647 }, "1"),
    p("active-defrag-cycle-min", None, NOT_ACTED_ON, Int { min: 1, max: 99 }, "1"),
    p("active-defrag-cycle-max", None, NOT_ACTED_ON, Int { min: 1, max: 99 }, "25"),
    p("active-defrag-threshold-lower", None, NOT_ACTED_ON, Int { min: 0, max: 1000 }, "10"),
    p("active-defrag-threshold-upper", None, NOT_ACTED_ON, Int { min: 0, max: 1000 }, "100"),
    p("lfu-log-factor", None, 0, Int { min: 0, max: 2147483647 }, "10"),
    p("lfu-decay-time", None, 0, Int { min: 0, max: 2147483647 }, "1"),
    p("replica-priority", Some("slave-priority"), NOT_ACTED_ON, Int { min: 0, max: 2147483647 }, "100"),
    p("repl-diskless-sync-delay", None, NOT_ACTED_ON, Int { min: 0, max: 2147483647 }, "5"),
    p("maxmemory-samples", None, 0, Int { min: 1, max: 64 }, "5"),
    p("maxmemory-eviction-tenacity", None, 0, Int { min: 0, max: 100 }, "10"),
    p("timeout", None, 0, Int { min: 0, max: 2147483647 }, "0"),
    p("replica-announce-port", Some("slave-announce-port"), NOT_ACTED_ON, Int { min: 0, max: 65535 }, "0"),
    p("tcp-backlog", None, IMMUTABLE, Int { min: 0, max: 2147483647 }, "511"),
    p("cluster-port", None, IMMUTABLE | NOT_ACTED_ON, Int { min: 0, max: 65535 }, "0"),
    p("cluster-announce-bus-port", None, NOT_ACTED_ON, Int { min: 0, max: 65535 }, "0"),
    p("cluster-announce-port", None, NOT_ACTED_ON, Int { min: 0, max: 65535 }, "0"),
    p("cluster-announce-tls-port", None, NOT_ACTED_ON, Int { min: 0, max: 65535 }, "0"),
    p("repl-timeout", None, 0, Int { min: 1, max: 2147483647 }, "60"),
    p("repl-ping-replica-period", Some("repl-ping-slave-period"), NOT_ACTED_ON, Int { min: 1, max: 2147483647 }, "10"),
    p("list-compress-depth", None, 0, Int { min: 0, max: 2147483647 }, "0"),
    p("rdb-key-save-delay", None, HIDDEN | NOT_ACTED_ON, Int { min: -2147483648, max: 2147483647 }, "0"),
    p("key-load-delay", None, HIDDEN, Int { min: -2147483648, max: 2147483647 }, "0"),
    p("active-expire-effort", None, 0, Int { min: 1, max: 10 }, "1"),
    p("hz", None, 0, Int { min: 0, max: 2147483647 }, "10"),
    p("min-replicas-to-write", Some("min-slaves-to-write"), 0, Int { min: 0, max: 2147483647 }, "0"),
    p("min-replicas-max-lag", Some("min-slaves-max-lag"), 0, Int { min: 0, max: 2147483647 }, "10"),
    p("watchdog-period", None, HIDDEN, Int { min: 0, max: 2147483647 }, "0"),
    p("shutdown-timeout", None, 0, Int { min: 0, max: 2147483647 }, "10"),
    p("repl-diskless-sync-max-replicas", None, NOT_ACTED_ON, Int { min: 0, max: 2147483647 }, "0"),
    p("maxclients", None, 0, Int { min: 1, max: 4294967295 }, "10000"),
    p("unixsocketperm", None, IMMUTABLE | NOT_ACTED_ON, Int { min: 0, max: 511 }, "0"),
    p("socket-mark-id", None, IMMUTABLE | NOT_ACTED_ON, Int { min: 0, max: 4294967295 }, "0"),
    p("max-new-connections-per-cycle", None, 0, Int { min: 1, max: 1000 }, "10"),
    p("max-new-tls-connections-per-cycle", None, 0, Int { min: 1, max: 1000 }, "1"),
    p("client-default-resp", None, IMMUTABLE | HIDDEN, Int { min: 2, max: 3 }, "2"),
    p("active-defrag-max-scan-fields", None, NOT_ACTED_ON, Int { min: 1, max: 9223372036854775807 }, "1000"),
    p("slowlog-max-len", None, 0, Int { min: 0, max: 9223372036854775807 }, "128"),
    p("acllog-max-len", None, NOT_ACTED_ON, Int { min: 0, max: 9223372036854775807 }, "128"),
    p("cluster-blacklist-ttl", None, NOT_ACTED_ON, Int { min: 0, max: 9223372036854775807 }, "60"),
    p("busy-reply-threshold", Some("lua-time-limit"), NOT_ACTED_ON, Int { min: 0, max: 9223372036854775807 }, "5000"),
    p("cluster-node-timeout", None, NOT_ACTED_ON, Int { min: 0, max: 9223372036854775807 }, "15000"),
    p("cluster-ping-interval", None, HIDDEN | NOT_ACTED_ON, Int { min: 0, max: 9223372036854775807 }, "0"),
    p("slowlog-log-slower-than", None, 0, Int { min: -1, max: 9223372036854775807 }, "10000"),
    p("latency-monitor-threshold", None, NOT_ACTED_ON, Int { min: 0, max: 9223372036854775807 }, "0"),
    p("proto-max-bulk-len", None, 0, Memory { min: 1048576, max: 9223372036854775807, percent: false }, "536870912"),
    p("stream-node-max-entries", None, 0, Int { min: 0, max: 9223372036854775807 }, "100"),
    p("repl-backlog-size", None, NOT_ACTED_ON, Memory { min: 1, max: 9223372036854775807, percent: false }, "10485760"),
    p("maxmemory", None, 0, Memory { min: 0, max: 9223372036854775807, percent: false }, "0"),
    p(
        "cluster-link-sendbuf-limit",
        None,
        NOT_ACTED_ON,
        Memory { min: 0, max: 9223372036854775807, percent: false },
        "0",
    ),
    p(
        "hash-max-listpack-entries",
        Some("hash-max-ziplist-entries"),
        NOT_ACTED_ON,
        Int { min: 0, max: 9223372036854775807 },
        "512",
    ),
    p("set-max-intset-entries", None, 0, Int { min: 0, max: 9223372036854775807 }, "512"),
    p("set-max-listpack-entries", None, 0, Int { min: 0, max: 9223372036854775807 }, "128"),
    p("set-max-listpack-value", None, 0, Int { min: 0, max: 9223372036854775807 }, "64"),
    p(
        "zset-max-listpack-entries",
        Some("zset-max-ziplist-entries"),
        NOT_ACTED_ON,
        Int { min: 0, max: 9223372036854775807 },
        "128",
    ),
    p(
        "active-defrag-ignore-bytes",
        None,
        NOT_ACTED_ON,
        Memory { min: 1, max: 9223372036854775807, percent: false },
        "104857600",
    ),
    p(
        "hash-max-listpack-value",
        Some("hash-max-ziplist-value"),
        NOT_ACTED_ON,
        Memory { min: 0, max: 9223372036854775807, percent: false },
        "64",
    ),
    p("stream-node-max-bytes", None, 0, Memory { min: 0, max: 9223372036854775807, percent: false }, "4096"),
    p(
        "zset-max-listpack-value",
        Some("zset-max-ziplist-value"),
        NOT_ACTED_ON,
        Memory { min: 0, max: 9223372036854775807, percent: false },
        "64",
    ),
    p("hll-sparse-max-bytes", None, 0, Memory { min: 0, max: 9223372036854775807, percent: false }, "3000"),
    p("tracking-table-max-keys", None, 0, Int { min: 0, max: 9223372036854775807 }, "1000000"),
    p(
        "client-query-buffer-limit",
        None,
        0,
        Memory { min: 1048576, max: 9223372036854775807, percent: false },
        "1073741824",
    ),
    p("maxmemory-clients", None, 0, Memory { min: -100, max: 9223372036854775807, percent: true }, "0"),
    p("repl-backlog-ttl", None, NOT_ACTED_ON, Int { min: 0, max: 9223372036854775807 }, "3600"),
    p("auto-aof-rewrite-min-size", None, 0, Memory { min: 0, max: 9223372036854775807, percent: false }, "67108864"),
    p("loading-process-events-interval-bytes", None, HIDDEN, Int { min: 1024, max: 2147483647 }, "2097152"),
    p("tls-port", None, NOT_ACTED_ON, Int { min: 0, max: 65535 }, "0"),
    p("tls-session-cache-size", None, NOT_ACTED_ON, Int { min: 0, max: 2147483647 }, "20480"),
    p("tls-session-cache-timeout", None, NOT_ACTED_ON, Int { min: 0, max: 2147483647 }, "300"),
    p("tls-cluster", None, NOT_ACTED_ON, Bool, "no"),
    p("tls-replication", None, NOT_ACTED_ON, Bool, "no"),
    p("tls-auth-clients", None, NOT_ACTED_ON, Enum(&["no", "yes", "optional"]), "yes"),
    p("tls-prefer-server-ciphers", None, NOT_ACTED_ON, Bool, "no"),
    p("tls-session-caching", None, NOT_ACTED_ON, Bool, "yes"),
    p("tls-cert-file", None, NOT_ACTED_ON, Str, ""),
    p("tls-key-file", None, NOT_ACTED_ON, Str, ""),
    p("tls-key-file-pass", None, SENSITIVE | NOT_ACTED_ON, Str, ""),
    p("tls-client-cert-file", None, NOT_ACTED_ON, Str, ""),
    p("tls-client-key-file", None, NOT_ACTED_ON, Str, ""),
    p("tls-client-key-file-pass", None, SENSITIVE | NOT_ACTED_ON, Str, ""),
    p("tls-dh-params-file", None, NOT_ACTED_ON, Str, ""),
    p("tls-ca-cert-file", None, NOT_ACTED_ON, Str, ""),
    p("tls-ca-cert-dir", None, NOT_ACTED_ON, Str, ""),
    p("tls-protocols", None, NOT_ACTED_ON, Str, ""),
    p("tls-ciphers", None, NOT_ACTED_ON, Str, ""),
    p("tls-ciphersuites", None, NOT_ACTED_ON, Str, ""),
    p("dir", None, PROTECTED | DENY_LOADING, Kind::Special(Special::Dir), "."),
    p("save", None, MULTI_ARG, Kind::Special(Special::Save), "3600 1 300 100 60 10000"),
    p(
        "client-output-buffer-limit",
        None,
        MULTI_ARG,
        Kind::Special(Special::ClientOutputBufferLimit),
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
    ),
    p("oom-score-adj-values", None, MULTI_ARG | NOT_ACTED_ON, Kind::Special(Special::OomScoreAdjValues), "0 200 800"),
    p("notify-keyspace-events", None, 0, Kind::Special(Special::NotifyKeyspaceEvents), ""),
    p("bind", None, MULTI_ARG, Kind::Special(Special::Bind), "127.0.0.1 -::1"),
    p("replicaof", Some("slaveof"), IMMUTABLE | MULTI_ARG, Kind::Special(Special::Replicaof), ""),
    p(
        "latency-tracking-info-percentiles",
        None,
        MULTI_ARG,
        Kind::Special(Special::LatencyTrackingInfoPercentiles),
        "50 99 99.9",
    ),
    // Kvasir's own: worker threads running connections and commands (0 = one per CPU).
    // Hidden from CONFIG GET patterns: tools that walk `CONFIG GET *` know Valkey's directives.
    p("worker-threads", None, IMMUTABLE | HIDDEN, Int { min: 0, max: 1024 }, "0"),
];

/// Parses a memory value (`100mb`, `1gb`, `4096`, `1k`), as Valkey's `memtoull`.
pub fn parse_memory(s: &[u8]) -> Option<u64> {
    let s = std::str::from_utf8(s).ok()?.to_ascii_lowercase();
    let split = s.find(|c: char| !c.is_ascii_digit() && c != '-').unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let mul: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    let n: u64 = num.parse().ok()?;
    n.checked_mul(mul)
}

/// CONFIG SET takes one argument per directive; multi-argument directives split it on spaces
/// (`CONFIG SET save "3600 1 300 100"`).
pub fn split_set_value(p: &Param, value: &[u8]) -> Vec<Vec<u8>> {
    if p.flags & MULTI_ARG != 0 {
        let parts: Vec<Vec<u8>> = value.split(|&b| b == b' ').filter(|w| !w.is_empty()).map(|w| w.to_vec()).collect();
        if parts.is_empty() {
            vec![Vec::new()]
        } else {
            parts
        }
    } else {
        vec![value.to_vec()]
    }
}

fn text(a: &[u8]) -> String {
    String::from_utf8_lossy(a).into_owned()
}

fn one<'a>(args: &[&'a [u8]]) -> Result<&'a [u8], ValueError> {
    match args {
        [a] => Ok(a),
        _ => Err(ValueError("wrong number of arguments".into())),
    }
}

/// Validates `args` for `p`, returning the canonical value (what CONFIG GET shows).
pub fn canonicalize(p: &Param, args: &[&[u8]]) -> Result<String, ValueError> {
    match p.kind {
        Kind::Bool => {
            let a = one(args)?;
            if a.eq_ignore_ascii_case(b"yes") {
                Ok("yes".into())
            } else if a.eq_ignore_ascii_case(b"no") {
                Ok("no".into())
            } else {
                Err(ValueError("argument must be 'yes' or 'no'".into()))
            }
        }
        Kind::Int { min, max } => {
            let a = one(args)?;
            let v: i64 = resp::number::parse_i64(a)
                .ok_or_else(|| ValueError("argument couldn't be parsed into an integer".into()))?;
            if v < min || v > max {
                return Err(ValueError(format!("argument must be between {min} and {max} inclusive")));
            }
            Ok(v.to_string())
        }
        Kind::Memory { min, max, percent } => {
            let a = one(args)?;
            if percent && a.last() == Some(&b'%') {
                let n = resp::number::parse_i64(&a[..a.len() - 1])
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| ValueError("argument must be a memory or percent value".into()))?;
                if -n < min {
                    return Err(ValueError(format!("percentage argument must be less or equal to {}", -min)));
                }
                return Ok(format!("{n}%"));
            }
            let v = parse_memory(a).ok_or_else(|| {
                ValueError(
                    if percent {
                        "argument must be a memory or percent value"
                    } else {
                        "argument must be a memory value"
                    }
                    .into(),
                )
            })?;
            if (v as i128) < min as i128 || (v as i128) > max as i128 {
                return Err(ValueError(format!("argument must be between {min} and {max} inclusive")));
            }
            Ok(v.to_string())
        }
        Kind::Enum(names) => {
            let a = one(args)?;
            names
                .iter()
                .find(|n| a.eq_ignore_ascii_case(n.as_bytes()))
                .map(|n| n.to_string())
                .ok_or_else(|| ValueError(format!("argument(s) must be one of the following: {}", names.join(", "))))
        }
        Kind::Flags(names) => {
            let mut out: Vec<&str> = Vec::new();
            for a in args.iter().flat_map(|a| a.split(|&b| b == b' ')).filter(|a| !a.is_empty()) {
                let n = names.iter().find(|n| a.eq_ignore_ascii_case(n.as_bytes())).ok_or_else(|| {
                    ValueError(format!("argument(s) must be one of the following: {}", names.join(", ")))
                })?;
                if !out.contains(n) {
                    out.push(n);
                }
            }
            if out.is_empty() {
                return Err(ValueError(format!("argument(s) must be one of the following: {}", names.join(", "))));
            }
            Ok(out.join(" "))
        }
        Kind::Str => Ok(text(one(args)?)),
        Kind::Special(s) => special(s, args),
    }
}

fn special(s: Special, args: &[&[u8]]) -> Result<String, ValueError> {
    let words: Vec<String> = args.iter().map(|a| text(a)).filter(|w| !w.is_empty()).collect();
    match s {
        Special::Dir => {
            let dir = text(one(args)?);
            match std::fs::metadata(&dir) {
                Ok(m) if m.is_dir() => Ok(std::fs::canonicalize(&dir).map(|p| p.display().to_string()).unwrap_or(dir)),
                Ok(_) => Err(ValueError("Not a directory".into())),
                Err(e) => Err(ValueError(io_error_text(&e))),
            }
        }
        Special::Save => {
            if !words.len().is_multiple_of(2) {
                return Err(ValueError("Invalid save parameters".into()));
            }
            for w in &words {
                if resp::number::parse_i64(w.as_bytes()).is_none_or(|n| n < 1) {
                    return Err(ValueError("Invalid save parameters".into()));
                }
            }
            Ok(words.join(" "))
        }
        Special::ClientOutputBufferLimit => {
            if words.is_empty() || !words.len().is_multiple_of(4) {
                return Err(ValueError("Wrong number of arguments in buffer limit configuration.".into()));
            }
            let mut out = Vec::new();
            for g in words.chunks(4) {
                let class = match g[0].to_ascii_lowercase().as_str() {
                    "normal" => "normal",
                    "slave" | "replica" => "slave",
                    "pubsub" => "pubsub",
                    _ => {
                        return Err(ValueError("Invalid client class specified in buffer limit configuration.".into()))
                    }
                };
                let hard = parse_memory(g[1].as_bytes());
                let soft = parse_memory(g[2].as_bytes());
                let secs = resp::number::parse_i64(g[3].as_bytes()).filter(|n| *n >= 0);
                match (hard, soft, secs) {
                    (Some(h), Some(s), Some(t)) => out.push(format!("{class} {h} {s} {t}")),
                    _ => {
                        return Err(ValueError(
                            "Error in hard, soft or soft_seconds setting in buffer limit configuration.".into(),
                        ))
                    }
                }
            }
            Ok(out.join(" "))
        }
        Special::OomScoreAdjValues => {
            if words.len() != 3 {
                return Err(ValueError("wrong number of arguments".into()));
            }
            for w in &words {
                match resp::number::parse_i64(w.as_bytes()) {
                    Some(n) if (-2000..=2000).contains(&n) => {}
                    _ => {
                        return Err(ValueError(
                            "Invalid oom-score-adj-values, elements must be between -2000 and 2000.".into(),
                        ))
                    }
                }
            }
            Ok(words.join(" "))
        }
        Special::NotifyKeyspaceEvents => {
            let a = one(args)?;
            let flags = crate::notify::parse_flags(a)
                .ok_or_else(|| ValueError("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into()))?;
            Ok(crate::notify::flags_to_string(flags))
        }
        Special::Bind => {
            if words.len() > 16 {
                return Err(ValueError("Too many bind addresses specified.".into()));
            }
            Ok(words.join(" "))
        }
        Special::Replicaof => {
            if words.len() != 2 {
                return Err(ValueError("wrong number of arguments".into()));
            }
            if words[0].eq_ignore_ascii_case("no") && words[1].eq_ignore_ascii_case("one") {
                return Ok(String::new());
            }
            if resp::number::parse_i64(words[1].as_bytes()).is_none_or(|p| !(0..=65535).contains(&p)) {
                return Err(ValueError("Invalid primary port".into()));
            }
            Ok(words.join(" "))
        }
        Special::LatencyTrackingInfoPercentiles => {
            for w in &words {
                match w.parse::<f64>() {
                    Ok(v) if (0.0..=100.0).contains(&v) => {}
                    _ => {
                        return Err(ValueError(
                            "latency-tracking-info-percentiles should be between 0.0 and 100.0".into(),
                        ))
                    }
                }
            }
            Ok(words.join(" "))
        }
    }
}

/// The C library's text for an I/O error (what Valkey prints via strerror).
pub fn io_error_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(name: &str) -> &'static Param {
        PARAMS.iter().find(|p| p.name == name).unwrap()
    }

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory(b"1k"), Some(1000));
        assert_eq!(parse_memory(b"1KB"), Some(1024));
        assert_eq!(parse_memory(b"2gb"), Some(2 << 30));
        assert_eq!(parse_memory(b"12"), Some(12));
        assert_eq!(parse_memory(b"1xb"), None);
        assert_eq!(parse_memory(b"-1"), None);
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(canonicalize(param("appendonly"), &[b"YES"]).unwrap(), "yes");
        assert_eq!(canonicalize(param("maxmemory-policy"), &[b"AllKeys-LRU"]).unwrap(), "allkeys-lru");
        assert!(canonicalize(param("hz"), &[b"x"]).is_err());
        assert_eq!(canonicalize(param("save"), &[b"3600", b"1"]).unwrap(), "3600 1");
        assert_eq!(canonicalize(param("save"), &[b""]).unwrap(), "");
        assert!(canonicalize(param("save"), &[b"3600"]).is_err());
        assert_eq!(canonicalize(param("notify-keyspace-events"), &[b"KEA"]).unwrap(), "AKE");
        assert_eq!(canonicalize(param("shutdown-on-sigterm"), &[b"nosave now"]).unwrap(), "nosave now");
        assert_eq!(canonicalize(param("maxmemory-clients"), &[b"10%"]).unwrap(), "10%");
        assert_eq!(
            canonicalize(param("client-output-buffer-limit"), &[b"pubsub", b"32mb", b"8mb", b"60"]).unwrap(),
            "pubsub 33554432 8388608 60"
        );
    }

    #[test]
    fn every_default_is_valid() {
        for p in PARAMS {
            let args = split_set_value(p, p.default.as_bytes());
            let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
            if matches!(p.kind, Kind::Special(Special::Replicaof | Special::ClientOutputBufferLimit))
                || p.default.is_empty()
            {
                continue;
            }
            canonicalize(p, &refs).unwrap_or_else(|e| panic!("{}: {:?}", p.name, e));
        }
    }
}
