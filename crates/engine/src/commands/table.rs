//! The command table: every command declared once, as data.
//!
//! Each family file (`strings.rs`, `keys.rs`, ...) declares a `pub static COMMANDS: &[Command]`;
//! [`FAMILIES`] lists them. From these declarations come dispatch, arity errors, `COMMAND` and
//! its subcommands, the key extraction that decides which shards a command locks, and (later)
//! ACL category checks and cluster slots. There is no other list of commands.

use super::{Ctx, Reply};
use crate::keyspace::LockSet;
use std::collections::HashMap as StdHashMap;

/// Command names are looked up on every request: a fast hasher instead of SipHash.
type HashMap<K, V> = StdHashMap<K, V, foldhash::fast::RandomState>;

/// A command implementation. It writes its reply into `ctx.out`, or returns an error which the
/// dispatcher writes in place of anything written so far.
pub type Handler = fn(&mut Ctx<'_>, &[&[u8]]) -> super::CmdResult;

/// Command flags, Valkey's names (see `COMMAND INFO`).
pub mod flags {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const SKIP_MONITOR: u32 = 1 << 9;
    pub const SKIP_SLOWLOG: u32 = 1 << 10;
    pub const ASKING: u32 = 1 << 11;
    pub const FAST: u32 = 1 << 12;
    pub const NO_AUTH: u32 = 1 << 13;
    pub const MAY_REPLICATE: u32 = 1 << 14;
    pub const NO_MANDATORY_KEYS: u32 = 1 << 15;
    pub const PROTECTED: u32 = 1 << 16;
    pub const NO_ASYNC_LOADING: u32 = 1 << 17;
    pub const NO_MULTI: u32 = 1 << 18;
    pub const ALLOW_BUSY: u32 = 1 << 19;
    pub const TOUCHES_ARBITRARY_KEYS: u32 = 1 << 20;
}

/// ACL categories. Some are implied by flags, as in Valkey (`write` → `@write`, ...).
pub mod acl {
    pub const KEYSPACE: u64 = 1 << 0;
    pub const READ: u64 = 1 << 1;
    pub const WRITE: u64 = 1 << 2;
    pub const SET: u64 = 1 << 3;
    pub const SORTEDSET: u64 = 1 << 4;
    pub const LIST: u64 = 1 << 5;
    pub const HASH: u64 = 1 << 6;
    pub const STRING: u64 = 1 << 7;
    pub const BITMAP: u64 = 1 << 8;
    pub const HYPERLOGLOG: u64 = 1 << 9;
    pub const GEO: u64 = 1 << 10;
    pub const STREAM: u64 = 1 << 11;
    pub const PUBSUB: u64 = 1 << 12;
    pub const ADMIN: u64 = 1 << 13;
    pub const FAST: u64 = 1 << 14;
    pub const SLOW: u64 = 1 << 15;
    pub const BLOCKING: u64 = 1 << 16;
    pub const DANGEROUS: u64 = 1 << 17;
    pub const CONNECTION: u64 = 1 << 18;
    pub const TRANSACTION: u64 = 1 << 19;
    pub const SCRIPTING: u64 = 1 << 20;

    pub const NAMES: &[(u64, &str)] = &[
        (KEYSPACE, "keyspace"),
        (READ, "read"),
        (WRITE, "write"),
        (SET, "set"),
        (SORTEDSET, "sortedset"),
        (LIST, "list"),
        (HASH, "hash"),
        (STRING, "string"),
        (BITMAP, "bitmap"),
        (HYPERLOGLOG, "hyperloglog"),
        (GEO, "geo"),
        (STREAM, "stream"),
        (PUBSUB, "pubsub"),
        (ADMIN, "admin"),
        (FAST, "fast"),
        (SLOW, "slow"),
        (BLOCKING, "blocking"),
        (DANGEROUS, "dangerous"),
        (CONNECTION, "connection"),
        (TRANSACTION, "transaction"),
        (SCRIPTING, "scripting"),
    ];
}

/// Key-spec flags (Valkey's names).
pub mod keyflags {
    pub const RO: u32 = 1 << 0;
    pub const RW: u32 = 1 << 1;
    pub const OW: u32 = 1 << 2;
    pub const RM: u32 = 1 << 3;
    pub const ACCESS: u32 = 1 << 4;
    pub const UPDATE: u32 = 1 << 5;
    pub const INSERT: u32 = 1 << 6;
    pub const DELETE: u32 = 1 << 7;
    pub const NOT_KEY: u32 = 1 << 8;
    pub const INCOMPLETE: u32 = 1 << 9;
    pub const VARIABLE_FLAGS: u32 = 1 << 10;

    pub const NAMES: &[(u32, &str)] = &[
        (RO, "RO"),
        (RW, "RW"),
        (OW, "OW"),
        (RM, "RM"),
        (ACCESS, "access"),
        (UPDATE, "update"),
        (INSERT, "insert"),
        (DELETE, "delete"),
        (NOT_KEY, "not_key"),
        (INCOMPLETE, "incomplete"),
        (VARIABLE_FLAGS, "variable_flags"),
    ];
}

/// Where the search for keys starts.
#[derive(Clone, Copy, Debug)]
pub enum BeginSearch {
    /// At this argument index.
    Index(i32),
    /// After this keyword, searching from `startfrom` (negative: from the end, backwards).
    Keyword {
        keyword: &'static str,
        startfrom: i32,
    },
    Unknown,
}

/// How keys are found once the search has begun.
#[derive(Clone, Copy, Debug)]
pub enum FindKeys {
    /// `lastkey` relative to the first (negative: from the end), every `step` arguments;
    /// `limit` > 1 means "1/limit of the remaining arguments".
    Range {
        lastkey: i32,
        step: i32,
        limit: i32,
    },
    /// The number of keys is at `keynumidx` (relative to the begin index); keys start at
    /// `firstkey` (relative too), every `step`.
    Keynum {
        keynumidx: i32,
        firstkey: i32,
        step: i32,
    },
    Unknown,
}

#[derive(Clone, Copy, Debug)]
pub struct KeySpec {
    pub flags: u32,
    pub begin: BeginSearch,
    pub find: FindKeys,
    pub notes: &'static str,
}

impl KeySpec {
    /// The common case: one key at `index`.
    pub const fn single(index: i32, flags: u32) -> KeySpec {
        KeySpec {
            flags,
            begin: BeginSearch::Index(index),
            find: FindKeys::Range { lastkey: 0, step: 1, limit: 0 },
            notes: "",
        }
    }

    /// Keys from `index` to `lastkey` (relative; -1 = to the end) every `step`.
    pub const fn range(index: i32, lastkey: i32, step: i32, flags: u32) -> KeySpec {
        KeySpec {
            flags,
            begin: BeginSearch::Index(index),
            find: FindKeys::Range { lastkey, step, limit: 0 },
            notes: "",
        }
    }

    /// `numkeys key [key ...]` starting at `index`.
    pub const fn keynum(index: i32, flags: u32) -> KeySpec {
        KeySpec {
            flags,
            begin: BeginSearch::Index(index),
            find: FindKeys::Keynum { keynumidx: 0, firstkey: 1, step: 1 },
            notes: "",
        }
    }
}

/// Computes a command's lock set from (client db, argv, number of databases).
pub type CustomLock = fn(usize, &[&[u8]], usize) -> Result<LockSet, String>;

/// Extracts key argument indexes from argv.
pub type GetKeys = fn(&[&[u8]]) -> Vec<usize>;

/// How a command's shards are chosen.
#[derive(Clone, Copy)]
pub enum Lock {
    /// No keyspace access (PING, CONFIG, CLIENT ...).
    None,
    /// The shards of the keys its key specs (or `get_keys`) name, in the client's database.
    Keys,
    /// Every shard of the client's database (KEYS, SCAN, DBSIZE, FLUSHDB ...).
    Db,
    /// Every shard of every database (FLUSHALL, DEBUG RELOAD ...).
    AllDbs,
    /// A script (EVAL, FCALL ...): the shards of the keys it declares, and more as its
    /// calls need them (`Keys::lock_more`); one script runs at a time (`Scripting::slot`).
    Script,
    /// Computed by the command from its arguments (MOVE, COPY ... DB, SWAPDB). An `Err` is
    /// the reply (e.g. an invalid database index).
    Custom(CustomLock),
}

/// Documentation shown by `COMMAND DOCS` (and so by `valkey-cli` hints).
#[derive(Clone, Copy, Debug)]
pub struct Doc {
    pub summary: &'static str,
    pub since: &'static str,
    pub group: &'static str,
    pub complexity: &'static str,
    /// The argument syntax after the command name, as in the Valkey docs, e.g.
    /// `key value [NX | XX] [GET]`. `COMMAND DOCS` derives its argument tree from it
    /// (`argtree.rs`): argument types are inferred from names (`key` → key, `count` →
    /// integer ...); write `name:type` where the name says otherwise (`increment:double`).
    pub syntax: &'static str,
}

impl Doc {
    pub const EMPTY: Doc = Doc { summary: "", since: "", group: "", complexity: "", syntax: "" };
}

/// `COMMAND DOCS` flags (`doc_flags`).
pub mod doc_flags {
    pub const DEPRECATED: u32 = 1 << 0;
    /// A system command, not meant to be called by users (DEBUG, SYNC ...).
    pub const SYSCMD: u32 = 1 << 1;

    pub const NAMES: &[(u32, &str)] = &[(DEPRECATED, "deprecated"), (SYSCMD, "syscmd")];
}

/// What `COMMAND DOCS` reports beyond [`Doc`], for the few commands that have it.
#[derive(Clone, Copy, Debug)]
pub struct DocMeta {
    /// [`doc_flags`].
    pub flags: u32,
    pub deprecated_since: &'static str,
    pub replaced_by: &'static str,
    /// `(version, change)` pairs.
    pub history: &'static [(&'static str, &'static str)],
}

impl DocMeta {
    pub const NONE: DocMeta = DocMeta { flags: 0, deprecated_since: "", replaced_by: "", history: &[] };
}

/// Extracts key argument indexes with their key-spec flags (`keyflags`), for commands whose
/// key flags depend on the arguments (`variable_flags`, e.g. SET with or without GET).
pub type KeysWithFlags = fn(&[&[u8]]) -> Vec<(usize, u32)>;

/// One command (or subcommand).
#[derive(Clone, Copy)]
pub struct Command {
    /// Lower-case name; for a subcommand, the part after the `|`.
    pub name: &'static str,
    /// Valkey's arity: `n` exactly n arguments (name included), `-n` at least n.
    pub arity: i32,
    pub flags: u32,
    /// Explicit ACL categories; implied ones are added by [`Command::acl_categories`].
    pub acl: u64,
    pub keys: &'static [KeySpec],
    /// Custom key extraction for commands whose keys the specs cannot describe fully
    /// (`movablekeys`), returning argument indexes.
    pub get_keys: Option<GetKeys>,
    pub lock: Lock,
    pub handler: Option<Handler>,
    pub subcommands: &'static [Command],
    pub tips: &'static [&'static str],
    pub doc: Doc,
    pub doc_meta: DocMeta,
    /// Key positions with their flags when they depend on the arguments (COMMAND
    /// GETKEYSANDFLAGS; key specs with `VARIABLE_FLAGS` otherwise report their declared flags).
    pub keys_with_flags: Option<KeysWithFlags>,
}

