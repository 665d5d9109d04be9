//! MONITOR (Valkey's `monitorCommand`). What monitors receive is `monitor.rs`.

use super::table::{flags::*, Command, Doc};
use super::{CmdResult, Ctx, Error};

pub static COMMANDS: &[Command] = &[Command {
    name: "monitor",
    arity: 1,
    flags: ADMIN | NOSCRIPT | LOADING | STALE,
    handler: Some(monitor),
    doc: Doc {
        summary: "Listens for all requests received by the server in real-time.",
        since: "1.0.0",
        group: "server",
        complexity: "",
        syntax: "",
    },
    ..Command::DEFAULT
}];

fn monitor(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    if !ctx.keys.may_block {
        // Inside EXEC the client expects one reply per command (Valkey's deny-blocking).
        return Err(Error::err("MONITOR isn't allowed for DENY BLOCKING client"));
    }
    {
        let mut f = ctx.client.shared.flags.lock();
        // A replica or a client already monitoring: ignored, without a reply, as in Valkey.
        if f.replica {
            return Ok(());
        }
        f.replica = true;
        f.monitor = true;
    }
    ctx.engine.monitors.add(ctx.client.shared.clone());
    ctx.out.ok();
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::engine::Engine;
    use crate::exec::tests::{client, pushes, run};

    #[test]
    fn monitors_receive_executed_commands() {
        let e = Engine::for_tests();
        let mut m = client(&e);
        let mut c = client(&e);
        assert_eq!(run(&e, &mut m, &["monitor"]), "+OK\r\n");
        assert_eq!(run(&e, &mut m, &["monitor"]), "", "a second MONITOR is ignored");
        run(&e, &mut c, &["set", "k", "v"]);
        run(&e, &mut c, &["config", "get", "maxclients"]); // admin: not shown
        run(&e, &mut c, &["multi"]);
        run(&e, &mut c, &["incr", "n"]);
        run(&e, &mut c, &["exec"]);
        run(&e, &mut c, &["auth", "secret"]);
        let got = pushes(&m);
        let lines: Vec<&str> = got.split("\r\n").filter(|l| !l.is_empty()).collect();
        let cmds: Vec<&str> = lines.iter().map(|l| l.split_once("] ").unwrap().1).collect();
        assert_eq!(cmds, ["\"set\" \"k\" \"v\"", "\"multi\"", "\"incr\" \"n\"", "\"exec\"", "\"auth\" \"(redacted)\""]);
        assert!(lines[0].starts_with('+') && lines[0].contains(" [0 "), "{got}");
        // RESET ends it.
        run(&e, &mut m, &["reset"]);
        run(&e, &mut c, &["ping"]);
        assert_eq!(pushes(&m), "");
        assert!(!e.monitors.active());
        // Inside a transaction it is refused, and the client does not become a monitor.
        let mut t = client(&e);
        run(&e, &mut t, &["multi"]);
        run(&e, &mut t, &["monitor"]);
        assert_eq!(run(&e, &mut t, &["exec"]), "*1\r\n-ERR MONITOR isn't allowed for DENY BLOCKING client\r\n");
        assert!(!t.shared.flags.lock().monitor);
        assert!(!e.monitors.active());
    }
}
