//! Valkey's argument tree (what `COMMAND DOCS` reports under `arguments`) derived from a
//! command's [`Doc::syntax`](super::table::Doc) string, e.g.
//! `key value [NX | XX] [GET] [EX seconds | PX milliseconds | KEEPTTL]`.
//!
//! The syntax notation is the one of the Valkey documentation:
//! - a word with a lower-case letter is an argument (`key`, `unix-time-seconds`, `ip:port`);
//!   any other word is a literal token (`NX`, `=`, `*`, `""`);
//! - `[ ... ]` is optional, `< ... >` groups required alternatives, `a | b` are alternatives;
//! - `x [x ...]` repeats `x`; `TOKEN x [TOKEN x ...]` repeats the token too.
//!
//! A token followed by one argument (or one `<...>` group) becomes that argument's `token`; a
//! token followed by several arguments becomes a block. An argument's type is inferred from its
//! name the way Valkey names its arguments (`key`, `destination` → key, `count` → integer,
//! `pattern` → pattern, ...); where the name is ambiguous the syntax may say `name:type`
//! (`increment:double`), and only the name is shown. Names of `oneof` and `block` groups are
//! not in the syntax; they are derived from their contents. Anything malformed (unbalanced
//! brackets) yields the arguments parsed so far: documentation must never fail a command.

/// Valkey's argument types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgType {
    String,
    Integer,
    Double,
    Key,
    Pattern,
    UnixTime,
    PureToken,
    OneOf,
    Block,
}

impl ArgType {
    pub fn name(self) -> &'static str {
        match self {
            ArgType::String => "string",
            ArgType::Integer => "integer",
            ArgType::Double => "double",
            ArgType::Key => "key",
            ArgType::Pattern => "pattern",
            ArgType::UnixTime => "unix-time",
            ArgType::PureToken => "pure-token",
            ArgType::OneOf => "oneof",
            ArgType::Block => "block",
        }
    }

    fn from_name(s: &str) -> Option<ArgType> {
        Some(match s {
            "string" => ArgType::String,
            "integer" => ArgType::Integer,
            "double" => ArgType::Double,
            "key" => ArgType::Key,
            "pattern" => ArgType::Pattern,
            "unix-time" => ArgType::UnixTime,
            _ => return None,
        })
    }

    /// Whether the argument shows a `display_text` (groups do not).
    pub fn has_display(self) -> bool {
        !matches!(self, ArgType::OneOf | ArgType::Block)
    }
}

/// Argument flags, Valkey's names.
pub const OPTIONAL: u32 = 1 << 0;
pub const MULTIPLE: u32 = 1 << 1;
pub const MULTIPLE_TOKEN: u32 = 1 << 2;

pub const FLAG_NAMES: &[(u32, &str)] =
    &[(OPTIONAL, "optional"), (MULTIPLE, "multiple"), (MULTIPLE_TOKEN, "multiple_token")];

/// One node of the argument tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arg {
    pub name: String,
    pub kind: ArgType,
    /// What the syntax shows for it (arguments and tokens; empty for groups).
    pub display: String,
    pub token: Option<String>,
    pub flags: u32,
    /// For key arguments: which key spec describes them.
    pub key_spec_index: Option<usize>,
    /// For `oneof` and `block`.
    pub children: Vec<Arg>,
}

