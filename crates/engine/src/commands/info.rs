//! INFO: Valkey 8.0's sections and fields, in Valkey's order, every one of them measured.
//!
//! Fields about machinery Kvasir does not have (forks, AOF, replicas, Lua, defrag, I/O
//! threads) report the idle state that is true of this server: no fork ever ran, AOF is off,
//! there are no replicas. Everything else comes from the engine: statistics from the
//! per-thread counters (`stats.rs`), clients from the registry, memory from the allocator via
//! the host, the keyspace from the shards (locked one at a time, never all at once).
//! `latencystats` is not produced: Kvasir keeps no latency histograms.

use super::table::{acl, flags::*, Command, Doc, DocMeta};
use super::{CmdResult, Ctx};
use crate::engine::{Engine, MemoryStats};
use crate::keyspace::SHARDS;
use crate::stats::{Counter, Metric};
use crate::util::bytes_to_human;
use std::collections::HashSet;
use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;

pub static COMMANDS: &[Command] = &[Command {
    name: "info",
    arity: -1,
    flags: LOADING | STALE,
    acl: acl::DANGEROUS,
    handler: Some(info),
    tips: &["nondeterministic_output", "request_policy:all_shards", "response_policy:special"],
    doc: Doc {
        summary: "Returns information and statistics about the server.",
        since: "1.0.0",
        group: "server",
        complexity: "O(1)",
        syntax: "[section [section ...]]",
    },
    doc_meta: DocMeta {
        history: &[("7.0.0", "Added support for taking multiple section arguments.")],
        ..DocMeta::NONE
    },
    ..Command::DEFAULT
}];

const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "module_list",
    "errorstats",
    "cluster",
    "keyspace",
];

/// Which sections a request asked for.
pub struct Sections {
    all: bool,
    names: HashSet<String>,
}

impl Sections {
    /// Valkey's `genInfoSectionDict`: no argument means the default sections; `default`,
    /// `all` and `everything` can be mixed with section names. Names are case-insensitive.
    pub fn parse(args: &[&[u8]]) -> Sections {
        let mut s = Sections { all: false, names: HashSet::new() };
        if args.is_empty() {
            s.names.extend(DEFAULT_SECTIONS.iter().map(|n| n.to_string()));
        }
        for a in args {
            let name = String::from_utf8_lossy(a).to_ascii_lowercase();
            match name.as_str() {
                "default" => s.names.extend(DEFAULT_SECTIONS.iter().map(|n| n.to_string())),
                "all" | "everything" => s.all = true,
                _ => {
                    s.names.insert(name);
                }
            }
        }
        s
    }

    fn wants(&self, name: &str) -> bool {
        self.all || self.names.contains(name)
    }
}

fn info(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let sections = Sections::parse(&argv[1..]);
    let text = generate(ctx.engine, &sections);
    ctx.out.verbatim("txt", text.as_bytes());
    Ok(())
}

/// Builds the INFO text for `sections`.
pub fn generate(engine: &Engine, sections: &Sections) -> String {
    // Memory is measured before the reply is built, so that used_memory does not count the
    // INFO text itself.
    let figures = sections.wants("memory").then(|| memory_figures(engine));
    let mut out = String::with_capacity(4096);
    let mut add = |title: &str, body: &dyn Fn(&mut String)| {
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        let _ = write!(out, "# {title}\r\n");
        body(&mut out);
    };
    if sections.wants("server") {
        add("Server", &|o| server(engine, o));
    }
    if sections.wants("clients") {
        add("Clients", &|o| clients(engine, o));
    }
    if let Some(f) = &figures {
        add("Memory", &|o| memory(engine, f, o));
    }
    if sections.wants("persistence") {
        add("Persistence", &|o| persistence(engine, o));
    }
    if sections.wants("stats") {
        add("Stats", &|o| stats(engine, o));
    }
    if sections.wants("replication") {
        add("Replication", &|o| replication(engine, o));
    }
    if sections.wants("cpu") {
        add("CPU", &|o| cpu(o));
    }
    if sections.wants("module_list") || sections.names.contains("modules") {
        // No modules can be loaded: the section is always empty.
        add("Modules", &|_| {});
    }
    if sections.wants("commandstats") {
        add("Commandstats", &|o| commandstats(engine, o));
    }
    if sections.wants("errorstats") {
        add("Errorstats", &|o| errorstats(engine, o));
    }
    if sections.wants("cluster") {
        add("Cluster", &|o| o.push_str("cluster_enabled:0\r\n"));
    }
    if sections.wants("keyspace") {
        add("Keyspace", &|o| keyspace(engine, o));
    }
    out
}

