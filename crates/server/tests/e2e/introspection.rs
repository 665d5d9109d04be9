//! COMMAND and its subcommands through real clients: the shapes cluster clients and CLIs parse.

use crate::harness::Server;
use redis::Value;

fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        Value::VerbatimString { text, .. } => text.clone(),
        Value::Okay => "OK".into(),
        other => panic!("not a string: {other:?}"),
    }
}

/// A map reply as (key, value) pairs, whether RESP3 (map) or RESP2 (flat array).
fn pairs(v: &Value) -> Vec<(String, Value)> {
    match v {
        Value::Map(m) => m.iter().map(|(k, v)| (text(k), v.clone())).collect(),
        Value::Array(a) => {
            assert!(a.len() % 2 == 0, "odd map array {a:?}");
            a.chunks(2).map(|c| (text(&c[0]), c[1].clone())).collect()
        }
        other => panic!("not a map: {other:?}"),
    }
}

fn get<'a>(m: &'a [(String, Value)], key: &str) -> &'a Value {
    &m.iter().find(|(k, _)| k == key).unwrap_or_else(|| panic!("no {key} in {m:?}")).1
}

fn items(v: &Value) -> &[Value] {
    match v {
        Value::Array(a) | Value::Set(a) => a,
        other => panic!("not a list: {other:?}"),
    }
}

fn check_set_docs(conn: &mut redis::Connection) {
    let reply: Value = redis::cmd("COMMAND").arg("DOCS").arg("set").arg("nosuchcommand").query(conn).unwrap();
    let docs = pairs(&reply);
    assert_eq!(docs.len(), 1, "unknown names are skipped");
    assert_eq!(docs[0].0, "set");
    let set = pairs(&docs[0].1);
    assert_eq!(text(get(&set, "group")), "string");
    assert_eq!(text(get(&set, "since")), "1.0.0");
    let args: Vec<Vec<(String, Value)>> = items(get(&set, "arguments")).iter().map(pairs).collect();
    let names: Vec<String> = args.iter().map(|a| text(get(a, "name"))).collect();
    assert_eq!(names[..3], ["key", "value", "nx-xx"]);
    assert_eq!(text(get(&args[0], "type")), "key");
    assert_eq!(get(&args[0], "key_spec_index"), &Value::Int(0));
    let condition = &args[2];
    assert_eq!(text(get(condition, "type")), "oneof");
    let flags: Vec<String> = items(get(condition, "flags")).iter().map(text).collect();
    assert_eq!(flags, ["optional"]);
    let choices: Vec<Vec<(String, Value)>> = items(get(condition, "arguments")).iter().map(pairs).collect();
    assert_eq!(text(get(&choices[0], "token")), "NX");
    assert_eq!(text(get(&choices[1], "type")), "pure-token");
    let expiration: Vec<Vec<(String, Value)>> = items(get(&args[4], "arguments")).iter().map(pairs).collect();
    assert_eq!(text(get(&expiration[0], "display_text")), "seconds");
    assert_eq!(text(get(&expiration[0], "type")), "integer");
    assert_eq!(text(get(&expiration[2], "type")), "unix-time");
}

#[test]
fn command_docs_through_the_redis_crate_resp2_and_resp3() {
    let s = Server::start(&[]);
    check_set_docs(&mut s.conn());
    let resp3 = redis::Client::open(format!("redis://127.0.0.1:{}/?protocol=resp3", s.port)).unwrap();
    check_set_docs(&mut resp3.get_connection().unwrap());
}

#[test]
fn command_docs_lists_subcommands() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let reply: Value = redis::cmd("COMMAND").arg("DOCS").arg("client").query(&mut c).unwrap();
    let docs = pairs(&reply);
    let client = pairs(&docs[0].1);
    let subs = pairs(get(&client, "subcommands"));
    let kill = &subs.iter().find(|(n, _)| n == "client|kill").expect("client|kill").1;
    let kill = pairs(kill);
    assert_eq!(text(get(&kill, "summary")), "Terminates open connections.");
    assert!(!items(get(&kill, "history")).is_empty());
    // Every command's docs parse, and every argument has a name and a known type.
    let all: Value = redis::cmd("COMMAND").arg("DOCS").query(&mut c).unwrap();
    let all = pairs(&all);
    let count: usize = redis::cmd("COMMAND").arg("COUNT").query(&mut c).unwrap();
    assert_eq!(all.len(), count);
    fn walk(args: &[Value]) {
        for a in args {
            let a = pairs(a);
            let kind = text(get(&a, "type"));
            assert!(
                ["string", "integer", "double", "key", "pattern", "unix-time", "pure-token", "oneof", "block"]
                    .contains(&kind.as_str()),
                "{kind}"
            );
            assert!(!text(get(&a, "name")).is_empty());
            if kind == "oneof" || kind == "block" {
                walk(items(get(&a, "arguments")));
            } else {
                assert!(!text(get(&a, "display_text")).is_empty());
            }
        }
    }
    for (_, d) in &all {
        let d = pairs(d);
        if let Some((_, args)) = d.iter().find(|(k, _)| k == "arguments") {
            walk(items(args));
        }
    }
}

#[test]
fn command_info_and_getkeys() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let reply: Value = redis::cmd("COMMAND").arg("INFO").arg("get").arg("config|get").arg("x|y").query(&mut c).unwrap();
    let entries = items(&reply);
    assert_eq!(entries.len(), 3);
    let get_info = items(&entries[0]);
    assert_eq!(text(&get_info[0]), "get");
    assert_eq!(get_info[1], Value::Int(2));
    assert_eq!(items(&get_info[2]).iter().map(text).collect::<Vec<_>>(), ["readonly", "fast"]);
    assert_eq!(&get_info[3..6], &[Value::Int(1), Value::Int(1), Value::Int(1)]);
    assert_eq!(items(&get_info[6]).iter().map(text).collect::<Vec<_>>(), ["@read", "@string", "@fast"]);
    assert_eq!(text(&items(&entries[1])[0]), "config|get");
    assert_eq!(entries[2], Value::Nil);

    let all: Value = redis::cmd("COMMAND").query(&mut c).unwrap();
    let count: usize = redis::cmd("COMMAND").arg("COUNT").query(&mut c).unwrap();
    assert_eq!(items(&all).len(), count);

    let keys: Vec<String> = redis::cmd("COMMAND").arg("GETKEYS").arg("del").arg("a").arg("b").query(&mut c).unwrap();
    assert_eq!(keys, ["a", "b"]);
    let err = redis::cmd("COMMAND").arg("GETKEYS").arg("ping").arg("x").query::<Value>(&mut c).unwrap_err();
    assert!(err.to_string().contains("The command has no key arguments"), "{err}");
    let list: Vec<String> =
        redis::cmd("COMMAND").arg("LIST").arg("FILTERBY").arg("PATTERN").arg("client|*").query(&mut c).unwrap();
    assert!(list.contains(&"client|kill".to_string()) && list.iter().all(|n| n.starts_with("client|")), "{list:?}");
    let admin: Vec<String> =
        redis::cmd("COMMAND").arg("LIST").arg("FILTERBY").arg("ACLCAT").arg("admin").query(&mut c).unwrap();
    assert!(admin.contains(&"config|set".to_string()) && !admin.contains(&"get".to_string()), "{admin:?}");
}