/// Parses a syntax string into Valkey's argument tree. `key_specs` is the number of key specs
/// of the command, used to number key arguments.
pub fn parse(syntax: &str, key_specs: usize) -> Vec<Arg> {
    let tokens = lex(syntax);
    let mut pos = 0;
    let raw = parse_seq(&tokens, &mut pos, 0);
    let mut args = convert_seq(&raw);
    if key_specs > 0 {
        let mut next = 0;
        number_keys(&mut args, &mut next, key_specs);
    }
    args
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Lex {
    Word(String),
    Open(char),
    Close,
    Bar,
    Ellipsis,
}

fn lex(s: &str) -> Vec<Lex> {
    let mut out = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut Vec<Lex>| {
        if !word.is_empty() {
            let w = std::mem::take(word);
            // `ip:port ...`-style trailing ellipses glued to a word.
            if let Some(stem) = w.strip_suffix("...").filter(|s| !s.is_empty()) {
                out.push(Lex::Word(stem.to_string()));
                out.push(Lex::Ellipsis);
            } else if w == "..." {
                out.push(Lex::Ellipsis);
            } else {
                out.push(Lex::Word(w));
            }
        }
    };
    for c in s.chars() {
        match c {
            '[' | '<' => {
                flush(&mut word, &mut out);
                out.push(Lex::Open(c));
            }
            ']' | '>' => {
                flush(&mut word, &mut out);
                out.push(Lex::Close);
            }
            '|' => {
                flush(&mut word, &mut out);
                out.push(Lex::Bar);
            }
            c if c.is_whitespace() => flush(&mut word, &mut out),
            c => word.push(c),
        }
    }
    flush(&mut word, &mut out);
    out
}

/// The syntax before interpretation.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Raw {
    Word(String),
    Group { optional: bool, alts: Vec<Vec<Raw>> },
    Ellipsis,
}

/// Nesting deeper than this is treated as flat text (a syntax string is ours, but the parser
/// must not recurse without bound on any input).
const MAX_DEPTH: usize = 32;

fn parse_seq(tokens: &[Lex], pos: &mut usize, depth: usize) -> Vec<Raw> {
    let mut seq = Vec::new();
    while let Some(t) = tokens.get(*pos) {
        match t {
            Lex::Word(w) => {
                seq.push(Raw::Word(w.clone()));
                *pos += 1;
            }
            Lex::Ellipsis => {
                seq.push(Raw::Ellipsis);
                *pos += 1;
            }
            Lex::Open(c) => {
                *pos += 1;
                if depth >= MAX_DEPTH {
                    continue;
                }
                let mut alts = vec![parse_seq(tokens, pos, depth + 1)];
                while tokens.get(*pos) == Some(&Lex::Bar) {
                    *pos += 1;
                    alts.push(parse_seq(tokens, pos, depth + 1));
                }
                if tokens.get(*pos) == Some(&Lex::Close) {
                    *pos += 1;
                }
                seq.push(Raw::Group { optional: *c == '[', alts });
            }
            Lex::Close | Lex::Bar => break,
        }
    }
    seq
}

fn render(items: &[Raw]) -> String {
    let mut s = String::new();
    for (i, it) in items.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        match it {
            Raw::Word(w) => s.push_str(w),
            Raw::Ellipsis => s.push_str("..."),
            Raw::Group { alts, .. } => {
                s.push('(');
                s.push_str(&render_alts(alts));
                s.push(')');
            }
        }
    }
    s
}

fn render_alts(alts: &[Vec<Raw>]) -> String {
    alts.iter().map(|a| render(a)).collect::<Vec<_>>().join(" | ")
}

fn is_token(w: &str) -> bool {
    !w.bytes().any(|b| b.is_ascii_lowercase())
}

/// If `group` is `[X ...]` (an optional group whose last element is an ellipsis), the
/// alternatives of X.
fn repeat_body(group: &Raw) -> Option<Vec<Vec<Raw>>> {
    let Raw::Group { optional: true, alts } = group else { return None };
    let last = alts.last()?;
    if last.last() != Some(&Raw::Ellipsis) {
        return None;
    }
    let mut alts = alts.clone();
    if let Some(l) = alts.last_mut() {
        l.pop();
    }
    Some(alts)
}

/// Whether `items` (what precedes a repeat group) is what the repeat body repeats.
fn repeats(items: &[Raw], body: &[Vec<Raw>]) -> bool {
    if body.len() == 1 && render(items) == render(&body[0]) {
        return true;
    }
    matches!(items, [Raw::Group { alts, .. }] if render_alts(alts) == render_alts(body))
}

/// A unit of a sequence before tokens are attached: an element and its multiplicity.
struct Unit {
    items: Vec<Raw>,
    multiple: bool,
}