/// Writes `name:value\r\n`.
fn field(o: &mut String, name: &str, value: impl std::fmt::Display) {
    let _ = write!(o, "{name}:{value}\r\n");
}

/// INFO values may not contain the characters that structure INFO (`getSafeInfoString`).
fn safe(s: &str) -> String {
    s.chars().map(|c| if matches!(c, '#' | ':' | '\n' | '\r') { '_' } else { c }).collect()
}

fn uname() -> (String, String, String) {
    // SAFETY: uname fills the zeroed struct; its fields are NUL-terminated C strings.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return (String::new(), String::new(), String::new());
        }
        let s = |f: &[libc::c_char]| std::ffi::CStr::from_ptr(f.as_ptr()).to_string_lossy().into_owned();
        (s(&u.sysname), s(&u.release), s(&u.machine))
    }
}

/// A stable identifier of this build (Valkey's `redis_build_id`).
fn build_id() -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in concat!("kvasir-", env!("CARGO_PKG_VERSION")).bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100000001b3);
    }
    format!("{h:x}")
}

fn server(engine: &Engine, o: &mut String) {
    let config = &engine.config;
    let redis_compat = config.get_bool("extended-redis-compatibility");
    let (sysname, release, machine) = uname();
    let uptime = engine.uptime_secs();
    let hz = engine.config.hot.hz.load(Relaxed);
    field(o, "redis_version", crate::REDIS_VERSION);
    field(o, "server_name", "valkey");
    field(o, "valkey_version", crate::VALKEY_VERSION);
    field(o, "kvasir_version", crate::KVASIR_VERSION);
    field(o, "redis_git_sha1", "00000000");
    field(o, "redis_git_dirty", 0);
    field(o, "redis_build_id", build_id());
    field(o, if redis_compat { "redis_mode" } else { "server_mode" }, "standalone");
    field(o, "os", format!("{sysname} {release} {machine}"));
    field(o, "arch_bits", usize::BITS);
    field(o, "monotonic_clock", "POSIX clock_gettime");
    field(o, "multiplexing_api", "epoll");
    // Not built by a C compiler.
    field(o, "gcc_version", "0.0.0");
    field(o, "process_id", std::process::id());
    field(o, "process_supervised", "no");
    field(o, "run_id", &engine.run_id);
    field(o, "tcp_port", engine.host.tcp_port());
    field(o, "server_time_usec", crate::util::now_us());
    field(o, "uptime_in_seconds", uptime);
    field(o, "uptime_in_days", uptime / 86400);
    field(o, "hz", hz);
    field(o, "configured_hz", config.get("hz"));
    field(o, "lru_clock", Engine::lru_clock_at(crate::util::now_ms()));
    field(o, "executable", engine.host.executable());
    field(o, "config_file", config.file.as_ref().map(|p| p.display().to_string()).unwrap_or_default());
    field(o, "io_threads_active", 0);
    field(o, "availability_zone", config.get("availability-zone"));
    let _ = write!(o, "listener0:name=tcp");
    for addr in config.get("bind").split_whitespace() {
        let _ = write!(o, ",bind={addr}");
    }
    let _ = write!(o, ",port={}\r\n", engine.host.tcp_port());
}

