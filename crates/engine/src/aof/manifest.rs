//! The AOF manifest (Valkey 7+'s multi-part AOF): which files of `appenddirname` make up the
//! dataset. One line per file, `file <name> seq <n> type <b|h|i>`: the base (an RDB image or
//! commands), history files waiting to be deleted, and the incr files, replayed in order after
//! the base. Names needing quotes are written in `sdscatrepr` form and parsed like
//! `sdssplitargs`.

/// What a file in the manifest is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Base,
    History,
    Incr,
}

impl Kind {
    fn letter(self) -> char {
        match self {
            Kind::Base => 'b',
            Kind::History => 'h',
            Kind::Incr => 'i',
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileInfo {
    pub name: String,
    pub seq: i64,
    pub kind: Kind,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    pub base: Option<FileInfo>,
    pub history: Vec<FileInfo>,
    pub incrs: Vec<FileInfo>,
    /// The last sequence numbers handed out (the next base/incr gets one more).
    pub base_seq: i64,
    pub incr_seq: i64,
}

/// Valkey's `.base` / `.incr` naming: `<appendfilename>.<seq>.base.rdb`, `.base.aof`,
/// `<appendfilename>.<seq>.incr.aof`.
pub fn base_name(appendfilename: &str, seq: i64, rdb: bool) -> String {
    format!("{appendfilename}.{seq}.base.{}", if rdb { "rdb" } else { "aof" })
}

pub fn incr_name(appendfilename: &str, seq: i64) -> String {
    format!("{appendfilename}.{seq}.incr.aof")
}

pub fn manifest_name(appendfilename: &str) -> String {
    format!("{appendfilename}.manifest")
}

pub fn temp_manifest_name(appendfilename: &str) -> String {
    format!("temp-{appendfilename}.manifest")
}

impl Manifest {
    /// The manifest as Valkey writes it: base, then history, then incr files.
    pub fn format(&self) -> String {
        let mut s = String::new();
        for f in self.base.iter().chain(&self.history).chain(&self.incrs) {
            s.push_str(&format!("file {} seq {} type {}\n", repr_if_needed(&f.name), f.seq, f.kind.letter()));
        }
        s
    }

    /// Parses a manifest, with Valkey's error texts.
    pub fn parse(text: &[u8]) -> Result<Manifest, ManifestError> {
        let mut m = Manifest::default();
        let mut max_seq = 0;
        let mut lines = 0;
        for (i, raw) in text.split_inclusive(|&b| b == b'\n').enumerate() {
            lines += 1;
            let err = |msg: &'static str| ManifestError {
                line: i + 1,
                text: String::from_utf8_lossy(raw).trim_end().to_string(),
                msg,
            };
            if raw.first() == Some(&b'#') {
                continue;
            }
            if raw.len() > 1024 {
                return Err(err("The AOF manifest file contains too long line"));
            }
            if raw.last() != Some(&b'\n') {
                return Err(err("The AOF manifest file contains too long line"));
            }
            let line = String::from_utf8_lossy(raw);
            let line = line.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
            if line.is_empty() {
                return Err(err("Invalid AOF manifest file format"));
            }
            let mut args = Vec::new();
            resp::request::split_inline_args(line.as_bytes(), &mut args)
                .map_err(|_| err("Invalid AOF manifest file format"))?;
            if args.len() < 6 || args.len() % 2 != 0 {
                return Err(err("Invalid AOF manifest file format"));
            }
            let (mut name, mut seq, mut kind) = (None, 0i64, None);
            for pair in args.chunks(2) {
                let key = String::from_utf8_lossy(&pair[0]).to_ascii_lowercase();
                match key.as_str() {
                    "file" => {
                        let n = String::from_utf8_lossy(&pair[1]).into_owned();
                        if n.contains('/') {
                            return Err(err("File can't be a path, just a filename"));
                        }
                        name = Some(n);
                    }
                    "seq" => seq = atoll(&pair[1]),
                    "type" => kind = pair[1].first().copied(),
                    _ => {}
                }
            }
            let (Some(name), Some(kind)) = (name, kind) else { return Err(err("Invalid AOF manifest file format")) };
            if seq == 0 || name.is_empty() {
                return Err(err("Invalid AOF manifest file format"));
            }
            match kind {
                b'b' => {
                    if m.base.is_some() {
                        return Err(err("Found duplicate base file information"));
                    }
                    m.base = Some(FileInfo { name, seq, kind: Kind::Base });
                    m.base_seq = seq;
                }
                b'h' => m.history.push(FileInfo { name, seq, kind: Kind::History }),
                b'i' => {
                    if seq <= max_seq {
                        return Err(err("Found a non-monotonic sequence number"));
                    }
                    m.incrs.push(FileInfo { name, seq, kind: Kind::Incr });
                    m.incr_seq = seq;
                    max_seq = seq;
                }
                _ => return Err(err("Unknown AOF file type")),
            }
        }
        if lines == 0 {
            return Err(ManifestError { line: 0, text: String::new(), msg: "Found an empty AOF manifest" });
        }
        Ok(m)
    }

    /// A new incr file at the end (BGREWRITEAOF, startup without one).
    pub fn add_incr(&mut self, appendfilename: &str) -> String {
        self.incr_seq += 1;
        let name = incr_name(appendfilename, self.incr_seq);
        self.incrs.push(FileInfo { name: name.clone(), seq: self.incr_seq, kind: Kind::Incr });
        name
    }

    /// A new base file; the previous one becomes history.
    pub fn new_base(&mut self, appendfilename: &str, rdb: bool) -> String {
        if let Some(mut old) = self.base.take() {
            old.kind = Kind::History;
            self.history.push(old);
        }
        self.base_seq += 1;
        let name = base_name(appendfilename, self.base_seq, rdb);
        self.base = Some(FileInfo { name: name.clone(), seq: self.base_seq, kind: Kind::Base });
        name
    }

    /// After a rewrite: every incr file before `keep` (the one opened when the rewrite
    /// started) is covered by the new base and becomes history.
    pub fn retire_incrs_before(&mut self, keep_seq: i64) {
        let (old, kept): (Vec<_>, Vec<_>) = self.incrs.drain(..).partition(|f| f.seq < keep_seq);
        self.incrs = kept;
        for mut f in old {
            f.kind = Kind::History;
            self.history.push(f);
        }
    }

    /// Base and incr files, in load order.
    pub fn load_order(&self) -> Vec<&FileInfo> {
        self.base.iter().chain(&self.incrs).collect()
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct ManifestError {
    pub line: usize,
    pub text: String,
    pub msg: &'static str,
}

/// `atoll`: leading digits, 0 when none.
fn atoll(s: &[u8]) -> i64 {
    let s = String::from_utf8_lossy(s);
    let t = s.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let n: i64 = digits
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0i64, |acc, d| acc.wrapping_mul(10).wrapping_add(i64::from(d - b'0')));
    if neg {
        -n
    } else {
        n
    }
}

fn needs_repr(s: &str) -> bool {
    s.bytes().any(|b| !(b.is_ascii_graphic()) || matches!(b, b'"' | b'\'' | b'\\'))
}

fn repr_if_needed(s: &str) -> String {
    if !needs_repr(s) {
        return s.to_string();
    }
    let mut out = String::from("\"");
    for b in s.bytes() {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            7 => out.push_str("\\a"),
            8 => out.push_str("\\b"),
            b if b.is_ascii_graphic() || b == b' ' => out.push(b as char),
            b => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rewrite_bookkeeping() {
        let text = b"file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n";
        let mut m = Manifest::parse(text).unwrap();
        assert_eq!(m.format().as_bytes(), text);
        let incr = m.add_incr("appendonly.aof");
        assert_eq!(incr, "appendonly.aof.2.incr.aof");
        let base = m.new_base("appendonly.aof", true);
        assert_eq!(base, "appendonly.aof.2.base.rdb");
        m.retire_incrs_before(2);
        assert_eq!(
            m.format(),
            "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.1.base.rdb seq 1 type h\n\
             file appendonly.aof.1.incr.aof seq 1 type h\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
        );
        assert_eq!(Manifest::parse(m.format().as_bytes()).unwrap(), m);
    }

    #[test]
    fn quoted_names_and_errors() {
        let m =
            Manifest { base: Some(FileInfo { name: "a b\"c".into(), seq: 3, kind: Kind::Base }), ..Default::default() };
        let text = m.format();
        assert_eq!(text, "file \"a b\\\"c\" seq 3 type b\n");
        assert_eq!(Manifest::parse(text.as_bytes()).unwrap().base.unwrap().name, "a b\"c");
        let e = |t: &[u8]| Manifest::parse(t).unwrap_err().msg;
        assert_eq!(e(b""), "Found an empty AOF manifest");
        assert_eq!(e(b"file a seq 1\n"), "Invalid AOF manifest file format");
        assert_eq!(e(b"file a seq 1 type b\nfile b seq 2 type b\n"), "Found duplicate base file information");
        assert_eq!(e(b"file a seq 2 type i\nfile b seq 1 type i\n"), "Found a non-monotonic sequence number");
        assert_eq!(e(b"file a seq 1 type x\n"), "Unknown AOF file type");
        assert_eq!(e(b"file ../a seq 1 type b\n"), "File can't be a path, just a filename");
        assert_eq!(e(b"file a seq 1 type b"), "The AOF manifest file contains too long line");
        // Comments and unknown keys are skipped (forward compatibility).
        let m = Manifest::parse(b"# hi\nfile a seq 1 type i extra x\n").unwrap();
        assert_eq!(m.incrs.len(), 1);
    }
}
