//! Geo commands end to end: the same scores, search results, distances and coordinates as
//! redis-server over many random points, and what GEOADD and the STORE forms send to replicas.

use crate::harness::Server;
use crate::peer::Peer;
use crate::replication::{attach, next};
use redis::{cmd, Connection, Value};

fn add_points(c: &mut Connection, key: &str, points: &[(f64, f64, String)]) {
    for chunk in points.chunks(500) {
        let mut q = cmd("GEOADD");
        q.arg(key);
        for (lon, lat, m) in chunk {
            q.arg(format!("{lon:.6}")).arg(format!("{lat:.6}")).arg(m);
        }
        let _: i64 = q.query(c).unwrap();
    }
}

#[test]
fn same_results_as_redis_server() {
    let Some(peer) = Peer::start() else { return };
    let mut theirs = peer.client().get_connection().unwrap();
    let s = Server::start(&[]);
    let mut ours = s.conn();
    let mut rng = fastrand::Rng::with_seed(42);
    // Clustered around a few cities and spread over the globe, some near the poles' limits.
    let centers = [(13.36, 38.11), (-0.12, 51.5), (139.69, 35.68), (-73.98, 40.75), (179.9, -84.9)];
    let points: Vec<(f64, f64, String)> = (0..20_000)
        .map(|i| {
            let (lon, lat) = if i % 5 == 4 {
                (rng.f64() * 360.0 - 180.0, rng.f64() * 170.0 - 85.0)
            } else {
                let (clon, clat) = centers[i % centers.len()];
                ((clon + rng.f64() * 2.0 - 1.0).clamp(-180.0, 180.0), (clat + rng.f64() - 0.5).clamp(-85.05, 85.05))
            };
            (lon, lat, format!("p{i}"))
        })
        .collect();
    add_points(&mut ours, "g", &points);
    add_points(&mut theirs, "g", &points);
    let scores = |c: &mut Connection| -> Value { cmd("ZRANGE").arg("g").arg(0).arg(-1).query(c).unwrap() };
    assert_eq!(scores(&mut ours), scores(&mut theirs), "same order, so the same scores");

    let mut queries: Vec<Vec<String>> = Vec::new();
    for (clon, clat) in centers {
        for radius in ["1", "25", "80", "300", "3000"] {
            let c = [clon.to_string(), clat.to_string()];
            queries.push(
                ["GEORADIUS", "g", &c[0], &c[1], radius, "km", "WITHDIST", "WITHCOORD", "WITHHASH", "ASC"]
                    .map(String::from)
                    .to_vec(),
            );
            queries.push(
                ["GEOSEARCH", "g", "FROMLONLAT", &c[0], &c[1], "BYBOX", radius, radius, "km", "DESC", "WITHDIST"]
                    .map(String::from)
                    .to_vec(),
            );
            queries.push(
                ["GEOSEARCH", "g", "FROMLONLAT", &c[0], &c[1], "BYRADIUS", radius, "mi", "COUNT", "7"]
                    .map(String::from)
                    .to_vec(),
            );
            queries.push(
                ["GEOSEARCH", "g", "FROMLONLAT", &c[0], &c[1], "BYRADIUS", radius, "km", "COUNT", "5", "ANY"]
                    .map(String::from)
                    .to_vec(),
            );
        }
    }
    for m in ["p0", "p1", "p4", "p19999"] {
        queries.push(["GEORADIUSBYMEMBER", "g", m, "50", "km", "WITHDIST"].map(String::from).to_vec());
        queries.push(["GEOPOS", "g", m, "nosuch"].map(String::from).to_vec());
        queries.push(["GEOHASH", "g", m].map(String::from).to_vec());
        queries.push(["GEODIST", "g", m, "p2", "ft"].map(String::from).to_vec());
    }
    for q in &queries {
        let a: Value = cmd(&q[0]).arg(&q[1..]).query(&mut ours).unwrap();
        let b: Value = cmd(&q[0]).arg(&q[1..]).query(&mut theirs).unwrap();
        assert_eq!(a, b, "{q:?}");
    }
    // Members at equal distances (six at one point, two mirrored around it) come out in the
    // order Valkey's sorts leave them: full sorts and partial ones (COUNT without ANY).
    for c in [&mut ours, &mut theirs] {
        let _: i64 = cmd("GEOADD")
            .arg(&["t", "13", "38", "a", "13", "38", "b", "13", "38", "c", "13", "38", "d", "13", "38", "e"])
            .arg(&["13", "38", "f", "13.1", "38", "g", "12.9", "38", "h", "13", "38", "i"])
            .query(c)
            .unwrap();
    }
    for opts in [&["ASC"][..], &["DESC"], &["COUNT", "3"], &["COUNT", "3", "DESC"], &["COUNT", "8", "ASC"]] {
        let q = |c: &mut Connection| -> Vec<String> {
            cmd("GEOSEARCH").arg(&["t", "FROMLONLAT", "13", "38", "BYRADIUS", "100", "km"]).arg(opts).query(c).unwrap()
        };
        assert_eq!(q(&mut ours), q(&mut theirs), "{opts:?}");
    }
    // Stored results: the same members and geohash scores.
    for c in [&mut ours, &mut theirs] {
        let _: i64 =
            cmd("GEOSEARCHSTORE").arg(&["dst", "g", "FROMMEMBER", "p0", "BYRADIUS", "100", "km"]).query(c).unwrap();
    }
    let stored = |c: &mut Connection| -> Vec<String> { cmd("ZRANGE").arg("dst").arg(0).arg(-1).query(c).unwrap() };
    assert_eq!(stored(&mut ours), stored(&mut theirs));
}

#[test]
fn propagation_and_events_shape() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let mut repl = attach(&s);
    c.call(&["GEOADD", "g", "CH", "13.361389", "38.115556", "Palermo"]);
    c.call(&["GEOSEARCHSTORE", "d", "g", "FROMLONLAT", "13", "38", "BYRADIUS", "100", "km"]);
    c.call(&["GEORADIUS", "g", "13", "38", "100", "km", "STOREDIST", "d2"]);
    c.call(&["GEOSEARCH", "g", "FROMLONLAT", "13", "38", "BYRADIUS", "100", "km"]);
    c.call(&["SET", "end", "1"]);
    let got: Vec<Vec<String>> = (0..5).map(|_| next(&mut repl)).collect();
    assert_eq!(got[0], vec!["select", "0"]);
    // GEOADD runs as ZADD with the geohash scores, and replicas get that ZADD.
    assert_eq!(got[1], vec!["zadd", "g", "CH", "3479099956230698", "Palermo"]);
    assert_eq!(got[2][0], "geosearchstore");
    assert_eq!(got[3][0], "georadius");
    assert_eq!(got[4], vec!["set", "end", "1"]);
}

#[test]
fn resp3_coordinates_are_doubles() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    c.call(&["HELLO", "3"]);
    c.call(&["GEOADD", "g", "13.361389", "38.115556", "Palermo"]);
    let reply = c.call(&["GEOPOS", "g", "Palermo", "x"]);
    assert_eq!(reply, "*2\r\n*2\r\n,13.36138933897018433\r\n,38.11555639549629859\r\n_\r\n");
}
