//! Keyspace event classes (`notify-keyspace-events`) and the event record.
//!
//! Commands report changes through `Keys::changed`, which records a [`KeyEvent`] when the
//! configured classes include the event's class. Publishing the events to subscribers of
//! `__keyspace@<db>__:<key>` and `__keyevent@<db>__:<event>` is the messaging layer's job.

pub const KEYSPACE: u32 = 1 << 0; // K
pub const KEYEVENT: u32 = 1 << 1; // E
pub const GENERIC: u32 = 1 << 2; // g
pub const STRING: u32 = 1 << 3; // $
pub const LIST: u32 = 1 << 4; // l
pub const SET: u32 = 1 << 5; // s
pub const HASH: u32 = 1 << 6; // h
pub const ZSET: u32 = 1 << 7; // z
pub const EXPIRED: u32 = 1 << 8; // x
pub const EVICTED: u32 = 1 << 9; // e
pub const STREAM: u32 = 1 << 10; // t
pub const KEY_MISS: u32 = 1 << 11; // m (not part of A)
pub const MODULE: u32 = 1 << 12; // d
pub const NEW: u32 = 1 << 13; // n (not part of A)
/// `A`: every class but key-miss and new.
pub const ALL: u32 = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// One keyspace event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyEvent {
    pub class: u32,
    pub event: &'static str,
    pub db: usize,
    pub key: Vec<u8>,
}

/// Parses a `notify-keyspace-events` value; `None` if it has an unknown character.
pub fn parse_flags(s: &[u8]) -> Option<u32> {
    let mut flags = 0;
    for &c in s {
        flags |= match c {
            b'A' => ALL,
            b'g' => GENERIC,
            b'$' => STRING,
            b'l' => LIST,
            b's' => SET,
            b'h' => HASH,
            b'z' => ZSET,
            b'x' => EXPIRED,
            b'e' => EVICTED,
            b'K' => KEYSPACE,
            b'E' => KEYEVENT,
            b't' => STREAM,
            b'm' => KEY_MISS,
            b'd' => MODULE,
            b'n' => NEW,
            _ => return None,
        };
    }
    Some(flags)
}

/// The canonical string for `flags`, as CONFIG GET shows it.
pub fn flags_to_string(flags: u32) -> String {
    let mut s = String::new();
    if flags & ALL == ALL {
        s.push('A');
    } else {
        for (bit, c) in [
            (GENERIC, 'g'),
            (STRING, '$'),
            (LIST, 'l'),
            (SET, 's'),
            (HASH, 'h'),
            (ZSET, 'z'),
            (EXPIRED, 'x'),
            (EVICTED, 'e'),
            (STREAM, 't'),
            (MODULE, 'd'),
        ] {
            if flags & bit != 0 {
                s.push(c);
            }
        }
    }
    for (bit, c) in [(KEYSPACE, 'K'), (KEYEVENT, 'E'), (KEY_MISS, 'm'), (NEW, 'n')] {
        if flags & bit != 0 {
            s.push(c);
        }
    }
    s
}

/// Whether events would be delivered at all: a class and a channel kind (K or E) must be on.
pub fn effective(flags: u32) -> u32 {
    if flags & (KEYSPACE | KEYEVENT) == 0 {
        0
    } else {
        flags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_roundtrip_like_valkey() {
        assert_eq!(flags_to_string(parse_flags(b"KEA").unwrap()), "AKE");
        assert_eq!(flags_to_string(parse_flags(b"Ex$").unwrap()), "$xE");
        assert_eq!(flags_to_string(parse_flags(b"").unwrap()), "");
        assert_eq!(parse_flags(b"Kq"), None);
        assert_eq!(effective(parse_flags(b"g$").unwrap()), 0);
    }
}