fn group_units(items: &[Raw]) -> Vec<Unit> {
    let mut units: Vec<Unit> = Vec::new();
    let mut i = 0;
    while i < items.len() {
        // Longest run items[i..i+k] followed by a group repeating it.
        let mut found = None;
        for k in (1..items.len() - i).rev() {
            if let Some(body) = repeat_body(&items[i + k]) {
                if repeats(&items[i..i + k], &body) {
                    found = Some(k);
                    break;
                }
            }
        }
        match found {
            Some(k) => {
                units.push(Unit { items: items[i..i + k].to_vec(), multiple: true });
                i += k + 1;
            }
            None => {
                // A group holding only `X ...` (no leading X): X repeated, optional.
                if let Some(body) = repeat_body(&items[i]) {
                    if body.iter().all(|alt| !alt.is_empty()) {
                        units.push(Unit { items: vec![Raw::Group { optional: true, alts: body }], multiple: true });
                        i += 1;
                        continue;
                    }
                }
                if items[i] != Raw::Ellipsis {
                    units.push(Unit { items: vec![items[i].clone()], multiple: false });
                }
                i += 1;
            }
        }
    }
    units
}

fn convert_seq(items: &[Raw]) -> Vec<Arg> {
    let units = group_units(items);
    let mut out = Vec::new();
    let mut i = 0;
    while i < units.len() {
        let u = &units[i];
        // A lone token followed by non-token units: attach.
        if !u.multiple {
            if let [Raw::Word(w)] = u.items.as_slice() {
                if is_token(w) {
                    let mut j = i + 1;
                    while j < units.len() && takes_token(&units[j]) {
                        j += 1;
                        // A required group only ever takes the token alone.
                        if matches!(units[j - 1].items.as_slice(), [Raw::Group { optional: false, .. }]) {
                            break;
                        }
                    }
                    let taken: Vec<Arg> = units[i + 1..j].iter().flat_map(convert_unit_of).collect();
                    out.push(with_token(w, taken));
                    i = j;
                    continue;
                }
            }
        }
        out.extend(convert_unit_of(u));
        i += 1;
    }
    out
}

/// Whether a unit after a token is taken by it: plain argument words (possibly repeated) and
/// a required `<...>` group directly after the token.
fn takes_token(u: &Unit) -> bool {
    match u.items.as_slice() {
        [Raw::Word(w)] => !is_token(w),
        [Raw::Group { optional: false, .. }] => true,
        items if u.multiple => items.iter().all(|it| matches!(it, Raw::Word(w) if !is_token(w))),
        _ => false,
    }
}

fn with_token(token: &str, mut taken: Vec<Arg>) -> Arg {
    let token_text = token.to_string();
    match taken.len() {
        0 => Arg {
            name: token_name(token),
            kind: ArgType::PureToken,
            display: token_name(token),
            token: Some(token_text),
            flags: 0,
            key_spec_index: None,
            children: Vec::new(),
        },
        1 if taken[0].token.is_none() => {
            let mut a = taken.pop().unwrap_or_else(unreachable_arg);
            a.token = Some(token_text);
            a
        }
        _ => Arg {
            name: token_name(token),
            kind: ArgType::Block,
            display: String::new(),
            token: Some(token_text),
            flags: 0,
            key_spec_index: None,
            children: taken,
        },
    }
}

fn unreachable_arg() -> Arg {
    Arg {
        name: String::new(),
        kind: ArgType::String,
        display: String::new(),
        token: None,
        flags: 0,
        key_spec_index: None,
        children: Vec::new(),
    }
}

fn token_name(token: &str) -> String {
    let lower = token.to_ascii_lowercase();
    match lower.as_str() {
        "\"\"" => "empty-string".into(),
        "*" => "auto-id".into(),
        "=" => "equal".into(),
        "~" => "approximately".into(),
        "$" => "last-id".into(),
        "+" => "plus".into(),
        "-" => "minus".into(),
        _ => lower,
    }
}

fn convert_unit_of(u: &Unit) -> Vec<Arg> {
    convert_unit(&u.items, u.multiple)
}

