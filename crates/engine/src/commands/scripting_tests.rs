//! Unit tests of EVAL & co. and SCRIPT, through the dispatcher.

use crate::engine::Engine;
use crate::exec::tests::{client, run};

fn eval(e: &Engine, c: &mut crate::client::Client, script: &str, rest: &[&str]) -> String {
    let mut argv = vec!["eval", script];
    argv.extend_from_slice(rest);
    run(e, c, &argv)
}

#[test]
fn conversions_lua_to_resp2() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    assert_eq!(eval(&e, &mut c, "return 1", &["0"]), ":1\r\n");
    assert_eq!(eval(&e, &mut c, "return 3.99", &["0"]), ":3\r\n");
    assert_eq!(eval(&e, &mut c, "return 'x'", &["0"]), "$1\r\nx\r\n");
    assert_eq!(eval(&e, &mut c, "return true", &["0"]), ":1\r\n");
    assert_eq!(eval(&e, &mut c, "return false", &["0"]), "$-1\r\n");
    assert_eq!(eval(&e, &mut c, "return nil", &["0"]), "$-1\r\n");
    assert_eq!(eval(&e, &mut c, "return {1,2,nil,4}", &["0"]), "*2\r\n:1\r\n:2\r\n");
    assert_eq!(eval(&e, &mut c, "return {ok='fine'}", &["0"]), "+fine\r\n");
    assert_eq!(eval(&e, &mut c, "return {err='My Error'}", &["0"]), "-My Error\r\n");
    assert_eq!(eval(&e, &mut c, "return redis.error_reply('MY_ERR x')", &["0"]), "-MY_ERR x\r\n");
    assert_eq!(eval(&e, &mut c, "return redis.status_reply('OK')", &["0"]), "+OK\r\n");
    assert_eq!(
        eval(&e, &mut c, "return {KEYS[1], ARGV[1], #KEYS, #ARGV}", &["1", "k", "a"]),
        "*4\r\n$1\r\nk\r\n$1\r\na\r\n:1\r\n:1\r\n"
    );
}

#[test]
fn calls_and_replies_to_lua() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    assert_eq!(eval(&e, &mut c, "return redis.call('set', KEYS[1], ARGV[1])", &["1", "k", "v"]), "+OK\r\n");
    assert_eq!(eval(&e, &mut c, "return redis.call('get', 'k')", &["0"]), "$1\r\nv\r\n");
    assert_eq!(eval(&e, &mut c, "return redis.call('get', 'nokey') == false", &["0"]), ":1\r\n");
    assert_eq!(eval(&e, &mut c, "return redis.call('incrby', 'n', 5.0)", &["0"]), ":5\r\n");
    assert_eq!(
        eval(&e, &mut c, "return type(redis.call('ping'))", &["0"]),
        "$5\r\ntable\r\n",
        "status replies are {{ok=...}}"
    );
    assert_eq!(eval(&e, &mut c, "redis.setresp(3); return redis.call('get', 'nokey') == nil", &["0"]), ":1\r\n");
    assert_eq!(
        eval(&e, &mut c, "redis.setresp(3); return redis.call('hgetall', 'nokey').map ~= nil", &["0"]),
        ":1\r\n"
    );
}

