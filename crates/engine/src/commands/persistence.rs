//! SAVE, BGSAVE and LASTSAVE (`persist.rs` does the work; DEBUG RELOAD is in `debug.rs`).

use super::table::{acl, flags::*, Command, Doc, DocMeta, Lock};
use super::{errors, is, CmdResult, Ctx, Error};
use crate::persist;
use std::sync::atomic::Ordering::Relaxed;

const fn doc(summary: &'static str, complexity: &'static str, syntax: &'static str) -> Doc {
    Doc { summary, since: "1.0.0", group: "server", complexity, syntax }
}

pub static COMMANDS: &[Command] = &[
    Command {
        name: "save",
        arity: 1,
        flags: NO_ASYNC_LOADING | ADMIN | NOSCRIPT | NO_MULTI,
        lock: Lock::AllDbs,
        handler: Some(save),
        doc: doc(
            "Synchronously saves the database(s) to disk.",
            "O(N) where N is the total number of keys in all databases",
            "",
        ),
        ..Command::DEFAULT
    },
    Command {
        name: "bgsave",
        arity: -1,
        flags: NO_ASYNC_LOADING | ADMIN | NOSCRIPT,
        lock: Lock::AllDbs,
        handler: Some(bgsave),
        doc: doc("Asynchronously saves the database(s) to disk.", "O(1)", "[SCHEDULE]"),
        doc_meta: DocMeta { history: &[("3.2.2", "Added the `SCHEDULE` option.")], ..DocMeta::NONE },
        ..Command::DEFAULT
    },
    Command {
        name: "bgrewriteaof",
        arity: 1,
        flags: NO_ASYNC_LOADING | ADMIN | NOSCRIPT,
        lock: Lock::AllDbs,
        handler: Some(bgrewriteaof),
        doc: doc("Asynchronously rewrites the append-only file to disk.", "O(1)", ""),
        ..Command::DEFAULT
    },
    Command {
        name: "lastsave",
        arity: 1,
        flags: LOADING | STALE | FAST,
        acl: acl::ADMIN | acl::DANGEROUS,
        handler: Some(lastsave),
        tips: &["nondeterministic_output"],
        doc: doc("Returns the Unix timestamp of the last successful save to disk.", "O(1)", ""),
        ..Command::DEFAULT
    },
];

const IN_PROGRESS: &str = "Background save already in progress";

fn save(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    let engine = ctx.engine;
    if engine.persistence.bgsave_in_progress().is_some() {
        return Err(Error::err(IN_PROGRESS));
    }
    engine.persistence.saves.fetch_add(1, Relaxed);
    persist::save(engine, &mut ctx.keys, 0).map_err(|_| Error::coded_static("ERR"))?;
    ctx.out.ok();
    Ok(())
}

fn bgsave(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let schedule = match argv {
        [_] => false,
        [_, a] if is(a, "schedule") => true,
        _ => return Err(errors::SYNTAX),
    };
    let engine = ctx.engine;
    let p = &engine.persistence;
    if p.bgsave_in_progress().is_some() {
        return Err(Error::err(IN_PROGRESS));
    }
    // Inside MULTI the save is scheduled for the cron, as in Valkey.
    if !ctx.keys.may_block {
        p.bgsave_scheduled.store(true, Relaxed);
        ctx.out.simple("Background saving scheduled");
        return Ok(());
    }
    // Another snapshot (a replica's SYNC) or an AOF rewrite is Valkey's "another child is
    // active".
    if p.snapshot_in_progress() || engine.aof.rewrite_in_progress() {
        if schedule {
            p.bgsave_scheduled.store(true, Relaxed);
            ctx.out.simple("Background saving scheduled");
            return Ok(());
        }
        return Err(Error::err(persist::CHILD_ACTIVE));
    }
    match persist::bgsave(engine, &mut ctx.keys) {
        Ok(()) => {
            ctx.out.simple("Background saving started");
            Ok(())
        }
        Err(e) if e == IN_PROGRESS => Err(Error::err(IN_PROGRESS)),
        Err(e) if e == persist::CHILD_ACTIVE => Err(Error::err(persist::CHILD_ACTIVE)),
        Err(_) => Err(Error::coded_static("ERR")),
    }
}

fn bgrewriteaof(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    use crate::aof::RewriteRefused;
    match crate::aof::bgrewriteaof(ctx.engine, &mut ctx.keys) {
        Ok(()) => ctx.out.simple("Background append only file rewriting started"),
        Err(RewriteRefused::Scheduled) => ctx.out.simple("Background append only file rewriting scheduled"),
        Err(RewriteRefused::InProgress) => {
            return Err(Error::err("Background append only file rewriting already in progress"))
        }
        Err(RewriteRefused::Failed) => {
            return Err(Error::err(
                "Can't execute an AOF background rewriting. Please check the server logs for more information.",
            ))
        }
    }
    Ok(())
}