/// Converts one unit (one element, or the run of elements a repeat group repeats).
fn convert_unit(items: &[Raw], multiple: bool) -> Vec<Arg> {
    let mut args = match items {
        [Raw::Word(w)] if is_token(w) => vec![with_token(w, Vec::new())],
        [Raw::Word(w)] => vec![word_arg(w)],
        [Raw::Group { optional, alts }] => vec![group_arg(*optional, alts)],
        _ => {
            let children = convert_seq(items);
            if children.len() == 1 {
                children
            } else {
                vec![block(children)]
            }
        }
    };
    if multiple {
        if let Some(a) = args.first_mut() {
            a.flags |= MULTIPLE;
            if a.token.is_some() && matches!(items.first(), Some(Raw::Word(w)) if is_token(w)) {
                a.flags |= MULTIPLE_TOKEN;
            }
        }
    }
    args
}

fn block(children: Vec<Arg>) -> Arg {
    Arg {
        name: derived_name(&children),
        kind: ArgType::Block,
        display: String::new(),
        token: None,
        flags: 0,
        key_spec_index: None,
        children,
    }
}

fn derived_name(children: &[Arg]) -> String {
    children.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join("-")
}

fn group_arg(optional: bool, alts: &[Vec<Raw>]) -> Arg {
    let mut arg = if alts.len() == 1 {
        let children = convert_seq(&alts[0]);
        if children.len() == 1 {
            children.into_iter().next().unwrap_or_else(unreachable_arg)
        } else {
            block(children)
        }
    } else {
        let children: Vec<Arg> = alts
            .iter()
            .map(|alt| {
                let mut c = convert_seq(alt);
                if c.len() == 1 {
                    c.pop().unwrap_or_else(unreachable_arg)
                } else {
                    block(c)
                }
            })
            .collect();
        Arg {
            name: derived_name(&children),
            kind: ArgType::OneOf,
            display: String::new(),
            token: None,
            flags: 0,
            key_spec_index: None,
            children,
        }
    };
    if optional {
        arg.flags |= OPTIONAL;
    }
    arg
}

fn word_arg(word: &str) -> Arg {
    let (name, kind) = match word.rsplit_once(':') {
        Some((n, t)) if ArgType::from_name(t).is_some() => (n, ArgType::from_name(t).unwrap_or(ArgType::String)),
        _ => (word, infer_type(word)),
    };
    Arg {
        name: name.to_string(),
        kind,
        display: name.to_string(),
        token: None,
        flags: 0,
        key_spec_index: None,
        children: Vec::new(),
    }
}

/// The type Valkey's documentation gives arguments of this name (the most common one where
/// names are reused with different types).
fn infer_type(name: &str) -> ArgType {
    match name {
        "key" | "key1" | "key2" | "keys" | "destination" | "destkey" | "dst" | "newkey" | "source" | "sourcekey"
        | "src" | "storedistkey" | "storekey" => ArgType::Key,
        "pattern" | "by-pattern" | "get-pattern" => ArgType::Pattern,
        "unix-time-seconds" | "unix-time-milliseconds" => ArgType::UnixTime,
        "latitude" | "longitude" | "radius" | "width" | "height" | "score" | "timeout" => ArgType::Double,
        "count" | "numkeys" | "offset" | "index" | "index1" | "index2" | "cursor" | "db" | "seconds"
        | "milliseconds" | "ms" | "port" | "slot" | "start-slot" | "end-slot" | "client-id" | "maxage" | "protover"
        | "rank" | "num-matches" | "ttl" | "version" | "weight" | "bit" | "bits" | "decrement" | "increment"
        | "destination-db" | "entries-added" | "entriesread" | "frequency" | "min-match-len" | "numlocal"
        | "numreplicas" | "quorum" | "current-epoch" | "config-epoch" | "cluster-bus-port" | "start" | "stop"
        | "end" | "limit" | "numargs" | "numfields" => ArgType::Integer,
        _ => ArgType::String,
    }
}