fn clients(engine: &Engine, o: &mut String) {
    let all = engine.clients.all();
    let (mut replicas, mut blocked, mut tracking, mut pubsub, mut watching, mut watched) = (0, 0, 0, 0, 0, 0);
    let (mut max_in, mut max_out) = (0, 0);
    for c in &all {
        let f = *c.flags.lock();
        replicas += usize::from(f.replica && !f.monitor);
        // A client held by CLIENT PAUSE is blocked without a slot.
        blocked += usize::from(f.blocked && !engine.blocked.is_finished(c.id));
        tracking += usize::from(f.tracking);
        let subs = c.sub.load(Relaxed) + c.psub.load(Relaxed) + c.ssub.load(Relaxed);
        pubsub += usize::from(subs > 0);
        let w = c.watch.load(Relaxed);
        watching += usize::from(w > 0);
        watched += w;
        max_in = max_in.max(c.qbuf.load(Relaxed) + c.qbuf_free.load(Relaxed));
        max_out = max_out.max(c.obuf.load(Relaxed));
    }
    field(o, "connected_clients", all.len() - replicas);
    field(o, "cluster_connections", 0);
    field(o, "maxclients", engine.config.hot.maxclients.load(Relaxed));
    field(o, "client_recent_max_input_buffer", max_in);
    field(o, "client_recent_max_output_buffer", max_out);
    field(o, "blocked_clients", blocked);
    field(o, "tracking_clients", tracking);
    field(o, "pubsub_clients", pubsub);
    field(o, "watching_clients", watching);
    // Blocking commands with a timeout do not exist yet, so no client waits on a timeout.
    field(o, "clients_in_timeout_table", 0);
    // Per-client counts summed: a key watched by two clients counts twice.
    field(o, "total_watched_keys", watched);
    // Keys with blocked clients, counted shard by shard (a shard busy elsewhere, e.g. held by
    // the transaction running this INFO, is skipped rather than waited for).
    let (mut blocking, mut on_nokey) = (0, 0);
    for db in 0..engine.keyspace.databases() {
        for shard in 0..crate::keyspace::SHARDS {
            if let Some((k, n)) = engine.keyspace.try_with_shard(db, shard, |s| s.waiters.counts()) {
                blocking += k;
                on_nokey += n;
            }
        }
    }
    field(o, "total_blocking_keys", blocking);
    field(o, "total_blocking_keys_on_nokey", on_nokey);
}

/// Physical memory of the machine, in bytes (0 if unknown).
pub fn total_system_memory() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let (pages, page) = unsafe { (libc::sysconf(libc::_SC_PHYS_PAGES), libc::sysconf(libc::_SC_PAGESIZE)) };
    if pages < 0 || page < 0 {
        0
    } else {
        pages as u64 * page as u64
    }
}

/// Memory of the keyspace's own structures: bucket arrays and the TTL index.
/// What a shard's tables cost beyond the entries: its bucket array and the shard itself.
pub(crate) fn shard_overhead(s: &crate::keyspace::shard::Shard) -> u64 {
    (s.buckets() * 8 + std::mem::size_of_val(s)) as u64
}

fn keyspace_overhead(engine: &Engine) -> u64 {
    let mut total = 0u64;
    for db in 0..engine.keyspace.databases() {
        for shard in 0..SHARDS {
            total += engine.keyspace.with_shard(db, shard, |s| shard_overhead(s) + s.volatile_len() as u64 * 8);
        }
    }
    total
}

/// The memory figures INFO memory and MEMORY STATS report (Valkey's `getMemoryOverheadData`).
#[derive(Clone, Copy)]
pub(crate) struct MemoryFigures {
    pub allocator: MemoryStats,
    /// `used_memory`: what the allocator handed out.
    pub used: u64,
    pub peak: u64,
    pub startup: u64,
    pub clients_normal: u64,
    pub overhead: u64,
    pub dataset: u64,
    /// Used beyond startup (at least 1, a divisor).
    pub net: u64,
}

