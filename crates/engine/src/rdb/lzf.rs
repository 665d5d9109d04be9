//! LZF, the compression of long strings in RDB files and DUMP payloads.
//!
//! Decompression is the `lzf` crate's. Compression is written here because Valkey's payloads
//! are part of what we must reproduce byte for byte (GUIDE §1: "same RDB bytes"), and the
//! crate's compressor, while producing valid LZF, makes different choices near the end of the
//! input (it never starts a match in the last 4 bytes and extends matches differently): on
//! 3000 random strings of 21-400 bytes, the DUMP bodies redis-server 7.0.15 produced matched
//! the crate's output for 2030 and this module's for all 3000. This is the algorithm of the
//! LZF 3.6 compressor Valkey builds (`HLOG` 16, "very fast" hashing, matches of up to 264
//! bytes within 8 KiB, the same output-room checks), with a zeroed hash table so that the
//! output is deterministic.
//!
//! Format: a control byte `000LLLLL` starts a run of L+1 literal bytes; `LLLooooo oooooooo`
//! copies L+2 bytes from `o+1` bytes back; `111ooooo LLLLLLLL oooooooo` copies L+9 bytes.

/// Hash table size (log2).
const HASH_BITS: u32 = 16;
/// Farthest back a match may start.
const MAX_OFFSET: usize = 1 << 13;
/// Longest match.
const MAX_MATCH: usize = (1 << 8) + (1 << 3);
/// Longest literal run.
const MAX_LITERALS: usize = 1 << 5;

/// The hash slot of the three bytes ending in the low 24 bits of `window`.
fn slot(window: u32) -> usize {
    ((window >> 8).wrapping_sub(window.wrapping_mul(5)) & ((1 << HASH_BITS) - 1)) as usize
}

/// The hash table, kept per thread: zeroing 256 KiB for every string compressed made saving
/// a dataset of short strings ten times slower than Valkey. Each entry carries the number of
/// the call that wrote it, and entries from other calls read as empty, so every call sees a
/// zeroed table without clearing it.
struct Table {
    entries: Vec<u64>,
    call: u32,
}

thread_local! {
    static TABLE: std::cell::RefCell<Table> = const { std::cell::RefCell::new(Table { entries: Vec::new(), call: 0 }) };
}

/// A view of the table for one call.
struct Slots<'a> {
    entries: &'a mut [u64],
    tag: u64,
}

impl Slots<'_> {
    fn get(&self, h: usize) -> u32 {
        let e = self.entries[h];
        if e >> 32 == self.tag {
            e as u32
        } else {
            0
        }
    }

    fn set(&mut self, h: usize, pos: u32) {
        self.entries[h] = self.tag << 32 | u64::from(pos);
    }
}

/// Compresses `input`; `None` if the result would not fit in `max_len` bytes (or the input is
/// too short to bother).
pub fn compress(input: &[u8], max_len: usize) -> Option<Vec<u8>> {
    if input.len() < 3 || max_len == 0 {
        return None;
    }
    TABLE.with(|t| {
        let mut t = t.borrow_mut();
        if t.entries.is_empty() {
            t.entries = vec![0; 1 << HASH_BITS];
        }
        // Tags start at 1, so a fresh (zeroed) entry never matches; on wrap-around the table
        // is cleared for real.
        t.call = t.call.wrapping_add(1);
        if t.call == 0 {
            t.entries.fill(0);
            t.call = 1;
        }
        let tag = u64::from(t.call);
        compress_with(&mut Slots { entries: &mut t.entries, tag }, input, max_len)
    })
}

fn compress_with(table: &mut Slots<'_>, input: &[u8], max_len: usize) -> Option<Vec<u8>> {
    let n = input.len();
    let mut out: Vec<u8> = Vec::with_capacity(max_len + 1);
    // `out` always ends with the open literal run: its control byte at `out.len() - lit - 1`.
    out.push(0);
    let mut lit = 0usize;
    let mut ip = 0usize;
    let mut window = u32::from(input[0]) << 8 | u32::from(input[1]);

    while ip + 2 < n {
        window = window << 8 | u32::from(input[ip + 2]);
        let h = slot(window);
        let candidate = table.get(h) as usize;
        table.set(h, ip as u32);
        let found = candidate > 0
            && candidate < ip
            && ip - candidate - 1 < MAX_OFFSET
            && input[candidate..candidate + 3] == input[ip..ip + 3];
        if !found {
            if out.len() >= max_len {
                return None;
            }
            lit += 1;
            out.push(input[ip]);
            ip += 1;
            if lit == MAX_LITERALS {
                close_run(&mut out, lit);
                lit = 0;
                out.push(0);
            }
            continue;
        }

        // A match: first make sure its 2-3 bytes (and the next run's control byte) fit.
        let pending = out.len() - usize::from(lit == 0);
        if out.len() + 4 >= max_len && pending + 4 >= max_len {
            return None;
        }
        let len = match_len(input, candidate, ip);
        if lit == 0 {
            out.pop();
        } else {
            close_run(&mut out, lit);
        }
        let offset = ip - candidate - 1;
        let code = len - 2;
        if code < 7 {
            out.push(((offset >> 8) + (code << 5)) as u8);
        } else {
            out.push(((offset >> 8) + (7 << 5)) as u8);
            out.push((code - 7) as u8);
        }
        out.push(offset as u8);
        lit = 0;
        out.push(0);

        ip += len;
        if ip + 2 >= n {
            break;
        }
        // Hash the two positions before the new one so that later matches can start there.
        ip -= 2;
        window = u32::from(input[ip]) << 8 | u32::from(input[ip + 1]);
        for _ in 0..2 {
            window = window << 8 | u32::from(input[ip + 2]);
            table.set(slot(window), ip as u32);
            ip += 1;
        }
    }

    // At most two bytes are left, which need at most three more output bytes.
    if out.len() + 3 > max_len {
        return None;
    }
    while ip < n {
        lit += 1;
        out.push(input[ip]);
        ip += 1;
        if lit == MAX_LITERALS {
            close_run(&mut out, lit);
            lit = 0;
            out.push(0);
        }
    }
    if lit == 0 {
        out.pop();
    } else {
        close_run(&mut out, lit);
    }
    (out.len() <= max_len).then_some(out)
}