impl Command {
    /// A command of a data-type family: its keys locked per shard, its ACL category, and no
    /// subcommands (what most declarations in strings, bits, hashes, lists and sets are).
    pub const fn keyed(
        acl: u64,
        name: &'static str,
        arity: i32,
        flags: u32,
        keys: &'static [KeySpec],
        handler: Handler,
        doc: Doc,
    ) -> Command {
        Command { name, arity, flags, acl, keys, lock: Lock::Keys, handler: Some(handler), doc, ..Command::DEFAULT }
    }

    /// A starting point for declarations: `Command { name: "get", ..Command::DEFAULT }`.
    pub const DEFAULT: Command = Command {
        name: "",
        arity: 0,
        flags: 0,
        acl: 0,
        keys: &[],
        get_keys: None,
        lock: Lock::None,
        handler: None,
        subcommands: &[],
        tips: &[],
        doc: Doc::EMPTY,
        doc_meta: DocMeta::NONE,
        keys_with_flags: None,
    };

    /// Explicit plus implied ACL categories (Valkey's `setImplicitACLCategories`).
    pub fn acl_categories(&self) -> u64 {
        let mut c = self.acl;
        if self.flags & flags::WRITE != 0 {
            c |= acl::WRITE;
        }
        if self.flags & flags::READONLY != 0 && c & acl::SCRIPTING == 0 {
            c |= acl::READ;
        }
        if self.flags & flags::ADMIN != 0 {
            c |= acl::ADMIN | acl::DANGEROUS;
        }
        if self.flags & flags::PUBSUB != 0 {
            c |= acl::PUBSUB;
        }
        if self.flags & flags::FAST != 0 {
            c |= acl::FAST;
        }
        if self.flags & flags::BLOCKING != 0 {
            c |= acl::BLOCKING;
        }
        if c & acl::FAST == 0 {
            c |= acl::SLOW;
        }
        c
    }