pub(crate) fn memory_figures(engine: &Engine) -> MemoryFigures {
    let m: MemoryStats = engine.memory();
    let used = m.used;
    let peak = engine.memory_peak.load(Relaxed).max(used);
    let startup = engine.memory_startup.load(Relaxed);
    let clients_normal: u64 = engine.clients.all().iter().map(|c| c.total_memory() as u64).sum();
    let overhead = startup + clients_normal + keyspace_overhead(engine);
    let dataset = used.saturating_sub(overhead);
    let net = if used > startup { used - startup } else { 1 };
    MemoryFigures { allocator: m, used, peak, startup, clients_normal, overhead, dataset, net }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

fn memory(engine: &Engine, figures: &MemoryFigures, o: &mut String) {
    let MemoryFigures { allocator: m, used, peak, startup, clients_normal, overhead, dataset, net } = *figures;
    let system = total_system_memory();
    let maxmemory = engine.config.get_i64("maxmemory").max(0) as u64;
    field(o, "used_memory", used);
    field(o, "used_memory_human", bytes_to_human(used));
    field(o, "used_memory_rss", m.rss);
    field(o, "used_memory_rss_human", bytes_to_human(m.rss));
    field(o, "used_memory_peak", peak);
    field(o, "used_memory_peak_human", bytes_to_human(peak));
    field(o, "used_memory_peak_perc", format!("{:.2}%", ratio(used * 100, peak)));
    field(o, "used_memory_overhead", overhead);
    field(o, "used_memory_startup", startup);
    field(o, "used_memory_dataset", dataset);
    field(o, "used_memory_dataset_perc", format!("{:.2}%", ratio(dataset * 100, net)));
    field(o, "allocator_allocated", m.allocated);
    field(o, "allocator_active", m.active);
    field(o, "allocator_resident", m.resident);
    field(o, "allocator_muzzy", m.muzzy);
    field(o, "total_system_memory", system);
    field(o, "total_system_memory_human", bytes_to_human(system));
    let sm = &engine.scripting.memory;
    let (eval_vm, functions_vm) = (sm.eval_vm.load(Relaxed), sm.functions_vm.load(Relaxed));
    let (eval_scripts, functions_code) = (sm.eval_scripts.load(Relaxed), sm.functions_code.load(Relaxed));
    let (libraries, functions) = engine.scripting.function_counts();
    field(o, "used_memory_lua", eval_vm);
    field(o, "used_memory_vm_eval", eval_vm);
    field(o, "used_memory_lua_human", bytes_to_human(eval_vm));
    field(o, "used_memory_scripts_eval", eval_scripts);
    field(o, "number_of_cached_scripts", sm.cached_scripts.load(Relaxed));
    field(o, "number_of_functions", functions);
    field(o, "number_of_libraries", libraries);
    field(o, "used_memory_vm_functions", functions_vm);
    field(o, "used_memory_vm_total", eval_vm + functions_vm);
    field(o, "used_memory_vm_total_human", bytes_to_human(eval_vm + functions_vm));
    field(o, "used_memory_functions", functions_code);
    field(o, "used_memory_scripts", eval_scripts + functions_code);
    field(o, "used_memory_scripts_human", bytes_to_human(eval_scripts + functions_code));
    field(o, "maxmemory", maxmemory);
    field(o, "maxmemory_human", bytes_to_human(maxmemory));
    field(o, "maxmemory_policy", engine.config.get("maxmemory-policy"));
    field(o, "allocator_frag_ratio", format!("{:.2}", ratio(m.frag_smallbins, m.allocated) + 1.0));
    field(o, "allocator_frag_bytes", m.frag_smallbins);
    field(o, "allocator_rss_ratio", format!("{:.2}", ratio(m.resident, m.active)));
    field(o, "allocator_rss_bytes", m.resident as i64 - m.active as i64);
    field(o, "rss_overhead_ratio", format!("{:.2}", ratio(m.rss, m.resident)));
    field(o, "rss_overhead_bytes", m.rss as i64 - m.resident as i64);
    field(o, "mem_fragmentation_ratio", format!("{:.2}", ratio(m.rss, used)));
    field(o, "mem_fragmentation_bytes", m.rss as i64 - used as i64);
    field(o, "mem_not_counted_for_evict", 0);
    field(o, "mem_replication_backlog", 0);
    field(o, "mem_total_replication_buffers", 0);
    field(o, "mem_clients_slaves", 0);
    field(o, "mem_clients_normal", clients_normal);
    field(o, "mem_cluster_links", 0);
    field(o, "mem_aof_buffer", 0);
    field(o, "mem_allocator", engine.host.allocator());
    // Incremental rehashing keeps both tables of a shard for a few cron ticks; the old table
    // is included in `used_memory_overhead` above rather than split out here.
    field(o, "mem_overhead_db_hashtable_rehashing", 0);
    field(o, "active_defrag_running", 0);
    field(o, "lazyfree_pending_objects", engine.lazyfree_pending());
    field(o, "lazyfreed_objects", engine.lazyfreed_objects());
}

fn persistence(engine: &Engine, o: &mut String) {
    let p = &engine.persistence;
    let now_ms = crate::util::now_ms();
    let loading = p.loading.is_active();
    field(o, "loading", u8::from(loading));
    field(o, "async_loading", 0);
    // No fork, so no copy-on-write: the background save copies the data instead.
    for name in ["current_cow_peak", "current_cow_size", "current_cow_size_age"] {
        field(o, name, 0);
    }
    let (processed, total) = (p.save_keys_processed.load(Relaxed), p.save_keys_total.load(Relaxed));
    let perc = if total == 0 { 0.0 } else { processed as f64 * 100.0 / total as f64 };
    field(o, "current_fork_perc", format!("{perc:.2}"));
    field(o, "current_save_keys_processed", processed);
    field(o, "current_save_keys_total", total);
    field(o, "rdb_changes_since_last_save", engine.changes_since_save());
    let bgsave = p.bgsave_in_progress();
    field(o, "rdb_bgsave_in_progress", u8::from(bgsave.is_some()));
    field(o, "rdb_last_save_time", p.last_save_secs.load(Relaxed));
    field(o, "rdb_last_bgsave_status", if p.last_save_ok.load(Relaxed) { "ok" } else { "err" });
    field(o, "rdb_last_bgsave_time_sec", p.last_bgsave_secs.load(Relaxed));
    field(o, "rdb_current_bgsave_time_sec", bgsave.map_or(-1, |t| (now_ms.saturating_sub(t) / 1000) as i64));
    field(o, "rdb_saves", p.saves.load(Relaxed));
    field(o, "rdb_last_cow_size", 0);
    field(o, "rdb_last_load_keys_expired", p.last_load_keys_expired.load(Relaxed));
    field(o, "rdb_last_load_keys_loaded", p.last_load_keys_loaded.load(Relaxed));
    crate::aof::info(engine, &mut |name, value| field(o, name, value));
    field(o, "module_fork_in_progress", 0);
    field(o, "module_fork_last_cow_size", 0);
    crate::aof::info_on(engine, &mut |name, value| field(o, name, value));
    if loading {
        for (name, value) in p.loading.info_fields(now_ms / 1000) {
            field(o, name, value);
        }
    }
}

fn stats(engine: &Engine, o: &mut String) {
    let s = &engine.stats;
    let get = |c: Counter| s.get(c);
    let inst = |m: Metric| s.instantaneous.get(m);
    let kbps = |m: Metric| format!("{:.2}", inst(m) as f64 / 1024.0);
    field(o, "total_connections_received", get(Counter::ConnectionsReceived));
    field(o, "total_commands_processed", get(Counter::CommandsProcessed));
    field(o, "instantaneous_ops_per_sec", inst(Metric::Commands));
    field(o, "total_net_input_bytes", get(Counter::NetInputBytes));
    field(o, "total_net_output_bytes", get(Counter::NetOutputBytes));
    field(o, "total_net_repl_input_bytes", 0);
    field(o, "total_net_repl_output_bytes", 0);
    field(o, "instantaneous_input_kbps", kbps(Metric::NetInput));
    field(o, "instantaneous_output_kbps", kbps(Metric::NetOutput));
    field(o, "instantaneous_input_repl_kbps", "0.00");
    field(o, "instantaneous_output_repl_kbps", "0.00");
    field(o, "rejected_connections", get(Counter::RejectedConnections));
    field(o, "sync_full", 0);
    field(o, "sync_partial_ok", 0);
    field(o, "sync_partial_err", 0);
    field(o, "expired_keys", get(Counter::ExpiredKeys));
    let stale = f64::from_bits(engine.expired_stale_perc.load(Relaxed));
    field(o, "expired_stale_perc", format!("{:.2}", stale * 100.0));
    field(o, "expired_time_cap_reached_count", get(Counter::ExpiredTimeCapReached));
    field(o, "expire_cycle_cpu_milliseconds", get(Counter::ExpireCycleCpuMs));
    field(o, "evicted_keys", get(Counter::EvictedKeys));
    field(o, "evicted_clients", get(Counter::EvictedClients));
    // Scripts are not evicted.
    field(o, "evicted_scripts", 0);
    let (total_exceeded_ms, current_exceeded_ms) = engine.evictor.exceeded_ms();
    field(o, "total_eviction_exceeded_time", total_exceeded_ms);
    field(o, "current_eviction_exceeded_time", current_exceeded_ms);
    field(o, "keyspace_hits", get(Counter::KeyspaceHits));
    field(o, "keyspace_misses", get(Counter::KeyspaceMisses));
    let (channels, patterns, shard_channels) = engine.pubsub.counts();
    field(o, "pubsub_channels", channels);
    field(o, "pubsub_patterns", patterns);
    field(o, "pubsubshard_channels", shard_channels);
    for name in [
        "latest_fork_usec",
        "total_forks",
        "migrate_cached_sockets",
        "slave_expires_tracked_keys",
        "active_defrag_hits",
        "active_defrag_misses",
        "active_defrag_key_hits",
        "active_defrag_key_misses",
        "total_active_defrag_time",
        "current_active_defrag_time",
    ] {
        field(o, name, 0);
    }
    let (keys, items, prefixes) = engine.tracking.totals();
    field(o, "tracking_total_keys", keys);
    field(o, "tracking_total_items", items);
    field(o, "tracking_total_prefixes", prefixes);
    field(o, "unexpected_error_replies", get(Counter::UnexpectedErrorReplies));
    field(o, "total_error_replies", get(Counter::ErrorReplies));
    field(o, "dump_payload_sanitizations", get(Counter::DumpPayloadSanitizations));
    field(o, "total_reads_processed", get(Counter::ReadsProcessed));
    field(o, "total_writes_processed", get(Counter::WritesProcessed));
    // Worker threads run whole connections; there are no separate I/O threads.
    for name in [
        "io_threaded_reads_processed",
        "io_threaded_writes_processed",
        "io_threaded_freed_objects",
        "io_threaded_poll_processed",
        "io_threaded_total_prefetch_batches",
        "io_threaded_total_prefetch_entries",
    ] {
        field(o, name, 0);
    }
    field(o, "client_query_buffer_limit_disconnections", get(Counter::QueryBufferLimitDisconnections));
    field(o, "client_output_buffer_limit_disconnections", get(Counter::OutputBufferLimitDisconnections));
    field(o, "reply_buffer_shrinks", get(Counter::ReplyBufferShrinks));
    field(o, "reply_buffer_expands", get(Counter::ReplyBufferExpands));
    field(o, "eventloop_cycles", get(Counter::EventLoopCycles));
    field(o, "eventloop_duration_sum", get(Counter::EventLoopUsec));
    field(o, "eventloop_duration_cmd_sum", get(Counter::CommandUsec));
    field(o, "instantaneous_eventloop_cycles_per_sec", inst(Metric::EventLoopCycles));
    field(o, "instantaneous_eventloop_duration_usec", inst(Metric::EventLoopUsec));
    field(o, "acl_access_denied_auth", get(Counter::AclDeniedAuth));
    field(o, "acl_access_denied_cmd", 0);
    field(o, "acl_access_denied_key", 0);
    field(o, "acl_access_denied_channel", 0);
}

fn replication(engine: &Engine, o: &mut String) {
    let ids = engine.repl_ids.lock().clone();
    let link = engine.replica.state();
    match &link.master {
        None => field(o, "role", "master"),
        Some((host, port)) => {
            let now = crate::util::now_ms();
            let up = link.phase == crate::replica::Phase::Connected;
            field(o, "role", "slave");
            field(o, "master_host", host);
            field(o, "master_port", port);
            field(o, "master_link_status", if up { "up" } else { "down" });
            let io_ago = if link.last_io_ms == 0 { -1 } else { (now.saturating_sub(link.last_io_ms) / 1000) as i64 };
            field(o, "master_last_io_seconds_ago", io_ago);
            field(o, "master_sync_in_progress", u8::from(link.phase == crate::replica::Phase::Sync));
            field(o, "slave_read_repl_offset", link.offset);
            field(o, "slave_repl_offset", link.offset);
            if !up {
                field(o, "master_link_down_since_seconds", now.saturating_sub(link.down_since_ms) / 1000);
            }
            field(o, "slave_priority", engine.config.get("replica-priority"));
            field(o, "slave_read_only", u8::from(engine.config.get_bool("replica-read-only")));
            field(o, "replica_announced", 1);
        }
    }
    field(o, "connected_slaves", engine.replica.replica_count());
    let config = &engine.config;
    if config.get_i64("min-replicas-to-write") > 0 && config.get_i64("min-replicas-max-lag") > 0 {
        field(o, "min_slaves_good_slaves", 0);
    }
    field(o, "replicas_waiting_psync", 0);
    field(o, "master_failover_state", "no-failover");
    field(o, "master_replid", &ids.id);
    field(o, "master_replid2", &ids.id2);
    field(o, "master_repl_offset", 0);
    field(o, "second_repl_offset", -1);
    field(o, "repl_backlog_active", 0);
    field(o, "repl_backlog_size", config.get("repl-backlog-size"));
    field(o, "repl_backlog_first_byte_offset", 0);
    field(o, "repl_backlog_histlen", 0);
}

fn rusage(who: libc::c_int) -> libc::rusage {
    // SAFETY: getrusage fills the zeroed struct.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut ru);
        ru
    }
}