#[test]
fn errors_are_formatted_as_valkey() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    run(&e, &mut c, &["set", "s", "x"]);
    let r = eval(&e, &mut c, "return redis.call('lpush', 's', 1)", &["0"]);
    assert!(r.starts_with("-WRONGTYPE Operation against a key holding the wrong kind of value script: "), "{r}");
    assert!(r.ends_with(", on @user_script:1.\r\n"), "{r}");
    let r = eval(&e, &mut c, "return redis.pcall('lpush', 's', 1)", &["0"]);
    assert_eq!(r, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    let r = eval(&e, &mut c, "return a", &["0"]);
    assert!(r.starts_with("-ERR Script attempted to access nonexistent global variable 'a' script:"), "{r}");
    let r = eval(&e, &mut c, "a = 1", &["0"]);
    assert!(r.contains("Attempt to modify a readonly table"), "{r}");
    let r = eval(&e, &mut c, "redis.call = 1", &["0"]);
    assert!(r.contains("Attempt to modify a readonly table"), "{r}");
    let r = eval(&e, &mut c, "return redis.call('nosuch')", &["0"]);
    assert!(r.starts_with("-ERR Unknown command called from script script:"), "{r}");
    let r = eval(&e, &mut c, "return redis.call('get')", &["0"]);
    assert!(r.starts_with("-ERR Wrong number of args calling command from script"), "{r}");
    let r = eval(&e, &mut c, "return redis.call('multi')", &["0"]);
    assert!(r.starts_with("-ERR This Redis command is not allowed from script"), "{r}");
    let r = eval(&e, &mut c, "return redis.call('get', {})", &["0"]);
    assert!(r.starts_with("-ERR Command arguments must be strings or integers"), "{r}");
    let r = eval(&e, &mut c, "return loadfile('x')", &["0"]);
    assert!(r.contains("nonexistent global variable 'loadfile'"), "{r}");
    let r = eval(&e, &mut c, "return os.execute()", &["0"]);
    assert!(r.contains("attempt to call field 'execute'"), "{r}");
    let r = eval(&e, &mut c, "return 1 +", &["0"]);
    assert!(r.starts_with("-ERR Error compiling script (new function): user_script:1:"), "{r}");
    let r = eval(&e, &mut c, "error('boom')", &["0"]);
    assert!(r.starts_with("-ERR user_script:1: boom script: "), "{r}");
    assert_eq!(
        eval(&e, &mut c, "local ok, e = pcall(redis.call, 'nosuch'); return e", &["0"]),
        "$38\r\nERR Unknown command called from script\r\n"
    );
    assert_eq!(
        run(&e, &mut c, &["eval", "return 1", "2", "a"]),
        "-ERR Number of keys can't be greater than number of args\r\n"
    );
    assert_eq!(run(&e, &mut c, &["eval", "return 1", "-1"]), "-ERR Number of keys can't be negative\r\n");
    assert_eq!(run(&e, &mut c, &["eval", "return 1", "x"]), "-ERR value is not an integer or out of range\r\n");
}

#[test]
fn read_only_scripts_refuse_writes() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    let r = run(&e, &mut c, &["eval_ro", "return redis.call('set', 'k', 1)", "1", "k"]);
    assert!(r.starts_with("-ERR Write commands are not allowed from read-only scripts. script:"), "{r}");
    let r = run(&e, &mut c, &["eval", "#!lua flags=no-writes\nreturn redis.call('set', 'k', 1)", "0"]);
    assert!(r.starts_with("-ERR Write commands are not allowed from read-only scripts."), "{r}");
    let r = run(&e, &mut c, &["eval_ro", "#!lua\nreturn 1", "0"]);
    assert_eq!(r, "-ERR Can not execute a script with write flag using *_ro command.\r\n");
    assert_eq!(run(&e, &mut c, &["eval_ro", "#!lua flags=no-writes\nreturn 1", "0"]), ":1\r\n");
    assert_eq!(
        run(&e, &mut c, &["eval", "#!lua flags=bad\nreturn 1", "0"]),
        "-ERR Unexpected flag in script shebang: bad\r\n"
    );
    assert_eq!(
        run(&e, &mut c, &["eval", "#!lua name=x\nreturn 1", "0"]),
        "-ERR Unknown lua shebang option: name=x\r\n"
    );
    assert_eq!(
        run(&e, &mut c, &["eval", "#!python\nreturn 1", "0"]),
        "-ERR Unexpected engine in script shebang: #!python\r\n"
    );
    assert_eq!(run(&e, &mut c, &["get", "k"]), "$-1\r\n");
}