fn lastsave(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    ctx.out.int(ctx.engine.persistence.last_save_secs.load(Relaxed) as i64);
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::engine::Engine;
    use crate::exec::tests::{client, run};
    use std::sync::atomic::Ordering::Relaxed;

    fn debug_engine() -> std::sync::Arc<Engine> {
        let e = Engine::for_tests();
        e.config.set("enable-debug-command", &[b"yes"]).unwrap();
        e
    }

    #[test]
    fn save_lastsave_and_debug_reload() {
        let e = debug_engine();
        let mut c = client(&e);
        run(&e, &mut c, &["set", "a", "1"]);
        run(&e, &mut c, &["hset", "h", "f", "v"]);
        run(&e, &mut c, &["zadd", "z", "1.5", "m", "1e20", "n"]);
        run(&e, &mut c, &["rpush", "l", "x", "y"]);
        run(&e, &mut c, &["sadd", "s", "p", "q"]);
        run(&e, &mut c, &["set", "t", "v", "ex", "1000"]);
        assert_eq!(e.changes_since_save(), 9);
        let digest = run(&e, &mut c, &["debug", "digest"]);
        assert_eq!(digest.len(), 43, "{digest}");
        assert_ne!(digest, format!("+{}\r\n", "0".repeat(40)));
        let values = run(&e, &mut c, &["debug", "digest-value", "a", "z", "missing"]);
        assert!(values.ends_with(&format!("+{}\r\n", "0".repeat(40))), "{values}");
        assert_eq!(run(&e, &mut c, &["save"]), "+OK\r\n");
        assert_eq!(e.changes_since_save(), 0);
        assert_eq!(e.persistence.saves.load(Relaxed), 1);
        let last = run(&e, &mut c, &["lastsave"]);
        assert_eq!(last, format!(":{}\r\n", crate::util::now_ms() / 1000));
        // RELOAD saves, flushes and loads: same digest, TTL kept.
        run(&e, &mut c, &["set", "b", "2"]);
        let digest = run(&e, &mut c, &["debug", "digest"]);
        assert_eq!(run(&e, &mut c, &["debug", "reload"]), "+OK\r\n");
        assert_eq!(run(&e, &mut c, &["debug", "digest"]), digest);
        assert_eq!(run(&e, &mut c, &["get", "b"]), "$1\r\n2\r\n");
        let ttl = run(&e, &mut c, &["ttl", "t"]);
        assert!(ttl == ":1000\r\n" || ttl == ":999\r\n", "{ttl}");
        // NOSAVE reloads the file as it is; NOFLUSH without MERGE refuses duplicates.
        run(&e, &mut c, &["set", "c", "3"]);
        assert_eq!(run(&e, &mut c, &["debug", "reload", "nosave"]), "+OK\r\n");
        assert_eq!(run(&e, &mut c, &["exists", "c"]), ":0\r\n");
        assert_eq!(
            run(&e, &mut c, &["debug", "reload", "nosave", "noflush"]),
            "-ERR Error trying to load the RDB dump, check server logs.\r\n"
        );
        run(&e, &mut c, &["set", "c", "3"]);
        run(&e, &mut c, &["set", "a", "changed"]);
        assert_eq!(run(&e, &mut c, &["debug", "reload", "nosave", "noflush", "merge"]), "+OK\r\n");
        assert_eq!(run(&e, &mut c, &["get", "a"]), "$1\r\n1\r\n");
        assert_eq!(run(&e, &mut c, &["get", "c"]), "$1\r\n3\r\n");
        assert_eq!(
            run(&e, &mut c, &["debug", "reload", "bogus"]),
            "-ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.\r\n"
        );
        assert_eq!(run(&e, &mut c, &["save", "x"]), "-ERR wrong number of arguments for 'save' command\r\n");
        assert_eq!(run(&e, &mut c, &["lastsave", "x"]), "-ERR wrong number of arguments for 'lastsave' command\r\n");
    }

    #[test]
    fn digest_of_an_empty_dataset_is_zero_and_order_matters_for_lists() {
        let e = debug_engine();
        let mut c = client(&e);
        let zero = format!("+{}\r\n", "0".repeat(40));
        assert_eq!(run(&e, &mut c, &["debug", "digest"]), zero);
        run(&e, &mut c, &["rpush", "l", "a", "b"]);
        let ab = run(&e, &mut c, &["debug", "digest-value", "l"]);
        run(&e, &mut c, &["del", "l"]);
        run(&e, &mut c, &["rpush", "l", "b", "a"]);
        assert_ne!(run(&e, &mut c, &["debug", "digest-value", "l"]), ab);
        // Set and hash digests do not depend on the encoding.
        run(&e, &mut c, &["sadd", "s1", "1", "2", "3"]);
        run(&e, &mut c, &["config", "set", "set-max-intset-entries", "0", "set-max-listpack-entries", "0"]);
        run(&e, &mut c, &["sadd", "s2", "1", "2", "3"]);
        assert_eq!(run(&e, &mut c, &["object", "encoding", "s2"]), "$9\r\nhashtable\r\n");
        let d = run(&e, &mut c, &["debug", "digest-value", "s1", "s2"]);
        let lines: Vec<&str> = d.split("\r\n").collect();
        assert_eq!(lines[1], lines[2]);
    }

    #[test]
    fn bgsave_writes_the_snapshot_of_its_start() {
        let e = debug_engine();
        let mut c = client(&e);
        run(&e, &mut c, &["set", "a", "1"]);
        assert_eq!(run(&e, &mut c, &["bgsave", "now"]), "-ERR syntax error\r\n");
        assert_eq!(run(&e, &mut c, &["bgsave"]), "+Background saving started\r\n");
        run(&e, &mut c, &["set", "a", "2"]);
        e.persistence.wait_bgsave();
        assert!(e.persistence.bgsave_in_progress().is_none());
        assert_eq!(e.persistence.saves.load(Relaxed), 1);
        assert_eq!(e.changes_since_save(), 1);
        assert_eq!(run(&e, &mut c, &["debug", "reload", "nosave"]), "+OK\r\n");
        assert_eq!(run(&e, &mut c, &["get", "a"]), "$1\r\n1\r\n");
        // Inside MULTI it is scheduled for the cron.
        run(&e, &mut c, &["multi"]);
        run(&e, &mut c, &["bgsave"]);
        assert_eq!(run(&e, &mut c, &["exec"]), "*1\r\n+Background saving scheduled\r\n");
        assert!(e.persistence.bgsave_scheduled.load(Relaxed));
        crate::persist::cron(&e);
        e.persistence.wait_bgsave();
        assert_eq!(e.persistence.saves.load(Relaxed), 2);
    }

    #[test]
    fn failed_saves_stop_writes_with_misconf() {
        let e = debug_engine();
        let mut c = client(&e);
        let file = e.config.get("dbfilename");
        e.config.set("dbfilename", &[b"/nonexistent-dir/dump.rdb"]).unwrap();
        run(&e, &mut c, &["set", "a", "1"]);
        assert_eq!(run(&e, &mut c, &["save"]), "-ERR\r\n");
        // A failed SAVE does not stop writes; a failed BGSAVE does, with save points.
        e.config.set("save", &[b"3600", b"1"]).unwrap();
        assert_eq!(run(&e, &mut c, &["set", "a", "1"]), "+OK\r\n");
        e.config.set("save", &[b""]).unwrap();
        assert_eq!(run(&e, &mut c, &["bgsave"]), "+Background saving started\r\n");
        e.persistence.wait_bgsave();
        // No save points: writes go on.
        assert_eq!(run(&e, &mut c, &["set", "a", "1"]), "+OK\r\n");
        e.config.set("save", &[b"3600", b"1"]).unwrap();
        let misconf = format!("-{}\r\n", crate::persist::MISCONF);
        assert_eq!(run(&e, &mut c, &["set", "a", "1"]), misconf);
        assert_eq!(run(&e, &mut c, &["ping"]), misconf);
        assert_eq!(run(&e, &mut c, &["get", "a"]), "$1\r\n1\r\n");
        let info = run(&e, &mut c, &["info", "persistence"]);
        assert!(info.contains("rdb_last_bgsave_status:err"), "{info}");
        e.config.set("stop-writes-on-bgsave-error", &[b"no"]).unwrap();
        assert_eq!(run(&e, &mut c, &["set", "a", "1"]), "+OK\r\n");
        e.config.set("stop-writes-on-bgsave-error", &[b"yes"]).unwrap();
        e.config.set("dbfilename", &[file.as_bytes()]).unwrap();
        assert_eq!(run(&e, &mut c, &["save"]), "+OK\r\n");
        assert_eq!(run(&e, &mut c, &["set", "a", "1"]), "+OK\r\n");
    }

    #[test]
    fn save_points_and_flushall() {
        let e = debug_engine();
        let mut c = client(&e);
        run(&e, &mut c, &["set", "a", "1"]);
        crate::persist::cron(&e);
        assert!(e.persistence.bgsave_in_progress().is_none());
        // One change, and the last save more than a second ago.
        e.config.set("save", &[b"1", b"1"]).unwrap();
        e.persistence.last_save_secs.store(0, Relaxed);
        crate::persist::cron(&e);
        e.persistence.wait_bgsave();
        assert_eq!(e.persistence.saves.load(Relaxed), 1);
        assert_eq!(e.changes_since_save(), 0);
        // FLUSHALL with save points writes the empty dataset.
        run(&e, &mut c, &["set", "b", "1"]);
        assert_eq!(run(&e, &mut c, &["flushall"]), "+OK\r\n");
        assert_eq!(e.changes_since_save(), 0);
        run(&e, &mut c, &["set", "c", "1"]);
        assert_eq!(run(&e, &mut c, &["debug", "reload", "nosave"]), "+OK\r\n");
        assert_eq!(run(&e, &mut c, &["dbsize"]), ":0\r\n");
    }
}