    pub fn is_container(&self) -> bool {
        !self.subcommands.is_empty()
    }

    /// Whether argument positions of keys depend on the arguments themselves.
    pub fn movable_keys(&self) -> bool {
        self.get_keys.is_some()
            || self
                .keys
                .iter()
                .any(|k| !matches!(k.begin, BeginSearch::Index(_)) || matches!(k.find, FindKeys::Keynum { .. }))
    }

    /// Argument indexes of the keys in `argv`, from the key specs (or `get_keys`). Specs that
    /// do not match the arguments contribute nothing (the command's own parsing reports the
    /// error later).
    pub fn key_positions(&self, argv: &[&[u8]]) -> Vec<usize> {
        let mut out = Vec::new();
        self.for_each_key_position(argv, |i| out.push(i));
        out
    }

    /// Calls `f` with each key's argument index, without allocating (the dispatcher's path).
    #[inline]
    pub fn for_each_key_position(&self, argv: &[&[u8]], mut f: impl FnMut(usize)) {
        if let Some(get) = self.get_keys {
            get(argv).into_iter().for_each(f);
            return;
        }
        for spec in self.keys {
            spec_keys(spec, argv, &mut f);
        }
    }
}

fn spec_keys(spec: &KeySpec, argv: &[&[u8]], out: &mut impl FnMut(usize)) {
    let argc = argv.len() as i32;
    let first = match spec.begin {
        BeginSearch::Index(i) => i,
        BeginSearch::Keyword { keyword, startfrom } => {
            let (start, end, step) = if startfrom >= 0 { (startfrom, argc, 1) } else { (argc + startfrom, 0, -1) };
            let mut i = start;
            let mut found = None;
            while (step > 0 && i < end) || (step < 0 && i > end) {
                if i > 0 && i < argc && argv[i as usize].eq_ignore_ascii_case(keyword.as_bytes()) {
                    found = Some(i + 1);
                    break;
                }
                i += step;
            }
            match found {
                Some(f) => f,
                None => return,
            }
        }
        BeginSearch::Unknown => return,
    };
    if first <= 0 || first >= argc {
        return;
    }
    match spec.find {
        FindKeys::Range { lastkey, step, limit } => {
            let step = step.max(1);
            let last = if lastkey >= 0 {
                first + lastkey
            } else if limit <= 1 {
                argc + lastkey
            } else {
                first + (argc - first) / limit + lastkey
            };
            let mut i = first;
            while i <= last && i < argc {
                out(i as usize);
                i += step;
            }
        }
        FindKeys::Keynum { keynumidx, firstkey, step } => {
            let idx = first + keynumidx;
            if idx >= argc {
                return;
            }
            let Some(n) = resp::number::parse_i64(argv[idx as usize]) else {
                return;
            };
            if n <= 0 {
                return;
            }
            let start = first + firstkey;
            let step = step.max(1);
            for k in 0..n.min(i64::from(argc)) as i32 {
                let i = start + k * step;
                if i >= argc {
                    break;
                }
                out(i as usize);
            }
        }
        FindKeys::Unknown => {}
    }
}