#[test]
fn script_cache_commands() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    let sha = crate::scripting::sha1hex(b"return 7");
    assert_eq!(sha.len(), 40);
    assert_eq!(run(&e, &mut c, &["evalsha", &sha, "0"]), "-NOSCRIPT No matching script. Please use EVAL.\r\n");
    assert_eq!(run(&e, &mut c, &["script", "load", "return 7"]), format!("$40\r\n{sha}\r\n"));
    assert_eq!(run(&e, &mut c, &["evalsha", &sha.to_uppercase(), "0"]), ":7\r\n");
    assert_eq!(run(&e, &mut c, &["script", "exists", &sha, "nope"]), "*2\r\n:1\r\n:0\r\n");
    assert_eq!(run(&e, &mut c, &["script", "flush", "bad"]), "-ERR SCRIPT FLUSH only support SYNC|ASYNC option\r\n");
    assert_eq!(run(&e, &mut c, &["script", "flush", "sync"]), "+OK\r\n");
    assert_eq!(run(&e, &mut c, &["script", "exists", &sha]), "*1\r\n:0\r\n");
    assert_eq!(run(&e, &mut c, &["script", "kill"]), "-NOTBUSY No scripts in execution right now.\r\n");
    assert_eq!(
        run(&e, &mut c, &["eval", "return redis.sha1hex('')", "0"]),
        "$40\r\nda39a3ee5e6b4b0d3255bfef95601890afd80709\r\n"
    );
}

#[test]
fn libraries() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    assert_eq!(eval(&e, &mut c, "return bit.tohex(65535, -2147483648)", &["0"]), "$8\r\n0000FFFF\r\n");
    assert_eq!(eval(&e, &mut c, "return bit.band(0xff, 0x0f)", &["0"]), ":15\r\n");
    assert_eq!(eval(&e, &mut c, "return bit.lshift(1, 31)", &["0"]), ":-2147483648\r\n");
    assert_eq!(eval(&e, &mut c, "return cjson.encode({1,2,'a/b'})", &["0"]), "$12\r\n[1,2,\"a\\/b\"]\r\n");
    assert_eq!(eval(&e, &mut c, "return cjson.encode({})", &["0"]), "$2\r\n{}\r\n");
    assert_eq!(eval(&e, &mut c, "return cjson.encode({a=1.5})", &["0"]), "$9\r\n{\"a\":1.5}\r\n");
    assert_eq!(
        eval(
            &e,
            &mut c,
            "local t = cjson.decode('{\"a\":[1,null,\"x\"]}'); return {t.a[1], t.a[2] == cjson.null, t.a[3]}",
            &["0"]
        ),
        "*3\r\n:1\r\n:1\r\n$1\r\nx\r\n"
    );
    let r = eval(&e, &mut c, "return cjson.decode('[1,')", &["0"]);
    assert!(r.starts_with("-ERR user_script:1: Expected value but found T_END at character 4"), "{r}");
    // math.random is deterministic per seed.
    let a = eval(&e, &mut c, "math.randomseed(42); return math.random(1000)", &["0"]);
    let b = eval(&e, &mut c, "math.randomseed(42); return math.random(1000)", &["0"]);
    assert_eq!(a, b);
}

