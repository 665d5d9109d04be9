//! Scripting: the FUNCTION container. Function libraries (FUNCTION LOAD, FCALL) and Lua
//! scripting (EVAL) are not built yet; until they are, the only libraries that exist are none,
//! so FUNCTION FLUSH has nothing to delete, and the other subcommands answer with Valkey's
//! unknown-subcommand error.

use super::table::{acl, flags::*, Command, Doc};
use super::{is, CmdResult, Ctx};

pub static COMMANDS: &[Command] = &[Command {
    name: "function",
    arity: -2,
    subcommands: FUNCTION_SUBCOMMANDS,
    doc: Doc {
        summary: "A container for function commands.",
        since: "7.0.0",
        group: "scripting",
        complexity: "Depends on subcommand.",
        syntax: "",
    },
    ..Command::DEFAULT
}];

static FUNCTION_SUBCOMMANDS: &[Command] = &[Command {
    name: "flush",
    arity: -2,
    flags: WRITE | NOSCRIPT,
    acl: acl::SCRIPTING,
    handler: Some(function_flush),
    doc: Doc {
        summary: "Deletes all libraries and functions.",
        since: "7.0.0",
        group: "scripting",
        complexity: "O(N) where N is the number of functions deleted",
        syntax: "[ASYNC | SYNC]",
    },
    ..Command::DEFAULT
}];

fn function_flush(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    match argv {
        [_, _] => {}
        [_, _, mode] if is(mode, "async") || is(mode, "sync") => {}
        [_, _, _] => {
            return Err(super::Error::err("FUNCTION FLUSH only supports SYNC|ASYNC option"));
        }
        _ => return Err(ctx.arity_error()),
    }
    ctx.out.ok();
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::engine::Engine;
    use crate::exec::tests::{client, run};

    #[test]
    fn function_flush_and_missing_subcommands() {
        let e = Engine::for_tests();
        let mut c = client(&e);
        assert_eq!(run(&e, &mut c, &["function", "flush"]), "+OK\r\n");
        assert_eq!(run(&e, &mut c, &["function", "flush", "async"]), "+OK\r\n");
        assert_eq!(
            run(&e, &mut c, &["function", "flush", "x"]),
            "-ERR FUNCTION FLUSH only supports SYNC|ASYNC option\r\n"
        );
        assert_eq!(
            run(&e, &mut c, &["function", "load", "x"]),
            "-ERR unknown subcommand 'load'. Try FUNCTION HELP.\r\n"
        );
    }
}
