//! Geospatial commands: GEOADD, GEODIST, GEOHASH, GEOPOS, GEOSEARCH, GEOSEARCHSTORE,
//! GEORADIUS, GEORADIUSBYMEMBER and their _RO forms.
//!
//! A geo set is a sorted set whose scores are 52-bit geohashes (`types/geohash.rs`). GEOADD
//! turns its coordinates into scores and runs ZADD (so it replies, notifies `zadd` and is
//! propagated as ZADD, as in Valkey). A search walks the score ranges of the shape's cell and
//! its neighbours (Valkey's 3×3 box search), keeps the members inside the shape, and sorts
//! them by distance with the sorts Valkey uses (`util/csort.rs`), so ties come out in its order. Coordinates are printed as Valkey's
//! `addReplyHumanLongDouble` prints them (`%.17Lf` with trailing zeros cut), distances with
//! four decimals (`fixedpoint_d2string`).

use super::table::{acl, doc_flags, flags::*, keyflags, BeginSearch, Command, Doc, DocMeta, FindKeys, KeySpec};
use super::{errors, float_arg, int_arg, is, CmdResult, Ctx, Error};
use crate::db::{Keys, Ttl};
use crate::notify;
use crate::types::geohash::{self, Shape, ShapeKind};
use crate::types::zset::{AddFlags, ZSet, ZSetRef};
use crate::types::{Value, ValueRef};

const fn doc(summary: &'static str, since: &'static str, complexity: &'static str, syntax: &'static str) -> Doc {
    Doc { summary, since, group: "geo", complexity, syntax }
}

const RO_KEY: &[KeySpec] = &[KeySpec::single(1, keyflags::RO | keyflags::ACCESS)];

const fn store_spec(keyword: &'static str, startfrom: i32) -> KeySpec {
    KeySpec {
        flags: keyflags::OW | keyflags::UPDATE,
        begin: BeginSearch::Keyword { keyword, startfrom },
        find: FindKeys::Range { lastkey: 0, step: 1, limit: 0 },
        notes: "",
    }
}

const RADIUS_COMPLEXITY: &str = "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.";
const SEARCH_COMPLEXITY: &str = "O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape";
const RADIUS_HISTORY: &[(&str, &str)] =
    &[("6.2.0", "Added the `ANY` option for `COUNT`."), ("7.0.0", "Added support for uppercase unit names.")];