#[test]
fn cmsgpack_struct_and_cjson_settings_through_eval() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    let hex = "local function hex(s) return (s:gsub('.', function(b) return string.format('%02x', b:byte()) end)) end ";
    assert_eq!(
        eval(&e, &mut c, &format!("{hex} return hex(cmsgpack.pack(0.1))"), &["0"]),
        "$18\r\ncb3fb999999999999a\r\n"
    );
    assert_eq!(
        eval(&e, &mut c, &format!("{hex} return hex(cmsgpack.pack(-1099511627776))"), &["0"]),
        "$18\r\nd3ffffff0000000000\r\n"
    );
    assert_eq!(
        eval(
            &e,
            &mut c,
            "local o, v = cmsgpack.unpack_limit(cmsgpack.pack('a', {1, 2}), 1, 2) return {o, v[2]}",
            &["0"]
        ),
        "*2\r\n:-1\r\n:2\r\n"
    );
    assert_eq!(
        eval(&e, &mut c, &format!("{hex} return hex(struct.pack('>Hc0', 3, 'abc'))"), &["0"]),
        "$10\r\n0003616263\r\n"
    );
    assert_eq!(eval(&e, &mut c, "return {struct.unpack('>H', '\\0\\3')}", &["0"]), "*2\r\n:3\r\n:3\r\n");
    let r = eval(&e, &mut c, "return cmsgpack.unpack('\\193')", &["0"]);
    assert!(r.starts_with("-ERR user_script:1: Bad data format in input. script: "), "{r}");
    let r = eval(&e, &mut c, "return struct.pack('i')", &["0"]);
    assert!(r.starts_with("-ERR user_script:1: bad argument #2 to 'pack' (number expected, got nil)"), "{r}");
    // Settings last as long as the Lua state.
    assert_eq!(
        eval(&e, &mut c, "cjson.encode_invalid_numbers('null') return cjson.encode({0/0})", &["0"]),
        "$6\r\n[null]\r\n"
    );
    assert_eq!(eval(&e, &mut c, "return cjson.encode({1/0})", &["0"]), "$6\r\n[null]\r\n");
    run(&e, &mut c, &["script", "flush"]);
    let r = eval(&e, &mut c, "return cjson.encode({1/0})", &["0"]);
    assert!(r.starts_with("-ERR user_script:1: Cannot serialise number: must not be NaN or Inf"), "{r}");
}

#[test]
fn library_tables_are_read_only() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    for code in [
        "cmsgpack.pack = function() return 1 end",
        "struct.unpack = nil",
        "cjson.encode_max_depth = nil",
        "bit.band = nil",
    ] {
        let r = eval(&e, &mut c, code, &["0"]);
        assert!(r.contains("Attempt to modify a readonly table"), "{code}: {r}");
    }
    assert_eq!(
        eval(&e, &mut c, "return type(cmsgpack.pack) .. type(struct.size) .. cjson._VERSION", &["0"]),
        "$21\r\nfunctionfunction2.1.0\r\n"
    );
}

#[test]
fn returned_tables_convert_without_holding_their_elements() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    // More strings than mlua has reference slots.
    let r = eval(&e, &mut c, "local t = {} for i = 1, 20000 do t[i] = 'v' .. i end return t", &["0"]);
    assert!(r.starts_with("*20000\r\n$2\r\nv1\r\n") && r.ends_with("$6\r\nv20000\r\n"), "{}", &r[..40]);
    let r = eval(
        &e,
        &mut c,
        "local t = {} for i = 1, 20000 do t['k' .. i] = 'v' end redis.setresp(3) return {map = t}",
        &["0"],
    );
    assert!(r.starts_with("*40000\r\n"), "{}", &r[..40]);
    // A number key below f64::EPSILON reaches Rust as 0: the walk must not resume from it.
    assert_eq!(eval(&e, &mut c, "redis.setresp(3) return {map = {[1e-20] = 1}}", &["0"]), "*2\r\n:0\r\n:1\r\n");
    assert_eq!(
        eval(&e, &mut c, "redis.setresp(3) return {set = {[1e-20] = true, [1e-30] = true}}", &["0"]),
        "*2\r\n:0\r\n:0\r\n"
    );
    // A double that mlua hands over as an integer is still a double.
    assert_eq!(eval(&e, &mut c, "redis.setresp(3) return {double = 3}", &["0"]), "$1\r\n3\r\n");
    assert_eq!(eval(&e, &mut c, "redis.setresp(3) return {double = 1e-300}", &["0"]), "$6\r\n1e-300\r\n");
    // Numbers convert as C casts them.
    assert_eq!(
        eval(&e, &mut c, "return {1e20, 0/0}", &["0"]),
        "*2\r\n:-9223372036854775808\r\n:-9223372036854775808\r\n"
    );
}

