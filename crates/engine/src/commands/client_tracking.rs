//! CLIENT TRACKING, CLIENT CACHING, CLIENT GETREDIR, CLIENT TRACKINGINFO: the commands of
//! client-side caching (declared in connection.rs's CLIENT table; the machinery is
//! `crate::tracking`). Option checks and error texts follow Valkey's `clientCommand`.

use super::{errors, CmdResult, Ctx, Error};
use crate::tracking::TrackingState;

fn is(a: &[u8], word: &str) -> bool {
    a.eq_ignore_ascii_case(word.as_bytes())
}

/// CLIENT TRACKING <ON | OFF> [REDIRECT id] [PREFIX p ...] [BCAST] [OPTIN] [OPTOUT] [NOLOOP]
pub fn tracking(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let mut new = TrackingState::default();
    let mut j = 3;
    while j < argv.len() {
        let more = j + 1 < argv.len();
        let a = argv[j];
        if is(a, "redirect") && more {
            j += 1;
            if new.redirect != 0 {
                return Err(Error::err("A client can only redirect to a single other client"));
            }
            let id = resp::number::parse_i64(argv[j]).ok_or(errors::NOT_INTEGER)?;
            if id <= 0 || ctx.engine.clients.get(id as u64).is_none() {
                return Err(Error::err("The client ID you want redirect to does not exist"));
            }
            new.redirect = id as u64;
        } else if is(a, "bcast") {
            new.bcast = true;
        } else if is(a, "optin") {
            new.optin = true;
        } else if is(a, "optout") {
            new.optout = true;
        } else if is(a, "noloop") {
            new.noloop = true;
        } else if is(a, "prefix") && more {
            j += 1;
            new.prefixes.push(argv[j].to_vec());
        } else {
            return Err(errors::SYNTAX);
        }
        j += 1;
    }
    let shared = ctx.client.shared.clone();
    if is(argv[2], "on") {
        let current = shared.tracking.lock().clone();
        if !new.bcast && !new.prefixes.is_empty() {
            return Err(Error::err("PREFIX option requires BCAST mode to be enabled"));
        }
        if current.on && current.bcast != new.bcast {
            return Err(Error::err(
                "You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it \
                 with a different mode.",
            ));
        }
        if new.bcast && (new.optin || new.optout) {
            return Err(Error::err("OPTIN and OPTOUT are not compatible with BCAST"));
        }
        if new.optin && new.optout {
            return Err(Error::err("You can't specify both OPTIN mode and OPTOUT mode"));
        }
        if (new.optin && current.optout) || (new.optout && current.optin) {
            return Err(Error::err(
                "You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it \
                 with a different mode.",
            ));
        }
        if new.bcast {
            check_prefix_collisions(&current.prefixes, &new.prefixes)?;
        }
        ctx.engine.tracking.enable(&shared, new);
        ctx.client.tracking = true;
    } else if is(argv[2], "off") {
        ctx.engine.tracking.disable(&shared);
        ctx.client.tracking = false;
    } else {
        return Err(errors::SYNTAX);
    }
    ctx.out.ok();
    Ok(())
}

/// Two prefixes collide when one starts with the other: a key could then be announced twice.
fn check_prefix_collisions(existing: &[Vec<u8>], given: &[Vec<u8>]) -> CmdResult {
    let overlap = |a: &[u8], b: &[u8]| a.starts_with(b) || b.starts_with(a);
    for (i, p) in given.iter().enumerate() {
        if let Some(old) = existing.iter().find(|old| overlap(old, p)) {
            return Err(Error::err(format!(
                "Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                String::from_utf8_lossy(p),
                String::from_utf8_lossy(old)
            )));
        }
        if let Some(other) = given[i + 1..].iter().find(|o| overlap(p, o)) {
            return Err(Error::err(format!(
                "Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                String::from_utf8_lossy(p),
                String::from_utf8_lossy(other)
            )));
        }
    }
    Ok(())
}