/// Every family's declarations.
pub static FAMILIES: &[&[Command]] = &[
    super::connection::COMMANDS,
    super::strings::COMMANDS,
    super::bits::COMMANDS,
    super::keys::COMMANDS,
    super::lists::COMMANDS,
    super::expire::COMMANDS,
    super::hashes::COMMANDS,
    super::sets::COMMANDS,
    super::streams::COMMANDS,
    super::sort::COMMANDS,
    super::server::COMMANDS,
    super::persistence::COMMANDS,
    super::scripting::COMMANDS,
    super::scripting::FCALL_COMMANDS,
    super::replication::COMMANDS,
    super::info::COMMANDS,
    super::memory::COMMANDS,
    super::slowlog::COMMANDS,
    super::monitor::COMMANDS,
    super::multi::COMMANDS,
    super::debug::COMMANDS,
    super::introspection::COMMANDS,
    super::zsets::COMMANDS,
    super::pubsub::COMMANDS,
    super::hyperloglog::COMMANDS,
    super::geo::COMMANDS,
];

/// A command resolved by the table, with what the dispatcher needs at hand.
pub struct Resolved {
    pub def: &'static Command,
    pub id: usize,
    /// `get`, or `config|get` for a subcommand.
    pub full_name: String,
    pub parent: Option<usize>,
    subs: HashMap<Vec<u8>, usize>,
}

