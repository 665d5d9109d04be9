//! SLOWLOG GET | LEN | RESET | HELP (Valkey's `slowlogCommand`). The log itself, and what is
//! logged, is `slowlog.rs`.

use super::table::{flags::*, reply_help, Command, Doc, DocMeta};
use super::{subcommand_syntax_error, CmdResult, Ctx, Error};

const fn doc(summary: &'static str, complexity: &'static str, syntax: &'static str) -> Doc {
    Doc { summary, since: "2.2.12", group: "server", complexity, syntax }
}

const FLAGS: u32 = ADMIN | LOADING | STALE;

static SUBCOMMANDS: &[Command] = &[
    Command {
        name: "get",
        arity: -2,
        flags: FLAGS,
        handler: Some(get),
        tips: &["request_policy:all_nodes", "nondeterministic_output"],
        doc: doc("Returns the slow log's entries.", "O(N) where N is the number of entries returned", "[count]"),
        doc_meta: DocMeta {
            history: &[("4.0.0", "Added client IP address, port and name to the reply.")],
            ..DocMeta::NONE
        },
        ..Command::DEFAULT
    },
    Command {
        name: "help",
        arity: 2,
        flags: LOADING | STALE,
        handler: Some(help),
        doc: Doc { since: "6.2.0", ..doc("Show helpful text about the different subcommands", "O(1)", "") },
        ..Command::DEFAULT
    },
    Command {
        name: "len",
        arity: 2,
        flags: FLAGS,
        handler: Some(len),
        tips: &["request_policy:all_nodes", "response_policy:agg_sum", "nondeterministic_output"],
        doc: doc("Returns the number of entries in the slow log.", "O(1)", ""),
        ..Command::DEFAULT
    },
    Command {
        name: "reset",
        arity: 2,
        flags: FLAGS,
        handler: Some(reset),
        tips: &["request_policy:all_nodes", "response_policy:all_succeeded"],
        doc: doc("Clears all entries from the slow log.", "O(N) where N is the number of entries in the slowlog", ""),
        ..Command::DEFAULT
    },
];

pub static COMMANDS: &[Command] = &[Command {
    name: "slowlog",
    arity: -2,
    subcommands: SUBCOMMANDS,
    doc: doc("A container for slow log commands.", "Depends on subcommand.", ""),
    ..Command::DEFAULT
}];

fn get(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let mut count = 10;
    match argv.len() {
        2 => {}
        3 => {
            let n = resp::number::parse_i64(argv[2])
                .filter(|&n| n >= -1)
                .ok_or_else(|| Error::err("count should be greater than or equal to -1"))?;
            count = if n == -1 { usize::MAX } else { n as usize };
        }
        _ => return Err(subcommand_syntax_error(argv)),
    }
    let entries = ctx.engine.slowlog.newest(count);
    ctx.out.array(entries.len());
    for e in entries {
        ctx.out.array(6);
        ctx.out.int(e.id as i64);
        ctx.out.int(e.time as i64);
        ctx.out.int(e.duration_us as i64);
        ctx.out.array(e.argv.len());
        for a in &e.argv {
            ctx.out.bulk(a);
        }
        ctx.out.bulk(e.peer.as_bytes());
        ctx.out.bulk(&e.client_name);
    }
    Ok(())
}

fn len(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    ctx.out.int(ctx.engine.slowlog.len() as i64);
    Ok(())
}

fn reset(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    ctx.engine.slowlog.reset();
    ctx.out.ok();
    Ok(())
}

fn help(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    reply_help(
        ctx.out,
        "SLOWLOG",
        &[
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::engine::Engine;
    use crate::exec::tests::{client, run};

    #[test]
    fn logs_slow_commands_newest_first_within_limits() {
        let e = Engine::for_tests();
        let mut c = client(&e);
        assert_eq!(run(&e, &mut c, &["slowlog", "len"]), ":0\r\n");
        run(&e, &mut c, &["config", "set", "slowlog-log-slower-than", "0", "slowlog-max-len", "3"]);
        run(&e, &mut c, &["client", "setname", "me"]);
        let long = "A".repeat(129);
        run(&e, &mut c, &["set", "k", &long]);
        let many: Vec<String> = (0..40).map(|i| i.to_string()).collect();
        let mut sadd = vec!["sadd", "s"];
        sadd.extend(many.iter().map(String::as_str));
        run(&e, &mut c, &sadd);
        run(&e, &mut c, &["config", "set", "requirepass", ""]);
        // Every command is logged (SLOWLOG itself too); max-len 3 keeps the newest.
        let got = run(&e, &mut c, &["slowlog", "get"]);
        assert!(got.starts_with("*3\r\n*6\r\n"), "{got}");
        assert!(got.contains("$6\r\nconfig\r\n$3\r\nset\r\n$11\r\nrequirepass\r\n$10\r\n(redacted)\r\n"), "{got}");
        assert!(got.contains("$23\r\n... (11 more arguments)\r\n"), "{got}");
        assert!(got.contains(&format!("$146\r\n{}... (1 more bytes)\r\n", &long[..128])), "{got}");
        assert!(got.contains("$2\r\nme\r\n"), "{got}");
        assert!(run(&e, &mut c, &["slowlog", "get", "1"]).starts_with("*1\r\n"));
        assert!(run(&e, &mut c, &["slowlog", "get", "-1"]).starts_with("*3\r\n"));
        assert_eq!(run(&e, &mut c, &["slowlog", "get", "-2"]), "-ERR count should be greater than or equal to -1\r\n");
        assert_eq!(run(&e, &mut c, &["slowlog", "get", "x"]), "-ERR count should be greater than or equal to -1\r\n");
        assert!(run(&e, &mut c, &["slowlog", "get", "1", "2"]).starts_with("-ERR unknown subcommand or wrong number"));
        // EXEC is not logged, the commands it ran are.
        run(&e, &mut c, &["slowlog", "reset"]);
        run(&e, &mut c, &["multi"]);
        run(&e, &mut c, &["incr", "n"]);
        run(&e, &mut c, &["exec"]);
        let got = run(&e, &mut c, &["slowlog", "get"]);
        assert!(got.contains("$4\r\nincr\r\n") && !got.contains("$4\r\nexec\r\n"), "{got}");
        // Disabled: nothing more is logged.
        run(&e, &mut c, &["config", "set", "slowlog-log-slower-than", "-1"]);
        run(&e, &mut c, &["slowlog", "reset"]);
        run(&e, &mut c, &["ping"]);
        assert_eq!(run(&e, &mut c, &["slowlog", "len"]), ":0\r\n");
    }
}