/// CLIENT CACHING <YES | NO>: for the next command in OPTIN / OPTOUT mode.
pub fn caching(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let mut st = ctx.client.shared.tracking.lock();
    if !st.on {
        return Err(Error::err(
            "CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
        ));
    }
    if is(argv[2], "yes") {
        if !st.optin {
            return Err(Error::err("CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode."));
        }
    } else if is(argv[2], "no") {
        if !st.optout {
            return Err(Error::err("CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode."));
        }
    } else {
        return Err(errors::SYNTAX);
    }
    st.caching = true;
    drop(st);
    ctx.out.ok();
    Ok(())
}

pub fn getredir(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    let st = ctx.client.shared.tracking.lock();
    let id = if st.on { st.redirect as i64 } else { -1 };
    drop(st);
    ctx.out.int(id);
    Ok(())
}

pub fn trackinginfo(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    let st = ctx.client.shared.tracking.lock().clone();
    let mut flags: Vec<&str> = vec![if st.on { "on" } else { "off" }];
    if st.bcast {
        flags.push("bcast");
    }
    if st.optin {
        flags.push("optin");
        if st.caching {
            flags.push("caching-yes");
        }
    }
    if st.optout {
        flags.push("optout");
        if st.caching {
            flags.push("caching-no");
        }
    }
    if st.noloop {
        flags.push("noloop");
    }
    if st.broken_redirect {
        flags.push("broken_redirect");
    }
    let out = &mut *ctx.out;
    out.map(3);
    out.bulk(b"flags");
    out.set(flags.len());
    for f in flags {
        out.bulk(f.as_bytes());
    }
    out.bulk(b"redirect");
    out.int(if st.on { st.redirect as i64 } else { -1 });
    out.bulk(b"prefixes");
    out.array(st.prefixes.len());
    for p in &st.prefixes {
        out.bulk(p);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::engine::Engine;
    use crate::exec::tests::{client, pushes, run};

    #[test]
    fn resp3_client_is_told_once_about_a_key_it_read() {
        let e = Engine::for_tests();
        let mut reader = client(&e);
        let mut writer = client(&e);
        run(&e, &mut reader, &["hello", "3"]);
        assert_eq!(run(&e, &mut reader, &["client", "tracking", "on"]), "+OK\r\n");
        run(&e, &mut writer, &["mset", "a", "1", "b", "2"]);
        run(&e, &mut reader, &["mget", "a", "c"]);
        run(&e, &mut writer, &["set", "b", "3"]);
        assert_eq!(pushes(&reader), "");
        run(&e, &mut writer, &["set", "a", "3"]);
        assert_eq!(pushes(&reader), ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\na\r\n");
        // Forgotten after one invalidation.
        run(&e, &mut writer, &["set", "a", "4"]);
        assert_eq!(pushes(&reader), "");
        // Its own writes come back to it too (after the reply), unless NOLOOP.
        run(&e, &mut reader, &["get", "c"]);
        run(&e, &mut reader, &["set", "c", "1"]);
        assert_eq!(pushes(&reader), ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nc\r\n");
        run(&e, &mut reader, &["client", "tracking", "on", "noloop"]);
        run(&e, &mut reader, &["get", "c"]);
        run(&e, &mut reader, &["set", "c", "2"]);
        assert_eq!(pushes(&reader), "");
        assert_eq!(e.tracking.totals(), (0, 0, 0));
    }

    #[test]
    fn read_only_scripts_are_tracked_by_their_reads_not_their_keys() {
        let e = Engine::for_tests();
        let mut reader = client(&e);
        let mut writer = client(&e);
        run(&e, &mut reader, &["hello", "3"]);
        run(&e, &mut reader, &["client", "tracking", "on"]);
        run(&e, &mut reader, &["eval_ro", "return redis.call('ping')", "2", "k1", "k2"]);
        run(&e, &mut writer, &["mset", "k1", "1", "k2", "1"]);
        assert_eq!(pushes(&reader), "");
        run(&e, &mut reader, &["eval_ro", "return redis.call('get', 'k2')", "2", "k1", "k2"]);
        run(&e, &mut writer, &["mset", "k1", "2", "k2", "2"]);
        assert_eq!(pushes(&reader), ">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nk2\r\n");
    }

    #[test]
    fn resp2_redirect_to_a_subscriber_and_flush() {
        let e = Engine::for_tests();
        let mut sink = client(&e);
        let mut c = client(&e);
        let mut w = client(&e);
        run(&e, &mut sink, &["subscribe", "__redis__:invalidate"]);
        let id = sink.id().to_string();
        assert_eq!(run(&e, &mut c, &["client", "tracking", "on", "redirect", &id]), "+OK\r\n");
        assert_eq!(run(&e, &mut c, &["client", "getredir"]), format!(":{id}\r\n"));
        run(&e, &mut c, &["get", "k"]);
        run(&e, &mut w, &["set", "k", "v"]);
        assert_eq!(pushes(&sink), "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$1\r\nk\r\n");
        run(&e, &mut w, &["flushall"]);
        assert_eq!(pushes(&sink), "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n");
        assert_eq!(
            run(&e, &mut c, &["client", "tracking", "on", "redirect", "999"]),
            "-ERR The client ID you want redirect to does not exist\r\n"
        );
    }

    #[test]
    fn optin_needs_caching_yes_for_the_next_command_only() {
        let e = Engine::for_tests();
        let mut c = client(&e);
        let mut w = client(&e);
        run(&e, &mut c, &["hello", "3"]);
        assert_eq!(
            run(&e, &mut c, &["client", "caching", "yes"]),
            "-ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode \
             enabled\r\n"
        );
        run(&e, &mut c, &["client", "tracking", "on", "optin"]);
        assert_eq!(
            run(&e, &mut c, &["client", "caching", "no"]),
            "-ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.\r\n"
        );
        run(&e, &mut c, &["get", "a"]);
        run(&e, &mut c, &["client", "caching", "yes"]);
        run(&e, &mut c, &["get", "b"]);
        run(&e, &mut c, &["get", "c"]);
        for k in ["a", "b", "c"] {
            run(&e, &mut w, &["set", k, "1"]);
        }
        assert_eq!(pushes(&c), ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nb\r\n");
    }

    #[test]
    fn bcast_prefixes_get_every_change_in_one_message_per_command() {
        let e = Engine::for_tests();
        let mut c = client(&e);
        let mut w = client(&e);
        run(&e, &mut c, &["hello", "3"]);
        assert_eq!(
            run(&e, &mut c, &["client", "tracking", "on", "prefix", "a"]),
            "-ERR PREFIX option requires BCAST mode to be enabled\r\n"
        );
        assert_eq!(
            run(&e, &mut c, &["client", "tracking", "on", "bcast", "prefix", "ab", "prefix", "a"]),
            "-ERR Prefix 'ab' overlaps with another provided prefix 'a'. Prefixes for a single client must not \
             overlap.\r\n"
        );
        run(&e, &mut c, &["client", "tracking", "on", "bcast", "prefix", "user:", "prefix", "cfg:"]);
        run(&e, &mut w, &["mset", "user:1", "a", "other", "b", "user:2", "c"]);
        assert_eq!(pushes(&c), ">2\r\n$10\r\ninvalidate\r\n*2\r\n$6\r\nuser:1\r\n$6\r\nuser:2\r\n");
        assert_eq!(e.tracking.totals(), (0, 0, 2));
        assert_eq!(
            run(&e, &mut c, &["client", "trackinginfo"]),
            "%3\r\n$5\r\nflags\r\n~2\r\n$2\r\non\r\n$5\r\nbcast\r\n$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n\
             *2\r\n$4\r\ncfg:\r\n$5\r\nuser:\r\n"
        );
        run(&e, &mut c, &["client", "tracking", "off"]);
        assert_eq!(e.tracking.totals(), (0, 0, 0));
    }

    #[test]
    fn the_table_stays_within_its_limit() {
        let e = Engine::for_tests();
        let mut c = client(&e);
        run(&e, &mut c, &["hello", "3"]);
        run(&e, &mut c, &["client", "tracking", "on"]);
        for i in 0..20 {
            run(&e, &mut c, &["get", &format!("k{i}")]);
        }
        assert_eq!(e.tracking.totals().0, 20);
        run(&e, &mut c, &["config", "set", "tracking-table-max-keys", "5"]);
        assert_eq!(e.tracking.totals().0, 5);
        assert_eq!(pushes(&c).matches("invalidate").count(), 15);
    }
}