#[test]
fn select_inside_a_script_does_not_leak() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    assert_eq!(eval(&e, &mut c, "redis.call('select', 1); return redis.call('set', 'x', 1)", &["0"]), "+OK\r\n");
    assert_eq!(run(&e, &mut c, &["exists", "x"]), ":0\r\n");
    run(&e, &mut c, &["select", "1"]);
    assert_eq!(run(&e, &mut c, &["exists", "x"]), ":1\r\n");
}

#[test]
fn function_libraries() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    let lib = "#!lua name=mylib\nredis.register_function('echo', function(keys, args) return args[1] end)\n\
               redis.register_function{function_name='ro', callback=function(keys, args) return redis.call('get', keys[1]) end, flags={'no-writes'}, description='reads'}";
    assert_eq!(run(&e, &mut c, &["function", "load", lib]), "$5\r\nmylib\r\n");
    assert_eq!(run(&e, &mut c, &["function", "load", lib]), "-ERR Library 'mylib' already exists\r\n");
    assert_eq!(run(&e, &mut c, &["function", "load", "replace", lib]), "$5\r\nmylib\r\n");
    assert_eq!(run(&e, &mut c, &["fcall", "echo", "0", "hi"]), "$2\r\nhi\r\n");
    assert_eq!(
        run(&e, &mut c, &["fcall_ro", "echo", "0", "hi"]),
        "-ERR Can not execute a script with write flag using *_ro command.\r\n"
    );
    run(&e, &mut c, &["set", "k", "v"]);
    assert_eq!(run(&e, &mut c, &["fcall_ro", "ro", "1", "k"]), "$1\r\nv\r\n");
    assert_eq!(run(&e, &mut c, &["fcall", "nope", "0"]), "-ERR Function not found\r\n");
    assert_eq!(run(&e, &mut c, &["fcall", "echo", "x"]), "-ERR Bad number of keys provided\r\n");
    assert_eq!(
        run(&e, &mut c, &["function", "load", "#!lua name=other\nredis.register_function('echo', function() end)"]),
        "-ERR Function echo already exists\r\n"
    );
    assert_eq!(run(&e, &mut c, &["function", "load", "return 1"]), "-ERR Missing library metadata\r\n");
    assert_eq!(run(&e, &mut c, &["function", "load", "#!lua name=x\nreturn 1"]), "-ERR No functions registered\r\n");
    assert_eq!(run(&e, &mut c, &["function", "load", "#!js name=x\nreturn 1"]), "-ERR Engine 'js' not found\r\n");
    let list = run(&e, &mut c, &["function", "list"]);
    assert!(list.contains("mylib") && list.contains("no-writes") && list.contains("reads"), "{list}");
    let dump = {
        let argv: Vec<&[u8]> = vec![b"function", b"dump"];
        let mut out = resp::Reply::new(false);
        crate::exec::execute(&e, &mut c, &argv, &mut out);
        match resp::Value::parse(out.as_bytes()).unwrap().0 {
            resp::Value::Bulk(b) => b,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(run(&e, &mut c, &["function", "flush"]), "+OK\r\n");
    assert_eq!(run(&e, &mut c, &["fcall", "echo", "0", "hi"]), "-ERR Function not found\r\n");
    let argv: Vec<&[u8]> = vec![b"function", b"restore", &dump];
    let mut out = resp::Reply::new(false);
    crate::exec::execute(&e, &mut c, &argv, &mut out);
    assert_eq!(out.as_bytes(), b"+OK\r\n");
    assert_eq!(run(&e, &mut c, &["fcall", "echo", "0", "back"]), "$4\r\nback\r\n");
    assert_eq!(run(&e, &mut c, &["function", "delete", "mylib"]), "+OK\r\n");
    assert_eq!(run(&e, &mut c, &["function", "delete", "mylib"]), "-ERR Library not found\r\n");
    assert_eq!(run(&e, &mut c, &["function", "kill"]), "-NOTBUSY No scripts in execution right now.\r\n");
}

#[test]
fn function_load_sees_only_the_library_api() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    let load = |c: &mut crate::client::Client, body: &str| {
        run(&e, c, &["function", "load", "replace", &format!("#!lua name=lib\n{body}")])
    };
    let r = load(&mut c, "return math.random()");
    assert!(r.contains("Script attempted to access nonexistent global variable 'math'"), "{r}");
    let r = load(&mut c, "return redis.call('ping')");
    assert!(r.contains("attempted to access nonexistent global variable 'call'"), "{r}");
    let r = load(&mut c, "a = 1");
    assert!(r.contains("Attempt to modify a readonly table"), "{r}");
    // Functions defined at load see the usual globals when they run.
    let lib = "local lib = redis\n\
               server.log(server.LOG_NOTICE, 'loading')\n\
               lib.register_function('F1', function() return math.floor(2.5) end)\n\
               lib.register_function('f2', function() lib.register_function('f3', function() end) end)";
    assert_eq!(load(&mut c, lib), "$3\r\nlib\r\n");
    assert_eq!(run(&e, &mut c, &["fcall", "f1", "0"]), ":2\r\n", "function names ignore case");
    assert_eq!(run(&e, &mut c, &["fcall", "F1", "0"]), ":2\r\n");
    let r = run(&e, &mut c, &["fcall", "f2", "0"]);
    assert!(r.contains("can only be called on FUNCTION LOAD command"), "{r}");
    let r = load(&mut c, "redis.register_function('x', function() end)\nredis.register_function('X', function() end)");
    assert!(r.contains("Function already exists in the library"), "{r}");
    let r = load(&mut c, "redis.register_function('a b', function() end)");
    assert!(r.contains("Library names can only contain letters"), "{r}");
    // The shebang is split as Valkey splits it: quotes are taken off.
    let quoted = "#!lua name=\"q\"\nredis.register_function('q', function() return 1 end)";
    assert_eq!(run(&e, &mut c, &["function", "load", quoted]), "$1\r\nq\r\n");
    assert_eq!(
        run(&e, &mut c, &["function", "flush", "sync", "extra"]),
        "-ERR unknown subcommand or wrong number of arguments for 'flush'. Try FUNCTION HELP.\r\n"
    );
    assert_eq!(
        run(&e, &mut c, &["function", "restore", "a", "b", "c"]),
        "-ERR unknown subcommand or wrong number of arguments for 'restore'. Try FUNCTION HELP.\r\n"
    );
}