/// Gives key arguments their key spec index: in order of appearance, the last spec taking
/// any extra key arguments.
fn number_keys(args: &mut [Arg], next: &mut usize, specs: usize) {
    for a in args {
        if a.kind == ArgType::Key {
            a.key_spec_index = Some((*next).min(specs - 1));
            *next += 1;
        }
        number_keys(&mut a.children, next, specs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(args: &[Arg]) -> String {
        args.iter()
            .map(|a| {
                let mut s = format!("{}:{}", a.name, a.kind.name());
                if let Some(t) = &a.token {
                    s.push_str(&format!("@{t}"));
                }
                for (f, n) in FLAG_NAMES {
                    if a.flags & f != 0 {
                        s.push_str(&format!("+{n}"));
                    }
                }
                if let Some(k) = a.key_spec_index {
                    s.push_str(&format!("#{k}"));
                }
                if !a.children.is_empty() {
                    s.push_str(&format!("({})", show(&a.children)));
                }
                s
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn set_syntax() {
        let args = parse(
            "key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]",
            1,
        );
        assert_eq!(
            show(&args),
            "key:key#0 value:string nx-xx:oneof+optional(nx:pure-token@NX xx:pure-token@XX) \
             get:pure-token@GET+optional \
             seconds-milliseconds-unix-time-seconds-unix-time-milliseconds-keepttl:oneof+optional(\
             seconds:integer@EX milliseconds:integer@PX unix-time-seconds:unix-time@EXAT \
             unix-time-milliseconds:unix-time@PXAT keepttl:pure-token@KEEPTTL)"
        );
    }

    #[test]
    fn repetition_forms() {
        assert_eq!(show(&parse("key [key ...]", 1)), "key:key+multiple#0");
        assert_eq!(show(&parse("[key [key ...]]", 1)), "key:key+optional+multiple#0");
        assert_eq!(show(&parse("key value [key value ...]", 1)), "key-value:block+multiple(key:key#0 value:string)");
        assert_eq!(
            show(&parse("[GET pattern [GET pattern ...]]", 0)),
            "pattern:pattern@GET+optional+multiple+multiple_token"
        );
        assert_eq!(show(&parse("[ID client-id [client-id ...]]", 0)), "client-id:integer@ID+optional+multiple");
        assert_eq!(show(&parse("[section [section ...]]", 0)), "section:string+optional+multiple");
    }

    #[test]
    fn tokens_blocks_and_groups() {
        assert_eq!(show(&parse("[LIMIT offset count]", 0)), "limit:block@LIMIT+optional(offset:integer count:integer)");
        assert_eq!(
            show(&parse("[TYPE <NORMAL | MASTER | REPLICA | PUBSUB>]", 0)),
            "normal-master-replica-pubsub:oneof@TYPE+optional(normal:pure-token@NORMAL master:pure-token@MASTER \
             replica:pure-token@REPLICA pubsub:pure-token@PUBSUB)"
        );
        assert_eq!(
            show(&parse("GROUP group consumer [NOACK] STREAMS key [key ...] id [id ...]", 1)),
            "group:block@GROUP(group:string consumer:string) noack:pure-token@NOACK+optional \
             streams:block@STREAMS(key:key+multiple#0 id:string+multiple)"
        );
        assert_eq!(show(&parse("timeout:integer [WRITE | ALL]", 0)).split(' ').next(), Some("timeout:integer"));
        assert_eq!(show(&parse("ip:port", 0)), "ip:port:string");
        assert_eq!(show(&parse("<ON | OFF>", 0)), "on-off:oneof(on:pure-token@ON off:pure-token@OFF)");
        assert_eq!(
            show(&parse("[protover [AUTH username password] [SETNAME clientname]]", 0)),
            "protover-auth-clientname:block+optional(protover:integer auth:block@AUTH+optional(username:string \
             password:string) clientname:string@SETNAME+optional)"
        );
    }

    #[test]
    fn malformed_input_never_panics() {
        for s in
            ["[", "]", "<<", "a | b", "[a | ]", "...", "[...]", "x [x", "|||", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[a"]
        {
            let _ = parse(s, 1);
        }
        assert!(parse("", 0).is_empty());
    }
}
