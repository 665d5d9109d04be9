//! Unit tests of the geo commands, through the dispatcher. Expected replies were taken from
//! redis-server for the same commands.

use crate::commands::strings::tests::run_events;
use crate::engine::Engine;
use crate::exec::tests::{client, run};

fn setup() -> (std::sync::Arc<Engine>, crate::client::Client) {
    let e = Engine::for_tests();
    let mut c = client(&e);
    run(&e, &mut c, &["geoadd", "Sicily", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"]);
    run(&e, &mut c, &["geoadd", "Sicily", "13.583333", "37.316667", "Agrigento"]);
    (e, c)
}

fn bulks(items: &[&str]) -> String {
    let mut s = format!("*{}\r\n", items.len());
    for i in items {
        s.push_str(&format!("${}\r\n{i}\r\n", i.len()));
    }
    s
}

#[test]
fn positions_scores_distances_hashes() {
    let (e, mut c) = setup();
    assert_eq!(run(&e, &mut c, &["zscore", "Sicily", "Palermo"]), "$16\r\n3479099956230698\r\n");
    assert_eq!(run(&e, &mut c, &["zscore", "Sicily", "Catania"]), "$16\r\n3479447370796909\r\n");
    assert_eq!(
        run(&e, &mut c, &["geopos", "Sicily", "Palermo", "nosuch"]),
        "*2\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n*-1\r\n"
    );
    assert_eq!(run(&e, &mut c, &["geodist", "Sicily", "Palermo", "Catania"]), "$11\r\n166274.1516\r\n");
    assert_eq!(run(&e, &mut c, &["geodist", "Sicily", "Palermo", "Catania", "km"]), "$8\r\n166.2742\r\n");
    assert_eq!(run(&e, &mut c, &["geodist", "Sicily", "Palermo", "nosuch"]), "$-1\r\n");
    assert_eq!(run(&e, &mut c, &["geodist", "nokey", "a", "b"]), "$-1\r\n");
    assert_eq!(
        run(&e, &mut c, &["geohash", "Sicily", "Palermo", "Catania", "nosuch"]),
        "*3\r\n$11\r\nsqc8b49rny0\r\n$11\r\nsqdtr74hyu0\r\n$-1\r\n"
    );
    assert_eq!(run(&e, &mut c, &["geopos", "nokey", "a"]), "*1\r\n*-1\r\n");
    c.resp3 = true;
    assert_eq!(
        run(&e, &mut c, &["geopos", "Sicily", "Catania", "x"]),
        "*2\r\n*2\r\n,15.08726745843887329\r\n,37.50266842333162032\r\n_\r\n"
    );
}

#[test]
fn searches_in_valkey_order() {
    let (e, mut c) = setup();
    assert_eq!(
        run(&e, &mut c, &["georadius", "Sicily", "15", "37", "200", "km", "WITHDIST", "WITHCOORD", "WITHHASH", "ASC"]),
        "*3\r\n*4\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n:3479447370796909\r\n*2\r\n$20\r\n15.08726745843887329\r\n$20\r\n37.50266842333162032\r\n\
         *4\r\n$9\r\nAgrigento\r\n$8\r\n130.4235\r\n:3479030013248308\r\n*2\r\n$19\r\n13.5833314061164856\r\n$20\r\n37.31666804993816555\r\n\
         *4\r\n$7\r\nPalermo\r\n$8\r\n190.4424\r\n:3479099956230698\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n"
    );
    assert_eq!(
        run(&e, &mut c, &["geosearch", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km", "ASC"]),
        bulks(&["Catania", "Agrigento", "Palermo"])
    );
    assert_eq!(
        run(&e, &mut c, &["georadiusbymember", "Sicily", "Agrigento", "100", "km"]),
        bulks(&["Agrigento", "Palermo"])
    );
    assert_eq!(
        run(&e, &mut c, &["georadius", "Sicily", "15", "37", "200", "km", "COUNT", "1", "DESC"]),
        bulks(&["Palermo"])
    );
    assert_eq!(
        run(&e, &mut c, &["geosearch", "Sicily", "frommember", "Palermo", "byradius", "300", "km", "desc"]),
        bulks(&["Catania", "Agrigento", "Palermo"])
    );
    let any = run(
        &e,
        &mut c,
        &["geosearch", "Sicily", "fromlonlat", "15", "37", "byradius", "300", "km", "count", "2", "any"],
    );
    assert!(any.starts_with("*2\r\n"), "{any}");
    assert_eq!(run(&e, &mut c, &["geosearch", "nokey", "fromlonlat", "15", "37", "byradius", "1", "km"]), "*0\r\n");
    assert_eq!(run(&e, &mut c, &["geosearch", "Sicily", "fromlonlat", "0", "0", "byradius", "1", "km"]), "*0\r\n");
    assert_eq!(run(&e, &mut c, &["georadius_ro", "Sicily", "15", "37", "60", "km"]), bulks(&["Catania"]));
    assert_eq!(run(&e, &mut c, &["georadiusbymember_ro", "Sicily", "Catania", "1", "m"]), bulks(&["Catania"]));
}

#[test]
fn store_forms() {
    let (e, mut c) = setup();
    assert_eq!(run(&e, &mut c, &["georadius", "Sicily", "15", "37", "200", "km", "STORE", "dst"]), ":3\r\n");
    assert_eq!(
        run(&e, &mut c, &["zrange", "dst", "0", "-1", "withscores"]),
        bulks(&["Agrigento", "3479030013248308", "Palermo", "3479099956230698", "Catania", "3479447370796909"])
    );
    assert_eq!(run(&e, &mut c, &["georadius", "Sicily", "15", "37", "200", "km", "STOREDIST", "dst"]), ":3\r\n");
    assert_eq!(
        run(&e, &mut c, &["zrange", "dst", "0", "-1", "withscores"]),
        // Valkey 8 prints the shortest round-trip form (Redis 7.0: 56.441257870158204, the same double).
        bulks(&["Catania", "56.4412578701582", "Agrigento", "130.42348706714702", "Palermo", "190.44242984775784"])
    );
    assert_eq!(
        run(
            &e,
            &mut c,
            &[
                "geosearchstore",
                "d2",
                "Sicily",
                "frommember",
                "Palermo",
                "bybox",
                "300",
                "300",
                "km",
                "count",
                "2",
                "storedist"
            ]
        ),
        ":2\r\n"
    );
    assert_eq!(run(&e, &mut c, &["zrange", "d2", "0", "-1"]), bulks(&["Palermo", "Agrigento"]));
    // Nothing found (or no source): the destination is deleted.
    assert_eq!(
        run(&e, &mut c, &["geosearchstore", "d2", "Sicily", "fromlonlat", "0", "0", "byradius", "1", "m"]),
        ":0\r\n"
    );
    assert_eq!(run(&e, &mut c, &["exists", "d2"]), ":0\r\n");
    run(&e, &mut c, &["set", "d3", "x"]);
    assert_eq!(run(&e, &mut c, &["georadiusbymember", "nokey", "m", "1", "m", "store", "d3"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["exists", "d3"]), ":0\r\n");
}

#[test]
fn errors_verbatim() {
    let (e, mut c) = setup();
    let cases: &[(&[&str], &str)] = &[
        (&["geoadd", "k", "200", "100", "m"], "-ERR invalid longitude,latitude pair 200.000000,100.000000\r\n"),
        (&["geoadd", "k", "xx", "nx", "1", "1", "a"], "-ERR syntax error\r\n"),
        (&["geoadd", "k", "1", "1", "a", "2"], "-ERR syntax error\r\n"),
        (&["geoadd", "k", "1", "x", "a"], "-ERR value is not a valid float\r\n"),
        (&["geoadd", "k", "1", "1"], "-ERR wrong number of arguments for 'geoadd' command\r\n"),
        (
            &["geodist", "Sicily", "Palermo", "Catania", "xx"],
            "-ERR unsupported unit provided. please use M, KM, FT, MI\r\n",
        ),
        (&["geodist", "Sicily", "Palermo", "Catania", "km", "x"], "-ERR syntax error\r\n"),
        (
            &["geosearch", "Sicily", "frommember", "nosuch", "byradius", "1", "m"],
            "-ERR could not decode requested zset member\r\n",
        ),
        (
            &["geosearch", "Sicily", "fromlonlat", "1", "1", "bybox", "1", "1", "m", "store", "x"],
            "-ERR syntax error\r\n",
        ),
        (
            &["GeoSearch", "Sicily", "bybox", "1", "1", "m", "asc"],
            "-ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for GeoSearch\r\n",
        ),
        (
            &["geosearch", "Sicily", "fromlonlat", "1", "1", "asc", "asc"],
            "-ERR exactly one of BYRADIUS and BYBOX can be specified for geosearch\r\n",
        ),
        (
            &["georadius", "Sicily", "15", "37", "200", "km", "withdist", "store", "x"],
            "-ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options\r\n",
        ),
        (
            &["geosearchstore", "x", "Sicily", "fromlonlat", "1", "1", "byradius", "1", "m", "withhash"],
            "-ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options\r\n",
        ),
        (&["georadius", "Sicily", "15", "37", "200", "km", "any"], "-ERR the ANY argument requires COUNT argument\r\n"),
        (&["georadius", "Sicily", "15", "37", "200", "km", "count", "0"], "-ERR COUNT must be > 0\r\n"),
        (
            &["georadius", "Sicily", "15", "37", "200", "km", "count", "x"],
            "-ERR value is not an integer or out of range\r\n",
        ),
        (&["georadius_ro", "Sicily", "15", "37", "200", "km", "store", "x"], "-ERR syntax error\r\n"),
        (
            &["geosearch", "Sicily", "fromlonlat", "15", "37", "byradius", "-1", "km"],
            "-ERR radius cannot be negative\r\n",
        ),
        (&["geosearch", "Sicily", "fromlonlat", "15", "37", "byradius", "x", "km"], "-ERR need numeric radius\r\n"),
        (&["geosearch", "Sicily", "fromlonlat", "15", "37", "bybox", "x", "1", "km"], "-ERR need numeric width\r\n"),
        (&["geosearch", "Sicily", "fromlonlat", "15", "37", "bybox", "1", "x", "km"], "-ERR need numeric height\r\n"),
        (
            &["geosearch", "Sicily", "fromlonlat", "15", "37", "bybox", "1", "-1", "km"],
            "-ERR height or width cannot be negative\r\n",
        ),
        (
            &["geosearch", "Sicily", "fromlonlat", "15", "37", "byradius", "1", "km", "bybox", "1", "1", "km"],
            "-ERR syntax error\r\n",
        ),
        (
            &["georadius", "Sicily", "181", "37", "200", "km"],
            "-ERR invalid longitude,latitude pair 181.000000,37.000000\r\n",
        ),
    ];
    for (argv, want) in cases {
        assert_eq!(run(&e, &mut c, argv), *want, "{argv:?}");
    }
    run(&e, &mut c, &["set", "s", "x"]);
    let wrongtype = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    assert_eq!(run(&e, &mut c, &["geoadd", "s", "1", "1", "a"]), wrongtype);
    assert_eq!(run(&e, &mut c, &["geopos", "s", "a"]), wrongtype);
    assert_eq!(run(&e, &mut c, &["geosearch", "s", "x"]), "-ERR wrong number of arguments for 'geosearch' command\r\n");
    assert_eq!(run(&e, &mut c, &["georadius", "s", "1000", "1", "1", "m"]), wrongtype, "type before arguments");
}

#[test]
fn geoadd_options_and_events() {
    let (e, mut c) = setup();
    let (reply, events, dirty) = run_events(&e, &mut c, &["geoadd", "g", "1", "1", "a", "2", "2", "b"]);
    assert_eq!((reply.as_str(), events, dirty), (":2\r\n", vec!["?:zadd:g".to_string()], 2));
    assert_eq!(run(&e, &mut c, &["geoadd", "g", "nx", "3", "3", "a", "4", "4", "c"]), ":1\r\n");
    assert_eq!(run(&e, &mut c, &["geoadd", "g", "xx", "ch", "5", "5", "a", "6", "6", "d"]), ":1\r\n");
    assert_eq!(run(&e, &mut c, &["geoadd", "g", "ch", "5", "5", "a"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["zcard", "g"]), ":3\r\n");
    let (_, events, _) =
        run_events(&e, &mut c, &["geosearchstore", "d", "g", "fromlonlat", "5", "5", "byradius", "1", "km"]);
    assert_eq!(events, vec!["?:geosearchstore:d".to_string()]);
    let (_, events, _) = run_events(&e, &mut c, &["georadius", "g", "5", "5", "1", "km", "store", "d"]);
    assert_eq!(events, vec!["?:georadiusstore:d".to_string()]);
    let (_, events, _) = run_events(&e, &mut c, &["georadius", "g", "50", "50", "1", "km", "store", "d"]);
    assert_eq!(events, vec!["g:del:d".to_string()]);
}

#[test]
fn formatting_helpers() {
    use super::{distance_text, human_double};
    assert_eq!(distance_text(0.0), "0.0000");
    assert_eq!(distance_text(2.5 / 10000.0), "0.0002", "llrint rounds half to even");
    assert_eq!(distance_text(-0.00001), "0.0000");
    assert_eq!(distance_text(166274.15156960033), "166274.1516");
    assert_eq!(distance_text(f64::NAN), "-922337203685477.5808");
    assert_eq!(human_double(13.361389338970184), "13.36138933897018433");
    assert_eq!(human_double(-180.0), "-180");
    assert_eq!(human_double(0.5), "0.5");
}

#[test]
fn command_keys_include_the_store_key() {
    let (e, mut c) = setup();
    assert_eq!(
        run(
            &e,
            &mut c,
            &["command", "getkeys", "georadius", "src", "1", "2", "3", "m", "store", "a", "storedist", "b"]
        ),
        bulks(&["src", "a", "b"]),
        "from the key specs, as Valkey's COMMAND GETKEYS; the lock uses georadiusGetKeys's last one"
    );
    assert_eq!(
        run(
            &e,
            &mut c,
            &["command", "getkeys", "geosearchstore", "dst", "src", "fromlonlat", "1", "2", "byradius", "1", "m"]
        ),
        bulks(&["dst", "src"])
    );
}