#[test]
fn function_load_times_out() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    let started = std::time::Instant::now();
    let r = run(&e, &mut c, &["function", "load", "#!lua name=lib\nlocal a = 1\nwhile 1 do a = a + 1 end"]);
    assert!(r.contains("FUNCTION LOAD timeout"), "{r}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    // The state is usable afterwards, with the usual globals back.
    let lib = "#!lua name=lib\nredis.register_function('f', function() return math.floor(1.5) end)";
    assert_eq!(run(&e, &mut c, &["function", "load", lib]), "$3\r\nlib\r\n");
    assert_eq!(run(&e, &mut c, &["fcall", "f", "0"]), ":1\r\n");
}

#[test]
fn scripts_over_maxmemory() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    e.config.set("maxmemory", &[b"1"]).unwrap();
    e.evictor.meter.set(1 << 30);
    let oom = "-OOM command not allowed when used memory > 'maxmemory'.";
    // A script without a shebang runs; its first denyoom call is refused.
    let r = eval(&e, &mut c, "return redis.call('set', 'x', 1)", &["0"]);
    assert!(r.starts_with(oom), "{r}");
    assert_eq!(
        eval(&e, &mut c, "return redis.pcall('set', 'x', 1)['err']", &["0"]),
        format!("${}\r\n{}\r\n", oom.len() - 1, &oom[1..])
    );
    assert_eq!(eval(&e, &mut c, "return redis.call('get', 'x')", &["0"]), "$-1\r\n");
    // A shebang script that may write is refused before it runs; no-writes and allow-oom run.
    assert_eq!(eval(&e, &mut c, "#!lua\nreturn 1", &["0"]), format!("{oom}\r\n"));
    assert_eq!(eval(&e, &mut c, "#!lua flags=no-writes\nreturn 1", &["0"]), ":1\r\n");
    assert_eq!(eval(&e, &mut c, "#!lua flags=allow-oom\nreturn redis.call('set', 'x', 1)", &["0"]), "+OK\r\n");
    e.config.set("maxmemory", &[b"0"]).unwrap();
    e.evictor.meter.set(0);
    assert_eq!(eval(&e, &mut c, "return redis.call('set', 'x', 2)", &["0"]), "+OK\r\n");
    assert!(e.stats.errors().iter().any(|(code, n)| code == "OOM" && *n >= 2));
}

