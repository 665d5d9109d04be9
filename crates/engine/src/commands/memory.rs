//! MEMORY USAGE | STATS | DOCTOR | MALLOC-STATS | PURGE | HELP (Valkey's `memoryCommand`).
//!
//! USAGE reports what a key really costs here: its entry block (key, value or pointer, expiry)
//! plus everything the value owns, and its bucket slot in the shard table. Valkey samples big
//! collections (`SAMPLES`, default 5) and extrapolates; here the owned memory is summed exactly,
//! which walks every member of a big hash or set (the `SAMPLES` argument is validated as
//! Valkey validates it, then not needed). STATS shares its figures with INFO memory.

use super::info::{memory_figures, shard_overhead, MemoryFigures};
use super::table::{acl, flags::*, keyflags, reply_help, Command, Doc, KeySpec, Lock};
use super::{errors, int_arg, is, CmdResult, Ctx, Error};
use crate::keyspace::SHARDS;

const fn doc(summary: &'static str, complexity: &'static str, syntax: &'static str) -> Doc {
    Doc { summary, since: "4.0.0", group: "server", complexity, syntax }
}

const ALL_SHARDS_SPECIAL: &[&str] =
    &["nondeterministic_output", "request_policy:all_shards", "response_policy:special"];

static SUBCOMMANDS: &[Command] = &[
    Command {
        name: "doctor",
        arity: 2,
        handler: Some(doctor),
        tips: ALL_SHARDS_SPECIAL,
        doc: doc("Outputs a memory problems report.", "O(1)", ""),
        ..Command::DEFAULT
    },
    Command {
        name: "help",
        arity: 2,
        flags: LOADING | STALE,
        handler: Some(help),
        doc: doc("Returns helpful text about the different subcommands.", "O(1)", ""),
        ..Command::DEFAULT
    },
    Command {
        name: "malloc-stats",
        arity: 2,
        handler: Some(malloc_stats),
        tips: ALL_SHARDS_SPECIAL,
        doc: doc("Returns the allocator statistics.", "Depends on how much memory is allocated, could be slow", ""),
        ..Command::DEFAULT
    },
    Command {
        name: "purge",
        arity: 2,
        handler: Some(purge),
        tips: &["request_policy:all_shards", "response_policy:all_succeeded"],
        doc: doc("Asks the allocator to release memory.", "Depends on how much memory is allocated, could be slow", ""),
        ..Command::DEFAULT
    },
    Command {
        name: "stats",
        arity: 2,
        handler: Some(stats),
        tips: ALL_SHARDS_SPECIAL,
        doc: doc("Returns details about memory usage.", "O(1)", ""),
        ..Command::DEFAULT
    },
    Command {
        name: "usage",
        arity: -3,
        flags: READONLY,
        acl: acl::KEYSPACE,
        keys: &[KeySpec::single(2, keyflags::RO)],
        lock: Lock::Keys,
        handler: Some(usage),
        doc: doc(
            "Estimates the memory usage of a key.",
            "O(N) where N is the number of samples.",
            "key [SAMPLES count]",
        ),
        ..Command::DEFAULT
    },
];

pub static COMMANDS: &[Command] = &[Command {
    name: "memory",
    arity: -2,
    subcommands: SUBCOMMANDS,
    doc: doc("A container for memory diagnostics commands.", "Depends on subcommand.", ""),
    ..Command::DEFAULT
}];

fn help(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    reply_help(
        ctx.out,
        "MEMORY",
        &[
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ],
    );
    Ok(())
}

fn usage(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let mut j = 3;
    while j < argv.len() {
        if is(argv[j], "samples") && j + 1 < argv.len() {
            if int_arg(argv[j + 1])? < 0 {
                return Err(errors::SYNTAX);
            }
            j += 2;
        } else {
            return Err(errors::SYNTAX);
        }
    }
    match ctx.keys.peek(argv[2])? {
        // The entry and what it owns, plus its slot in the shard's bucket array.
        Some(e) => {
            let bytes = e.raw().heap_bytes() + std::mem::size_of::<usize>();
            ctx.out.int(bytes as i64);
        }
        None => ctx.out.null(),
    }
    Ok(())
}