fn cpu(o: &mut String) {
    let tv = |t: libc::timeval| format!("{}.{:06}", t.tv_sec, t.tv_usec);
    let me = rusage(libc::RUSAGE_SELF);
    let children = rusage(libc::RUSAGE_CHILDREN);
    let thread = rusage(libc::RUSAGE_THREAD);
    field(o, "used_cpu_sys", tv(me.ru_stime));
    field(o, "used_cpu_user", tv(me.ru_utime));
    field(o, "used_cpu_sys_children", tv(children.ru_stime));
    field(o, "used_cpu_user_children", tv(children.ru_utime));
    // The thread running this command (Kvasir has no single main thread).
    field(o, "used_cpu_sys_main_thread", tv(thread.ru_stime));
    field(o, "used_cpu_user_main_thread", tv(thread.ru_utime));
}

fn commandstats(engine: &Engine, o: &mut String) {
    for id in 0..engine.commands.len() {
        let t = engine.stats.command(id);
        if t.calls == 0 && t.failed_calls == 0 && t.rejected_calls == 0 {
            continue;
        }
        let per_call = if t.calls == 0 { 0.0 } else { (t.usec as f32 / t.calls as f32) as f64 };
        let _ = write!(
            o,
            "cmdstat_{}:calls={},usec={},usec_per_call={:.2},rejected_calls={},failed_calls={}\r\n",
            safe(&engine.commands.get(id).full_name),
            t.calls,
            t.usec,
            per_call,
            t.rejected_calls,
            t.failed_calls
        );
    }
}