#[test]
fn noscript_commands_and_the_debug_switch() {
    let e = Engine::for_tests();
    e.config.set("enable-debug-command", &[b"yes"]).unwrap();
    let mut c = client(&e);
    let r = eval(&e, &mut c, "return redis.call('multi')", &["0"]);
    assert!(r.starts_with("-ERR This Redis command is not allowed from script"), "{r}");
    assert_eq!(run(&e, &mut c, &["debug", "set-disable-deny-scripts", "1"]), "+OK\r\n");
    let r = eval(&e, &mut c, "return redis.call('client', 'id')", &["0"]);
    assert!(r.starts_with(':'), "{r}");
    assert_eq!(run(&e, &mut c, &["debug", "set-disable-deny-scripts", "0"]), "+OK\r\n");
    let r = eval(&e, &mut c, "return redis.call('client', 'id')", &["0"]);
    assert!(r.starts_with("-ERR This Redis command is not allowed from script"), "{r}");
}

#[test]
fn time_stands_still_in_a_script_and_set_sort_is_ordered() {
    let e = Engine::for_tests();
    e.config.set("enable-debug-command", &[b"yes"]).unwrap();
    let mut c = client(&e);
    run(&e, &mut c, &["debug", "set-disable-deny-scripts", "1"]);
    let r = eval(
        &e,
        &mut c,
        "local a = redis.call('time'); redis.call('debug', 'sleep', 0.01); local b = redis.call('time'); \
         return a[1] == b[1] and a[2] == b[2]",
        &["0"],
    );
    assert_eq!(r, ":1\r\n");
    run(&e, &mut c, &["sadd", "s", "c", "aa", "b", "a"]);
    assert_eq!(
        eval(&e, &mut c, "return redis.call('sort', 's', 'by', 'nosort')", &["0"]),
        "*4\r\n$1\r\na\r\n$2\r\naa\r\n$1\r\nb\r\n$1\r\nc\r\n"
    );
    assert_eq!(eval(&e, &mut c, "math.randomseed('7'); return math.random(10) > 0", &["0"]), ":1\r\n");
}

#[test]
fn info_memory_counts_scripts_and_functions() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    let field = |c: &mut crate::client::Client, name: &str| -> String {
        let info = run(&e, c, &["info", "memory"]);
        info.lines().find_map(|l| l.strip_prefix(&format!("{name}:")).map(str::to_string)).unwrap_or_default()
    };
    assert_eq!(field(&mut c, "number_of_cached_scripts"), "0");
    for j in 0..3 {
        run(&e, &mut c, &["script", "load", &format!("return {j}")]);
    }
    assert_eq!(field(&mut c, "number_of_cached_scripts"), "3");
    assert!(field(&mut c, "used_memory_vm_eval").parse::<u64>().unwrap() > 0);
    run(&e, &mut c, &["script", "flush"]);
    assert_eq!(field(&mut c, "number_of_cached_scripts"), "0");
    run(&e, &mut c, &["function", "load", "#!lua name=l\nredis.register_function('f', function() end)"]);
    assert_eq!(field(&mut c, "number_of_functions"), "1");
    assert_eq!(field(&mut c, "number_of_libraries"), "1");
}