pub static COMMANDS: &[Command] = &[
    Command {
        doc_meta: DocMeta { history: &[("6.2.0", "Added the `CH`, `NX` and `XX` options.")], ..DocMeta::NONE },
        ..Command::keyed(
            acl::GEO,
            "geoadd",
            -5,
            WRITE | DENYOOM,
            &[KeySpec::single(1, keyflags::RW | keyflags::UPDATE)],
            geoadd,
            doc(
                "Adds one or more members to a geospatial index. The key is created if it doesn't exist.",
                "3.2.0",
                "O(log(N)) for each item added, where N is the number of elements in the sorted set.",
                "key [NX | XX] [CH] longitude latitude member [longitude latitude member ...]",
            ),
        )
    },
    Command::keyed(
        acl::GEO,
        "geodist",
        -4,
        READONLY,
        RO_KEY,
        geodist,
        doc(
            "Returns the distance between two members of a geospatial index.",
            "3.2.0",
            "O(1)",
            "key member1 member2 [M | KM | FT | MI]",
        ),
    ),
    Command::keyed(
        acl::GEO,
        "geohash",
        -2,
        READONLY,
        RO_KEY,
        geohash_cmd,
        doc(
            "Returns members from a geospatial index as geohash strings.",
            "3.2.0",
            "O(1) for each member requested.",
            "key [member [member ...]]",
        ),
    ),
    Command::keyed(
        acl::GEO,
        "geopos",
        -2,
        READONLY,
        RO_KEY,
        geopos,
        doc(
            "Returns the longitude and latitude of members from a geospatial index.",
            "3.2.0",
            "O(1) for each member requested.",
            "key [member [member ...]]",
        ),
    ),
    Command {
        doc_meta: DocMeta { history: &[("7.0.0", "Added support for uppercase unit names.")], ..DocMeta::NONE },
        ..Command::keyed(
            acl::GEO,
            "geosearch",
            -7,
            READONLY,
            RO_KEY,
            geosearch,
            doc(
                "Queries a geospatial index for members inside an area of a box or a circle.",
                "6.2.0",
                SEARCH_COMPLEXITY,
                "key <FROMMEMBER member | FROMLONLAT longitude latitude> <BYRADIUS radius <M | KM | FT | MI> | BYBOX width height <M | KM | FT | MI>> [ASC | DESC] [COUNT count [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH]",
            ),
        )
    },
    Command {
        doc_meta: DocMeta { history: &[("7.0.0", "Added support for uppercase unit names.")], ..DocMeta::NONE },
        ..Command::keyed(
            acl::GEO,
            "geosearchstore",
            -8,
            WRITE | DENYOOM,
            &[KeySpec::single(1, keyflags::OW | keyflags::UPDATE), KeySpec::single(2, keyflags::RO | keyflags::ACCESS)],
            geosearchstore,
            doc(
                "Queries a geospatial index for members inside an area of a box or a circle, optionally stores the result.",
                "6.2.0",
                SEARCH_COMPLEXITY,
                "destination source <FROMMEMBER member | FROMLONLAT longitude latitude> <BYRADIUS radius <M | KM | FT | MI> | BYBOX width height <M | KM | FT | MI>> [ASC | DESC] [COUNT count [ANY]] [STOREDIST]",
            ),
        )
    },
    Command {
        get_keys: Some(radius_keys),
        doc_meta: DocMeta {
            flags: doc_flags::DEPRECATED,
            deprecated_since: "6.2.0",
            replaced_by: "`GEOSEARCH` and `GEOSEARCHSTORE` with the `BYRADIUS` argument",
            history: RADIUS_HISTORY,
        },
        ..Command::keyed(
            acl::GEO,
            "georadius",
            -6,
            WRITE | DENYOOM,
            &[KeySpec::single(1, keyflags::RO | keyflags::ACCESS), store_spec("STORE", 6), store_spec("STOREDIST", 6)],
            georadius,
            doc(
                "Queries a geospatial index for members within a distance from a coordinate, optionally stores the result.",
                "3.2.0",
                RADIUS_COMPLEXITY,
                "key longitude latitude radius <M | KM | FT | MI> [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC | DESC] [STORE storekey | STOREDIST storedistkey]",
            ),
        )
    },
    Command {
        doc_meta: DocMeta {
            flags: doc_flags::DEPRECATED,
            deprecated_since: "6.2.0",
            replaced_by: "`GEOSEARCH` with the `BYRADIUS` argument",
            history: RADIUS_HISTORY,
        },
        ..Command::keyed(
            acl::GEO,
            "georadius_ro",
            -6,
            READONLY,
            RO_KEY,
            georadius_ro,
            doc(
                "Returns members from a geospatial index that are within a distance from a coordinate.",
                "3.2.10",
                RADIUS_COMPLEXITY,
                "key longitude latitude radius <M | KM | FT | MI> [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC | DESC]",
            ),
        )
    },
    Command {
        get_keys: Some(radius_keys),
        doc_meta: DocMeta {
            flags: doc_flags::DEPRECATED,
            deprecated_since: "6.2.0",
            replaced_by: "`GEOSEARCH` and `GEOSEARCHSTORE` with the `BYRADIUS` and `FROMMEMBER` arguments",
            history: RADIUS_HISTORY,
        },
        ..Command::keyed(
            acl::GEO,
            "georadiusbymember",
            -5,
            WRITE | DENYOOM,
            &[KeySpec::single(1, keyflags::RO | keyflags::ACCESS), store_spec("STORE", 5), store_spec("STOREDIST", 5)],
            georadiusbymember,
            doc(
                "Queries a geospatial index for members within a distance from a member, optionally stores the result.",
                "3.2.0",
                RADIUS_COMPLEXITY,
                "key member radius <M | KM | FT | MI> [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC | DESC] [STORE storekey | STOREDIST storedistkey]",
            ),
        )
    },
    Command {
        doc_meta: DocMeta {
            flags: doc_flags::DEPRECATED,
            deprecated_since: "6.2.0",
            replaced_by: "`GEOSEARCH` with the `BYRADIUS` and `FROMMEMBER` arguments",
            history: RADIUS_HISTORY,
        },
        ..Command::keyed(
            acl::GEO,
            "georadiusbymember_ro",
            -5,
            READONLY,
            RO_KEY,
            georadiusbymember_ro,
            doc(
                "Returns members from a geospatial index that are within a distance from a member.",
                "3.2.10",
                RADIUS_COMPLEXITY,
                "key member radius <M | KM | FT | MI> [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC | DESC]",
            ),
        )
    },
];