/// The runtime index over [`FAMILIES`].
pub struct CommandTable {
    entries: Vec<Resolved>,
    by_name: HashMap<Vec<u8>, usize>,
}

/// What looking up an argument vector found.
pub enum Lookup<'t> {
    Found(&'t Resolved),
    UnknownCommand,
    /// A container command called with an unknown subcommand.
    UnknownSubcommand(&'t Resolved),
}

impl CommandTable {
    pub fn build() -> CommandTable {
        let mut t = CommandTable { entries: Vec::new(), by_name: HashMap::default() };
        for family in FAMILIES {
            for def in family.iter() {
                let id = t.add(def, None);
                let prev = t.by_name.insert(def.name.as_bytes().to_vec(), id);
                assert!(prev.is_none(), "command {} declared twice", def.name);
                for sub in def.subcommands {
                    let sid = t.add(sub, Some(id));
                    t.entries[id].subs.insert(sub.name.as_bytes().to_vec(), sid);
                }
            }
        }
        t
    }

    fn add(&mut self, def: &'static Command, parent: Option<usize>) -> usize {
        let full_name = match parent {
            Some(p) => format!("{}|{}", self.entries[p].def.name, def.name),
            None => def.name.to_string(),
        };
        self.entries.push(Resolved { def, id: self.entries.len(), full_name, parent, subs: HashMap::default() });
        self.entries.len() - 1
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, id: usize) -> &Resolved {
        &self.entries[id]
    }

    /// Top-level commands, in declaration order.
    pub fn top_level(&self) -> impl Iterator<Item = &Resolved> {
        self.entries.iter().filter(|e| e.parent.is_none())
    }

    pub fn subcommands(&self, parent: &Resolved) -> impl Iterator<Item = &Resolved> {
        let id = parent.id;
        self.entries.iter().filter(move |e| e.parent == Some(id))
    }

    /// Finds a command by name, case-insensitively.
    pub fn by_name(&self, name: &[u8]) -> Option<&Resolved> {
        let mut buf = [0u8; 32];
        let id = if name.len() <= buf.len() {
            let lower = &mut buf[..name.len()];
            lower.copy_from_slice(name);
            lower.make_ascii_lowercase();
            self.by_name.get(&lower[..])
        } else {
            self.by_name.get(&name.to_ascii_lowercase())
        }?;
        Some(&self.entries[*id])
    }

    /// Finds `get` or `config|get` by its full name.
    pub fn by_full_name(&self, full: &[u8]) -> Option<&Resolved> {
        match full.iter().position(|&b| b == b'|') {
            Some(bar) => {
                let parent = self.by_name(&full[..bar])?;
                self.sub(parent, &full[bar + 1..])
            }
            None => self.by_name(full),
        }
    }

    fn sub(&self, parent: &Resolved, name: &[u8]) -> Option<&Resolved> {
        parent.subs.get(&name.to_ascii_lowercase()).map(|&id| &self.entries[id])
    }

    /// Resolves the command an argument vector calls, descending into subcommands.
    pub fn lookup(&self, argv: &[&[u8]]) -> Lookup<'_> {
        let Some(top) = self.by_name(argv[0]) else {
            return Lookup::UnknownCommand;
        };
        if !top.def.is_container() || argv.len() < 2 {
            return Lookup::Found(top);
        }
        match self.sub(top, argv[1]) {
            Some(sub) => Lookup::Found(sub),
            None => Lookup::UnknownSubcommand(top),
        }
    }
}