fn errorstats(engine: &Engine, o: &mut String) {
    for (code, count) in engine.stats.errors() {
        let _ = write!(o, "errorstat_{}:count={count}\r\n", safe(&code));
    }
}

/// Volatile keys sampled per shard to estimate `avg_ttl`.
const TTL_SAMPLES: usize = 16;

fn keyspace(engine: &Engine, o: &mut String) {
    let now = crate::util::now_ms();
    let mut rng = fastrand::Rng::new();
    for db in 0..engine.keyspace.databases() {
        let (mut keys, mut volatile) = (0u64, 0u64);
        // Estimated like Valkey's: the mean remaining TTL of a sample, weighted per shard.
        let mut ttl_weighted = 0f64;
        for shard in 0..SHARDS {
            let (k, v, mean) = engine.keyspace.with_shard(db, shard, |s| {
                let v = s.volatile_len();
                let (mut sum, mut n) = (0u64, 0u64);
                for _ in 0..v.min(TTL_SAMPLES) {
                    if let Some(t) = s.random_volatile(&mut rng).and_then(|e| e.expire_at_ms()) {
                        sum += t.saturating_sub(now);
                        n += 1;
                    }
                }
                (s.len() as u64, v as u64, if n == 0 { 0.0 } else { sum as f64 / n as f64 })
            });
            keys += k;
            volatile += v;
            ttl_weighted += mean * v as f64;
        }
        if keys > 0 || volatile > 0 {
            let avg_ttl = if volatile == 0 { 0 } else { (ttl_weighted / volatile as f64) as u64 };
            let _ = write!(o, "db{db}:keys={keys},expires={volatile},avg_ttl={avg_ttl}\r\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::tests::{client, run};

    fn fields(text: &str) -> Vec<String> {
        text.split("\r\n").filter(|l| l.contains(':')).map(|l| l.split(':').next().unwrap_or("").to_string()).collect()
    }

    #[test]
    fn section_selection() {
        let e = Engine::for_tests();
        let default = generate(&e, &Sections::parse(&[]));
        assert!(
            default.starts_with("# Server\r\nredis_version:7.2.4\r\nserver_name:valkey\r\nvalkey_version:8.0.1\r\n")
        );
        assert!(!default.contains("# Commandstats"));
        for s in [
            "# Clients",
            "# Memory",
            "# Persistence",
            "# Stats",
            "# Replication",
            "# CPU",
            "# Modules",
            "# Errorstats",
            "# Cluster",
            "# Keyspace",
        ] {
            assert!(default.contains(s), "{s} missing");
        }
        let cpu = generate(&e, &Sections::parse(&[b"CPU"]));
        assert!(cpu.starts_with("# CPU\r\nused_cpu_sys:") && !cpu.contains("# Server"), "{cpu}");
        let all = generate(&e, &Sections::parse(&[b"cpu", b"all"]));
        assert_eq!(all.matches("used_cpu_user_children").count(), 1);
        assert!(all.contains("# Commandstats"));
        let none = generate(&e, &Sections::parse(&[b"sentinel"]));
        assert_eq!(none, "");
        let both = generate(&e, &Sections::parse(&[b"cpu", b"default"]));
        assert!(both.contains("used_memory:") && both.contains("master_repl_offset:") && !both.contains("cmdstat"));
    }

    #[test]
    fn fields_follow_valkey_order() {
        let e = Engine::for_tests();
        let text = generate(&e, &Sections::parse(&[b"persistence", b"clients"]));
        let f = fields(&text);
        assert_eq!(&f[..3], &["connected_clients", "cluster_connections", "maxclients"]);
        let p = f.iter().position(|n| n == "loading").unwrap();
        assert_eq!(f[p + 8], "rdb_changes_since_last_save");
        assert!(text.contains("\r\n\r\n# Persistence\r\n"));
    }

    #[test]
    fn stats_keyspace_and_commandstats_are_live() {
        let e = Engine::for_tests();
        let mut c = client(&e);
        run(&e, &mut c, &["set", "a", "1"]);
        run(&e, &mut c, &["get", "a"]);
        run(&e, &mut c, &["get", "zz"]);
        run(&e, &mut c, &["select", "3"]);
        run(&e, &mut c, &["set", "b", "1"]);
        run(&e, &mut c, &["nosuch"]);
        let r = run(&e, &mut c, &["info", "keyspace", "stats", "commandstats", "errorstats"]);
        assert!(r.contains("db0:keys=1,expires=0,avg_ttl=0\r\ndb3:keys=1,expires=0,avg_ttl=0\r\n"), "{r}");
        // Keys with a TTL count as expires, and avg_ttl estimates their remaining time.
        let key = b"a".to_vec();
        let h = crate::keyspace::hash_key(&key);
        let when = crate::util::now_ms() + 100_000;
        e.keyspace.with_shard(0, crate::keyspace::shard_of(h), |s| {
            s.set_expire(h, &key, Some(when));
        });
        let ks = run(&e, &mut c, &["info", "keyspace"]);
        let line = ks.split("\r\n").find(|l| l.starts_with("db0:")).unwrap();
        let ttl: u64 = line.rsplit('=').next().unwrap().parse().unwrap();
        assert!(line.starts_with("db0:keys=1,expires=1,avg_ttl=") && (90_000..=100_000).contains(&ttl), "{line}");
        assert!(r.contains("keyspace_hits:1\r\nkeyspace_misses:1\r\n"), "{r}");
        assert!(r.contains("cmdstat_get:calls=2,usec="), "{r}");
        assert!(r.contains("errorstat_ERR:count=1\r\n"), "{r}");
        assert!(r.contains("total_error_replies:1\r\n"), "{r}");
        assert!(r.starts_with('$'), "INFO is a verbatim string, a bulk string in RESP2");
        run(&e, &mut c, &["config", "resetstat"]);
        let r = run(&e, &mut c, &["info", "commandstats"]);
        assert!(r.contains("cmdstat_config|resetstat:calls=1,") && !r.contains("cmdstat_get"), "{r}");
    }
}