/// GEORADIUS / GEORADIUSBYMEMBER keys (Valkey's `georadiusGetKeys`): the source, and the key
/// after the last STORE or STOREDIST from argument 5 on.
fn radius_keys(argv: &[&[u8]]) -> Vec<usize> {
    let mut out = vec![1];
    let mut stored = None;
    let mut i = 5;
    while i < argv.len() {
        if (is(argv[i], "store") || is(argv[i], "storedist")) && i + 1 < argv.len() {
            stored = Some(i + 1);
            i += 1;
        }
        i += 1;
    }
    out.extend(stored);
    out
}

/// `ERR invalid longitude,latitude pair <lon>,<lat>` with C's `%f`.
fn bad_pair(lon: f64, lat: f64) -> Error {
    Error::err(format!("invalid longitude,latitude pair {lon:.6},{lat:.6}"))
}

/// Valkey's `extractLongLatOrReply`.
fn lon_lat(args: &[&[u8]]) -> Result<(f64, f64), Error> {
    let lon = float_arg(args[0])?;
    let lat = float_arg(args[1])?;
    if !(geohash::LONG_MIN..=geohash::LONG_MAX).contains(&lon) || !(geohash::LAT_MIN..=geohash::LAT_MAX).contains(&lat)
    {
        return Err(bad_pair(lon, lat));
    }
    Ok((lon, lat))
}

/// Meters per unit (`extractUnitOrReply`).
fn unit(arg: &[u8]) -> Result<f64, Error> {
    if is(arg, "m") {
        Ok(1.0)
    } else if is(arg, "km") {
        Ok(1000.0)
    } else if is(arg, "ft") {
        Ok(0.3048)
    } else if is(arg, "mi") {
        Ok(1609.34)
    } else {
        Err(Error::err("unsupported unit provided. please use M, KM, FT, MI"))
    }
}

/// A float argument with Valkey's own message when it is not one.
fn float_or(arg: &[u8], msg: &str) -> Result<f64, Error> {
    super::parse_float(arg).ok_or_else(|| Error::err(msg))
}

/// `radius unit` (`extractDistanceOrReply`): (radius, meters per unit).
fn radius_arg(args: &[&[u8]]) -> Result<(f64, f64), Error> {
    let r = float_or(args[0], "need numeric radius")?;
    if r < 0.0 {
        return Err(Error::err("radius cannot be negative"));
    }
    Ok((r, unit(args[1])?))
}

/// `width height unit` (`extractBoxOrReply`).
fn box_arg(args: &[&[u8]]) -> Result<(f64, f64, f64), Error> {
    let w = float_or(args[0], "need numeric width")?;
    let h = float_or(args[1], "need numeric height")?;
    if h < 0.0 || w < 0.0 {
        return Err(Error::err("height or width cannot be negative"));
    }
    Ok((w, h, unit(args[2])?))
}