/// Writes a `HELP` reply: the command's help lines as status replies.
pub fn reply_help(out: &mut Reply, command: &str, lines: &[&str]) {
    out.array(lines.len() + 3);
    out.simple(&format!("{command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"));
    for l in lines {
        out.simple(l);
    }
    out.simple("HELP");
    out.simple("    Print this help.");
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyflags::*;

    fn keys_of(spec: KeySpec, argv: &[&str]) -> Vec<usize> {
        let argv: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
        let mut out = Vec::new();
        spec_keys(&spec, &argv, &mut |i| out.push(i));
        out
    }

    #[test]
    fn key_spec_forms() {
        assert_eq!(keys_of(KeySpec::single(1, RO), &["get", "k"]), vec![1]);
        assert_eq!(keys_of(KeySpec::range(1, -1, 1, RW), &["del", "a", "b", "c"]), vec![1, 2, 3]);
        assert_eq!(keys_of(KeySpec::range(1, -1, 2, OW), &["mset", "a", "1", "b", "2"]), vec![1, 3]);
        assert_eq!(keys_of(KeySpec::keynum(2, RO), &["eval", "s", "2", "a", "b", "x"]), vec![3, 4]);
        assert_eq!(keys_of(KeySpec::keynum(2, RO), &["eval", "s", "9", "a"]), vec![3]);
        let kw = KeySpec {
            flags: RO,
            begin: BeginSearch::Keyword { keyword: "STREAMS", startfrom: 1 },
            find: FindKeys::Range { lastkey: -1, step: 1, limit: 2 },
            notes: "",
        };
        assert_eq!(keys_of(kw, &["xread", "COUNT", "2", "STREAMS", "a", "b", "0", "0"]), vec![4, 5]);
    }

    #[test]
    fn table_resolves_names_and_subcommands() {
        let t = CommandTable::build();
        assert!(t.by_name(b"GeT").is_some());
        assert!(matches!(t.lookup(&[b"nope"]), Lookup::UnknownCommand));
        match t.lookup(&[b"CONFIG", b"get", b"x"]) {
            Lookup::Found(r) => assert_eq!(r.full_name, "config|get"),
            _ => panic!("config get not found"),
        }
        assert!(matches!(t.lookup(&[b"config", b"bogus"]), Lookup::UnknownSubcommand(_)));
        for e in &t.entries {
            // EXEC is run by the dispatcher itself (`exec::exec_transaction`).
            let dispatcher_run = e.full_name == "exec";
            assert!(
                e.def.handler.is_some() || e.def.is_container() || dispatcher_run,
                "{} has no handler",
                e.full_name
            );
            assert!(e.def.arity != 0, "{} has no arity", e.full_name);
        }
    }
}