/// Writes the control byte of the literal run of `lit` (1..=32) bytes that ends `out`.
fn close_run(out: &mut [u8], lit: usize) {
    let at = out.len() - lit - 1;
    out[at] = (lit - 1) as u8;
}

/// Length in bytes of the match of `input[ip..]` against `input[candidate..]`, whose first
/// three bytes are known to be equal. The match never extends into the last two input bytes,
/// except that, as in Valkey's unrolled loop, once 16 more bytes are known to match the
/// length may run up to the end of the input.
fn match_len(input: &[u8], candidate: usize, ip: usize) -> usize {
    let max = (input.len() - ip - 2).min(MAX_MATCH);
    let same = |i: usize| input[candidate + i] == input[ip + i];
    let mut len = 2;
    if max > 16 {
        for _ in 0..16 {
            len += 1;
            if !same(len) {
                return len;
            }
        }
    }
    loop {
        len += 1;
        if len >= max || !same(len) {
            return len;
        }
    }
}

/// Decompresses `packed`, which must expand to exactly `len` bytes. `None` if it is corrupt or
/// expands to another length. As in Valkey, an expected length of 0 accepts any input (its
/// decompressor returns 0 both for "nothing" and for "error", and 0 is what was asked).
pub fn decompress(packed: &[u8], len: usize) -> Option<Vec<u8>> {
    if len == 0 {
        return Some(Vec::new());
    }
    // A back reference of at most 3 bytes yields at most 264: a longer claim is a lie, and
    // must not be allocated.
    if len / 88 > packed.len() {
        return None;
    }
    match ::lzf::decompress(packed, len) {
        Ok(v) if v.len() == len => Some(v),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn unhex(h: &str) -> Vec<u8> {
        (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap()).collect()
    }

    /// DUMP payloads of `SET k <s>` captured from redis-server 7.0.15 (same LZF compressor as
    /// Valkey 8.0.1): type 0, `0xc3`, compressed length, original length, LZF data, footer.
    /// Our compressor must produce exactly that LZF data.
    #[test]
    fn matches_the_reference_compressor_byte_for_byte() {
        let lorem = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor".repeat(3);
        let tail19 = [&b"0123456789abcdefghi".repeat(2)[..], b"xy"].concat();
        let cases: [(&[u8], &str); 4] = [
            (&[b'a'; 100], "00c3094064016161e057000161610a00e8a3b507b06df271"),
            (&b"abc".repeat(10), "00c30b1e0361626361e00f020162630a008874be6d67e59d2a"),
            (
                &lorem,
                "00c3405740ea1f4c6f72656d20697073756d20646f6c6f722073697420616d65742c20636f6e731565637465\
                 7475722061646970697363696e6720656c69201c0273656420300f20656975736d6f642074656d706f724ce0\
                 904d016f720a00ecc56f250f6b7e61",
            ),
            (&tail19, "00c31b28133031323334353637383961626364656667686930e009120178790a0076bd6cf4f4456003"),
        ];
        for (input, dump) in cases {
            let dump = unhex(dump);
            let mut r = crate::rdb::Reader::new(&dump[2..]);
            let packed_len = crate::rdb::len::load_plain_len(&mut r).unwrap() as usize;
            assert_eq!(crate::rdb::len::load_plain_len(&mut r).unwrap() as usize, input.len());
            let reference = r.read_bytes(packed_len).unwrap();
            assert_eq!(compress(input, input.len() - 4).unwrap(), reference, "{:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn roundtrips_and_respects_the_limit() {
        let texts: Vec<Vec<u8>> = vec![
            b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor".repeat(30),
            vec![0u8; 70_000],
            (0..5000u32).flat_map(|i| (i % 251).to_le_bytes()).collect(),
        ];
        for t in texts {
            let c = compress(&t, t.len() - 4).expect("compressible");
            assert!(c.len() <= t.len() - 4);
            assert_eq!(decompress(&c, t.len()).unwrap(), t);
            assert_eq!(::lzf::decompress(&c, t.len()).unwrap(), t);
            // The same bytes cannot fit in less room.
            assert!(compress(&t, c.len() - 1).is_none());
        }
    }

    #[test]
    fn decompress_rejects_lies() {
        let c = compress(&[7u8; 1000], 996).unwrap();
        assert!(decompress(&c, 999).is_none());
        assert!(decompress(&c, 1001).is_none());
        assert!(decompress(&c, 1 << 40).is_none());
        assert_eq!(decompress(&c, 0), Some(vec![]));
        assert!(decompress(&[0x05, b'a'], 6).is_none());
        // A back reference before the start of the output.
        assert!(decompress(&[0x00, b'a', 0x20, 0x05], 4).is_none());
    }

    proptest! {
        #[test]
        fn any_input_roundtrips(data in proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), any::<u8>()], 3..3000)) {
            if let Some(c) = compress(&data, data.len()) {
                prop_assert!(c.len() <= data.len());
                prop_assert_eq!(decompress(&c, data.len()).unwrap(), data);
            }
        }

        #[test]
        fn garbage_never_panics(packed in proptest::collection::vec(any::<u8>(), 0..200), len in 0usize..5000) {
            let _ = decompress(&packed, len);
        }
    }
}