/// The text `addReplyHumanLongDouble` gives a coordinate: 17 decimals, trailing zeros cut.
pub fn human_double(v: f64) -> String {
    let mut s = format!("{v:.17}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" {
        s = "0".into();
    }
    s
}

fn reply_coordinate(ctx: &mut Ctx, v: f64) {
    let text = human_double(v);
    if ctx.out.is_resp3() {
        let mut raw = Vec::with_capacity(text.len() + 3);
        raw.push(b',');
        raw.extend_from_slice(text.as_bytes());
        raw.extend_from_slice(b"\r\n");
        ctx.out.raw(&raw);
    } else {
        ctx.out.bulk(text.as_bytes());
    }
}

/// A distance with four decimals (`fixedpoint_d2string(d, 4)`: `llrint` of d·10⁴, whose
/// out-of-range and NaN results are x86's LLONG_MIN).
pub fn distance_text(d: f64) -> String {
    if d == 0.0 {
        return "0.0000".into();
    }
    let scaled = (d * 10000.0).round_ties_even();
    // 2^63: llrint's result does not fit (NaN fails the range check too).
    const TWO63: f64 = 9_223_372_036_854_775_808.0;
    let v: i64 = if (-TWO63..TWO63).contains(&scaled) { scaled as i64 } else { i64::MIN };
    let abs = v.unsigned_abs();
    format!("{}{}.{:04}", if v < 0 { "-" } else { "" }, abs / 10000, abs % 10000)
}

/// The sorted set at `key` if any, without counting a keyspace access (for second looks at a
/// key the command already read).
fn zset_again<'k>(keys: &'k mut Keys<'_>, key: &[u8]) -> Result<Option<ZSetRef<'k>>, Error> {
    Ok(keys.peek(key)?.and_then(|e| e.value().zset()))
}

fn geoadd(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (mut nx, mut xx) = (false, false);
    let mut first = 2;
    while first < argv.len() {
        let o = argv[first];
        if is(o, "nx") {
            nx = true;
        } else if is(o, "xx") {
            xx = true;
        } else if !is(o, "ch") {
            break;
        }
        first += 1;
    }
    if !(argv.len() - first).is_multiple_of(3) || (xx && nx) {
        return Err(errors::SYNTAX);
    }
    // ZADD key [options] score member ..., every position checked before anything is added.
    let mut zadd: Vec<Vec<u8>> = Vec::with_capacity(first + (argv.len() - first) / 3 * 2);
    zadd.push(b"zadd".to_vec());
    zadd.extend(argv[1..first].iter().map(|a| a.to_vec()));
    for t in argv[first..].chunks_exact(3) {
        let (lon, lat) = lon_lat(&t[..2])?;
        let score = geohash::score_of(lon, lat).ok_or_else(|| bad_pair(lon, lat))?;
        zadd.push(score.to_string().into_bytes());
        zadd.push(t[2].to_vec());
    }
    let args: Vec<&[u8]> = zadd.iter().map(Vec::as_slice).collect();
    super::zsets::zadd(ctx, &args)?;
    ctx.keys.propagate_as(zadd);
    Ok(())
}

fn geodist(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let to_meters = match argv.len() {
        5 => unit(argv[4])?,
        n if n > 5 => return Err(errors::SYNTAX),
        _ => 1.0,
    };
    let Some(z) = ctx.keys.read_as(argv[1], ValueRef::zset)? else {
        ctx.out.null();
        return Ok(());
    };
    let pos = |m: &[u8]| z.score(m).and_then(geohash::decode_score);
    match (pos(argv[2]), pos(argv[3])) {
        (Some((lon1, lat1)), Some((lon2, lat2))) => {
            let d = geohash::distance(lon1, lat1, lon2, lat2) / to_meters;
            ctx.out.bulk(distance_text(d).as_bytes());
        }
        _ => ctx.out.null(),
    }
    Ok(())
}

fn geohash_cmd(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let z = ctx.keys.read_as(argv[1], ValueRef::zset)?;
    ctx.out.array(argv.len() - 2);
    for m in &argv[2..] {
        match z.and_then(|z| z.score(m)).and_then(geohash::decode_score) {
            Some((lon, lat)) => ctx.out.bulk(&geohash::geohash_string(lon, lat)),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn geopos(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let z = ctx.keys.read_as(argv[1], ValueRef::zset)?;
    let found: Vec<Option<(f64, f64)>> =
        argv[2..].iter().map(|m| z.and_then(|z| z.score(m)).and_then(geohash::decode_score)).collect();
    ctx.out.array(found.len());
    for p in found {
        match p {
            Some((lon, lat)) => {
                ctx.out.array(2);
                reply_coordinate(ctx, lon);
                reply_coordinate(ctx, lat);
            }
            None => ctx.out.null_array(),
        }
    }
    Ok(())
}

/// Which search command runs (Valkey's `georadiusGeneric` flags).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Search {
    /// GEORADIUS(_RO): centre and radius given in place.
    Coords { store_ok: bool },
    /// GEORADIUSBYMEMBER(_RO).
    Member { store_ok: bool },
    /// GEOSEARCH, or GEOSEARCHSTORE (`store`).
    Geo { store: bool },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sort {
    None,
    Asc,
    Desc,
}

/// One member found inside the shape.
struct Found {
    lon: f64,
    lat: f64,
    dist: f64,
    score: f64,
    member: Vec<u8>,
}

fn georadius(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    search(ctx, argv, 1, Search::Coords { store_ok: true })
}

fn georadius_ro(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    search(ctx, argv, 1, Search::Coords { store_ok: false })
}

fn georadiusbymember(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    search(ctx, argv, 1, Search::Member { store_ok: true })
}

fn georadiusbymember_ro(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    search(ctx, argv, 1, Search::Member { store_ok: false })
}

fn geosearch(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    search(ctx, argv, 1, Search::Geo { store: false })
}

fn geosearchstore(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    search(ctx, argv, 2, Search::Geo { store: true })
}

/// The position of `member` in the set at `key` (`longLatFromMember`).
fn member_position(keys: &mut Keys<'_>, key: &[u8], member: &[u8]) -> Result<(f64, f64), Error> {
    zset_again(keys, key)?
        .and_then(|z| z.score(member))
        .and_then(geohash::decode_score)
        .ok_or_else(|| Error::err("could not decode requested zset member"))
}

/// Valkey's `georadiusGeneric`: argument checks in its order, the search, then the reply or
/// the stored result.
fn search(ctx: &mut Ctx, argv: &[&[u8]], src_idx: usize, kind: Search) -> CmdResult {
    let src = argv[src_idx];
    let exists = ctx.keys.read_as(src, ValueRef::zset)?.is_some();
    let is_search = matches!(kind, Search::Geo { .. });
    let mut center = (0.0, 0.0);
    let mut conversion = 0.0;
    let mut shape_kind = ShapeKind::Circle { radius: 0.0 };
    let mut store: Option<&[u8]> = None;
    let base = match kind {
        Search::Coords { .. } => {
            center = lon_lat(&argv[2..4])?;
            let (r, c) = radius_arg(&argv[4..6])?;
            (shape_kind, conversion) = (ShapeKind::Circle { radius: r }, c);
            6
        }
        Search::Member { .. } if !exists => 5,
        Search::Member { .. } => {
            center = member_position(&mut ctx.keys, src, argv[2])?;
            let (r, c) = radius_arg(&argv[3..5])?;
            (shape_kind, conversion) = (ShapeKind::Circle { radius: r }, c);
            5
        }
        Search::Geo { store: false } => 2,
        Search::Geo { store: true } => {
            store = Some(argv[1]);
            3
        }
    };
    let store_ok = matches!(kind, Search::Coords { store_ok: true } | Search::Member { store_ok: true });
    let (mut withdist, mut withhash, mut withcoord, mut any) = (false, false, false, false);
    let (mut frommember, mut fromloc, mut byradius, mut bybox, mut storedist) = (false, false, false, false, false);
    let mut sort = Sort::None;
    let mut count: i64 = 0;
    let opts = &argv[base.min(argv.len())..];
    let remaining = opts.len();
    let mut i = 0;
    while i < remaining {
        let arg = opts[i];
        if is(arg, "withdist") {
            withdist = true;
        } else if is(arg, "withhash") {
            withhash = true;
        } else if is(arg, "withcoord") {
            withcoord = true;
        } else if is(arg, "any") {
            any = true;
        } else if is(arg, "asc") {
            sort = Sort::Asc;
        } else if is(arg, "desc") {
            sort = Sort::Desc;
        } else if is(arg, "count") && i + 1 < remaining {
            count = int_arg(opts[i + 1])?;
            if count <= 0 {
                return Err(Error::err("COUNT must be > 0"));
            }
            i += 1;
        } else if (is(arg, "store") || is(arg, "storedist")) && i + 1 < remaining && store_ok {
            store = Some(opts[i + 1]);
            storedist = is(arg, "storedist");
            i += 1;
        } else if is(arg, "storedist") && kind == (Search::Geo { store: true }) {
            storedist = true;
        } else if is(arg, "frommember") && i + 1 < remaining && is_search && !fromloc {
            if exists {
                center = member_position(&mut ctx.keys, src, opts[i + 1])?;
            }
            frommember = true;
            i += 1;
        } else if is(arg, "fromlonlat") && i + 2 < remaining && is_search && !frommember {
            center = lon_lat(&opts[i + 1..i + 3])?;
            fromloc = true;
            i += 2;
        } else if is(arg, "byradius") && i + 2 < remaining && is_search && !bybox {
            let (r, c) = radius_arg(&opts[i + 1..i + 3])?;
            (shape_kind, conversion) = (ShapeKind::Circle { radius: r }, c);
            byradius = true;
            i += 2;
        } else if is(arg, "bybox") && i + 3 < remaining && is_search && !byradius {
            let (w, h, c) = box_arg(&opts[i + 1..i + 4])?;
            (shape_kind, conversion) = (ShapeKind::Box { width: w, height: h }, c);
            bybox = true;
            i += 3;
        } else {
            return Err(errors::SYNTAX);
        }
        i += 1;
    }
    if store.is_some() && (withdist || withhash || withcoord) {
        let what = if is_search { "GEOSEARCHSTORE" } else { "STORE option in GEORADIUS" };
        return Err(Error::err(format!("{what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options")));
    }
    if is_search && !(frommember || fromloc) {
        return Err(Error::err_quoting("exactly one of FROMMEMBER or FROMLONLAT can be specified for ", argv[0], ""));
    }
    if is_search && !(byradius || bybox) {
        return Err(Error::err_quoting("exactly one of BYRADIUS and BYBOX can be specified for ", argv[0], ""));
    }
    if any && count == 0 {
        return Err(Error::err("the ANY argument requires COUNT argument"));
    }
    if !exists {
        match store {
            Some(dst) => {
                delete_store(ctx, dst)?;
                ctx.out.int(0);
            }
            None => ctx.out.array(0),
        }
        return Ok(());
    }
    if count != 0 && sort == Sort::None && !any {
        sort = Sort::Asc;
    }
    let shape = Shape { lon: center.0, lat: center.1, conversion, kind: shape_kind };
    let limit = if any { count as usize } else { 0 };
    let mut found = {
        let Some(z) = zset_again(&mut ctx.keys, src)? else { return Err(Error::internal("geo set vanished")) };
        members_in_shape(z, &shape, limit)
    };
    if found.is_empty() && store.is_none() {
        ctx.out.array(0);
        return Ok(());
    }
    let returned = if count == 0 { found.len() } else { found.len().min(count as usize) };
    if sort != Sort::None {
        // Valkey's comparison, and its sorts: members at equal distances come out in the same
        // order (libc's merge sort for everything, pqsort when only the first COUNT matter).
        let asc = |a: &Found, b: &Found| {
            if a.dist > b.dist {
                1
            } else if a.dist == b.dist {
                0
            } else {
                -1
            }
        };
        let cmp = |a: &Found, b: &Found| if sort == Sort::Asc { asc(a, b) } else { -asc(a, b) };
        if returned == found.len() {
            // Sorted as positions (cheap to copy), then the members put in that order.
            let mut order: Vec<usize> = (0..found.len()).collect();
            crate::util::csort::merge_sort(&mut order, &|&i, &j| cmp(&found[i], &found[j]));
            let mut slots: Vec<Option<Found>> = found.into_iter().map(Some).collect();
            found = order.into_iter().filter_map(|i| slots[i].take()).collect();
        } else {
            crate::util::csort::partial_sort(&mut found, &cmp, 0, returned - 1);
        }
    }
    found.truncate(returned);
    for f in &mut found {
        f.dist /= conversion;
    }
    match store {
        None => reply_found(ctx, &found, withdist, withhash, withcoord),
        Some(dst) => store_found(ctx, dst, found, storedist, is_search)?,
    }
    Ok(())
}

/// Walks the cells around the shape (`membersOfAllNeighbors`), keeping the members inside
/// it, stopping at `limit` (ANY) when it is not 0.
fn members_in_shape(z: ZSetRef<'_>, shape: &Shape, limit: usize) -> Vec<Found> {
    let cells = geohash::search_cells(shape);
    let mut out = Vec::new();
    let mut last: Option<usize> = None;
    for (i, cell) in cells.iter().enumerate() {
        if cell.is_zero() {
            continue;
        }
        // With a huge radius neighbours can coincide: a cell equal to the last searched one
        // (Valkey only compares with a searched neighbour, never the centre cell) is skipped.
        if let Some(l) = last.filter(|&l| l != 0) {
            if cells[l] == *cell {
                continue;
            }
        }
        if limit != 0 && out.len() >= limit {
            break;
        }
        let (min, max) = geohash::score_range(*cell);
        let start = z.partition_point(|_, s| s < min);
        z.walk(start, false, |m, score| {
            if score >= max {
                return false;
            }
            if let Some((lon, lat)) = geohash::decode_score(score) {
                if let Some(dist) = shape.distance_if_within(lon, lat) {
                    out.push(Found { lon, lat, dist, score, member: m.to_vec() });
                }
            }
            !(limit != 0 && out.len() >= limit)
        });
        last = Some(i);
    }
    out
}

fn reply_found(ctx: &mut Ctx, found: &[Found], withdist: bool, withhash: bool, withcoord: bool) {
    let extra = usize::from(withdist) + usize::from(withhash) + usize::from(withcoord);
    ctx.out.array(found.len());
    for f in found {
        if extra > 0 {
            ctx.out.array(extra + 1);
        }
        ctx.out.bulk(&f.member);
        if withdist {
            ctx.out.bulk(distance_text(f.dist).as_bytes());
        }
        if withhash {
            ctx.out.int(f.score as i64);
        }
        if withcoord {
            ctx.out.array(2);
            reply_coordinate(ctx, f.lon);
            reply_coordinate(ctx, f.lat);
        }
    }
}

/// STORE / STOREDIST / GEOSEARCHSTORE: the results as a sorted set of geohashes (or
/// distances), replacing `dst`; an empty result deletes `dst`.
fn store_found(ctx: &mut Ctx, dst: &[u8], found: Vec<Found>, storedist: bool, is_search: bool) -> CmdResult {
    let n = found.len();
    if n == 0 {
        delete_store(ctx, dst)?;
        ctx.out.int(0);
        return Ok(());
    }
    let limits = ctx.engine.config.hot.zset_limits();
    let mut z = ZSet::Skiplist(Box::default());
    let (mut max_len, mut total_len) = (0, 0);
    for f in &found {
        max_len = max_len.max(f.member.len());
        total_len += f.member.len();
        let score = if storedist { f.dist } else { f.score };
        let _ = z.add(&f.member, score, AddFlags::default(), limits);
    }
    z.shrink_to_fit(max_len, total_len, limits);
    ctx.keys.write(dst)?;
    ctx.keys.set(dst, Value::ZSet(z), Ttl::Clear)?;
    ctx.keys.changed(dst, notify::ZSET, if is_search { "geosearchstore" } else { "georadiusstore" });
    ctx.keys.effects.dirty += n as u64 - 1;
    ctx.out.int(n as i64);
    Ok(())
}

/// Deletes the destination of an empty store (Valkey's `dbDelete`: whatever it holds, TTL
/// passed or not).
fn delete_store(ctx: &mut Ctx, dst: &[u8]) -> CmdResult {
    if let Some(old) = ctx.keys.remove_ignoring_ttl(dst)? {
        ctx.engine.lazy_free(old);
        ctx.keys.changed(dst, notify::GENERIC, "del");
    }
    Ok(())
}

#[cfg(test)]
#[path = "geo_tests.rs"]
mod tests;