fn stats(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    let engine = ctx.engine;
    let f: MemoryFigures = memory_figures(engine);
    // Databases holding keys, with the overhead of their tables.
    let mut dbs = Vec::new();
    let mut keys = 0u64;
    let mut rehashing = 0u64;
    for db in 0..engine.keyspace.databases() {
        let (mut len, mut main, mut expires) = (0u64, 0u64, 0u64);
        for shard in 0..SHARDS {
            engine.keyspace.with_shard(db, shard, |s| {
                len += s.len() as u64;
                main += shard_overhead(s);
                expires += s.volatile_len() as u64 * 8;
                rehashing += u64::from(s.is_rehashing());
            });
        }
        if len > 0 {
            dbs.push((db, main, expires));
            keys += len;
        }
    }
    let out = &mut *ctx.out;
    let int = |out: &mut resp::Reply, name: &str, v: i64| {
        out.bulk(name.as_bytes());
        out.int(v);
    };
    let double = |out: &mut resp::Reply, name: &str, v: f64| {
        out.bulk(name.as_bytes());
        out.double(v);
    };
    let m = f.allocator;
    out.map(31 + dbs.len());
    int(out, "peak.allocated", f.peak as i64);
    int(out, "total.allocated", f.used as i64);
    int(out, "startup.allocated", f.startup as i64);
    int(out, "replication.backlog", 0);
    int(out, "clients.slaves", 0);
    int(out, "clients.normal", f.clients_normal as i64);
    int(out, "cluster.links", 0);
    int(out, "aof.buffer", 0);
    int(out, "lua.caches", 0);
    int(out, "functions.caches", 0);
    for (db, main, expires) in dbs {
        out.bulk(format!("db.{db}").as_bytes());
        out.map(2);
        int(out, "overhead.hashtable.main", main as i64);
        int(out, "overhead.hashtable.expires", expires as i64);
    }
    int(out, "overhead.db.hashtable.lut", 0);
    int(out, "overhead.db.hashtable.rehashing", 0);
    int(out, "overhead.total", f.overhead as i64);
    int(out, "db.dict.rehashing.count", rehashing as i64);
    int(out, "keys.count", keys as i64);
    int(out, "keys.bytes-per-key", f.net.checked_div(keys).unwrap_or(0) as i64);
    int(out, "dataset.bytes", f.dataset as i64);
    double(out, "dataset.percentage", ratio(f.dataset, f.net) * 100.0);
    double(out, "peak.percentage", ratio(f.used, f.peak) * 100.0);
    int(out, "allocator.allocated", m.allocated as i64);
    int(out, "allocator.active", m.active as i64);
    int(out, "allocator.resident", m.resident as i64);
    int(out, "allocator.muzzy", m.muzzy as i64);
    double(out, "allocator-fragmentation.ratio", ratio(m.frag_smallbins, m.allocated) + 1.0);
    int(out, "allocator-fragmentation.bytes", m.frag_smallbins as i64);
    double(out, "allocator-rss.ratio", ratio(m.resident, m.active));
    int(out, "allocator-rss.bytes", m.resident as i64 - m.active as i64);
    double(out, "rss-overhead.ratio", ratio(m.rss, m.resident));
    int(out, "rss-overhead.bytes", m.rss as i64 - m.resident as i64);
    double(out, "fragmentation", ratio(m.rss, f.used));
    int(out, "fragmentation.bytes", m.rss as i64 - f.used as i64);
    Ok(())
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

fn doctor(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    let f = memory_figures(ctx.engine);
    let report = if f.used < 5 * 1024 * 1024 {
        "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these \
         conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be \
         back to our programming as soon as I finished rebooting."
            .to_string()
    } else {
        let mut problems = Vec::new();
        if f.allocator.rss > f.used && ratio(f.allocator.rss, f.used) > 1.4 {
            problems.push(format!(
                " * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 ({:.2}).",
                ratio(f.allocator.rss, f.used)
            ));
        }
        if f.peak > f.used && ratio(f.peak, f.used) > 1.5 {
            problems.push(format!(
                " * Peak memory: In the past this instance used more than 150% the memory that is currently using. \
                 The allocator is normally not able to release memory after a peak, so you can expect to see a big \
                 fragmentation ratio, however this is actually harmless and is only due to the memory peak. (peak \
                 {} bytes, now {} bytes)",
                f.peak, f.used
            ));
        }
        if problems.is_empty() {
            "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base."
                .to_string()
        } else {
            format!(
                "Sam, I detected a few issues in this instance memory implementation:\n\n{}\n\nI'm here to keep you \
                 safe, Sam. I want to help you.\n",
                problems.join("\n\n")
            )
        }
    };
    ctx.out.verbatim("txt", report.as_bytes());
    Ok(())
}

fn malloc_stats(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    match ctx.engine.host.malloc_stats() {
        Some(text) => ctx.out.verbatim("txt", text.as_bytes()),
        None => ctx.out.bulk(b"Stats not supported for the current allocator"),
    }
    Ok(())
}

fn purge(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    if ctx.engine.host.purge() {
        ctx.out.ok();
        Ok(())
    } else {
        Err(Error::err("Error purging dirty pages"))
    }
}

#[cfg(test)]
mod tests {
    use crate::exec::tests::{client, run as run_in};
    use crate::Engine;

    fn run(e: &Engine, cmd: &[&str]) -> String {
        run_in(e, &mut client(e), cmd)
    }

    #[test]
    fn usage_counts_what_a_key_owns() {
        let e = Engine::for_tests();
        assert_eq!(run(&e, &["MEMORY", "USAGE", "missing"]), "$-1\r\n");
        run(&e, &["SET", "small", "v"]);
        run(&e, &["SET", "big", &"x".repeat(10_000)]);
        let int = |s: String| s.trim_start_matches(':').trim_end().parse::<i64>().unwrap();
        let small = int(run(&e, &["MEMORY", "USAGE", "small"]));
        let big = int(run(&e, &["MEMORY", "USAGE", "big", "SAMPLES", "0"]));
        assert!(small > 0 && small < 64, "{small}");
        assert!(big >= 10_000, "{big}");
        assert_eq!(run(&e, &["MEMORY", "USAGE", "small", "SAMPLES", "-1"]), "-ERR syntax error\r\n");
        assert_eq!(run(&e, &["MEMORY", "USAGE", "small", "SAMPLES"]), "-ERR syntax error\r\n");
        assert_eq!(
            run(&e, &["MEMORY", "USAGE", "small", "SAMPLES", "x"]),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert!(run(&e, &["MEMORY", "USAGE"]).starts_with("-ERR wrong number of arguments for 'memory|usage'"));
    }

    #[test]
    fn stats_is_a_map_of_valkeys_fields() {
        let e = Engine::for_tests();
        run(&e, &["SET", "k", "v"]);
        let out = run(&e, &["MEMORY", "STATS"]);
        assert!(out.starts_with("*64\r\n"), "31 pairs and db.0: {out}");
        for field in ["peak.allocated", "db.0", "overhead.hashtable.main", "keys.count", "fragmentation.bytes"] {
            assert!(out.contains(&format!("\r\n{field}\r\n")), "{field}");
        }
        let help = run(&e, &["MEMORY", "HELP"]);
        assert!(help.starts_with("*14\r\n+MEMORY <subcommand>"), "{help}");
        assert_eq!(run(&e, &["MEMORY", "PURGE"]), "+OK\r\n");
        assert!(run(&e, &["MEMORY", "DOCTOR"]).starts_with("$"));
        assert!(run(&e, &["MEMORY", "NOPE"]).starts_with("-ERR unknown subcommand 'NOPE'"));
    }
}
