//! Fuzzes `resp::RequestParser`, the code that reads every byte a client sends.
//!
//! The input is fed in arbitrary chunks (as reads from a socket would deliver it), with the
//! consumed prefix sometimes dropped and the parser rebased (as the connection does to keep its
//! buffer small), under random limits. Checked:
//! - no panic, no unbounded allocation;
//! - `consumed()` never passes the end of the buffer, and the size hint for a pending bulk
//!   argument is positive;
//! - a multibulk request re-encodes to a prefix of the bytes it was parsed from (up to the two
//!   line-terminator bytes, which, like Valkey, the parser skips without checking);
//! - chunking and rebasing change nothing: the commands and the final error are the ones the
//!   same bytes give when parsed in one piece.

#![no_main]

use libfuzzer_sys::fuzz_target;
use resp::{Limits, Parsed, ProtocolError, RequestParser};

/// The fuzzer's bytes: an 8-byte header that sets the limits and how the data is read, then
/// the data itself (so that a seed is a header plus plain RESP text).
struct Input<'a> {
    /// Index into [`MAX_BULK`].
    max_bulk: u8,
    auth_required: bool,
    /// Sizes of successive reads, cycled; 0 reads everything left.
    chunks: [u8; 4],
    /// Bit `i % 8`: drop the consumed bytes and rebase after read `i`.
    rebase_mask: u8,
    data: &'a [u8],
}

impl<'a> Input<'a> {
    fn parse(raw: &'a [u8]) -> Option<Input<'a>> {
        let (h, data) = (raw.get(..8)?, &raw[8..]);
        Some(Input {
            max_bulk: h[0],
            auth_required: h[1] & 1 == 1,
            chunks: [h[2], h[3], h[4], h[5]],
            rebase_mask: h[6],
            data,
        })
    }
}

const MAX_BULK: [u64; 8] = [0, 1, 3, 16, 100, 16 * 1024, 512 * 1024 * 1024, u64::MAX];

#[derive(Debug, PartialEq)]
enum End {
    /// All bytes read; waiting for more.
    Incomplete,
    Error(ProtocolError),
}

/// Parses everything available in `buf`, appending commands to `out`; `Some` when the
/// connection would be closed.
fn drain(p: &mut RequestParser, buf: &[u8], limits: &Limits, out: &mut Vec<Vec<Vec<u8>>>) -> Option<ProtocolError> {
    loop {
        assert!(p.consumed() <= buf.len(), "consumed {} > buffer {}", p.consumed(), buf.len());
        let start = p.consumed();
        match p.parse(buf, limits) {
            Parsed::Command => {
                let mut args = Vec::new();
                p.args(buf, &mut args);
                assert!(!args.is_empty(), "a command with no arguments");
                assert_eq!(args.len(), p.argc());
                for (i, a) in args.iter().enumerate() {
                    assert_eq!(*a, p.arg(buf, i));
                }
                if buf[start] == b'*' {
                    check_reencoding(&buf[start..], &args);
                }
                out.push(args.iter().map(|a| a.to_vec()).collect());
                p.finish();
            }
            Parsed::Empty => {}
            Parsed::Incomplete => {
                if let Some(n) = p.bytes_needed_hint(buf.len()) {
                    assert!(n > 0, "incomplete bulk but nothing needed");
                }
                return None;
            }
            Parsed::Error(e) => {
                assert!(!e.message().is_empty());
                return Some(e);
            }
        }
    }
}

/// `*<argc>\r\n` then `$<len>\r\n<arg>\r\n` per argument, with the bytes where a `\r\n` is
/// expected not compared (the parser skips them unchecked, as Valkey does).
fn check_reencoding(input: &[u8], args: &[&[u8]]) {
    let mut expect: Vec<Option<u8>> = Vec::new();
    let push_line = |expect: &mut Vec<Option<u8>>, tag: u8, n: usize| {
        expect.push(Some(tag));
        expect.extend(n.to_string().bytes().map(Some));
        expect.extend([None, None]);
    };
    push_line(&mut expect, b'*', args.len());
    for a in args {
        push_line(&mut expect, b'$', a.len());
        expect.extend(a.iter().copied().map(Some));
        expect.extend([None, None]);
    }
    assert!(input.len() >= expect.len(), "request longer than its input");
    for (i, (e, &got)) in expect.iter().zip(input).enumerate() {
        if let Some(e) = e {
            assert_eq!(*e, got, "re-encoded request differs from the input at byte {i}");
        }
    }
}

fuzz_target!(|raw: &[u8]| {
    let Some(input) = Input::parse(raw) else { return };
    let limits = Limits {
        proto_max_bulk_len: MAX_BULK[usize::from(input.max_bulk) % MAX_BULK.len()],
        auth_required: input.auth_required,
    };

    // Reference: everything in one piece.
    let mut whole = Vec::new();
    let whole_end = match drain(&mut RequestParser::new(), input.data, &limits, &mut whole) {
        Some(e) => End::Error(e),
        None => End::Incomplete,
    };

    // The same bytes in chunks, rebasing as a connection does.
    let mut p = RequestParser::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut chunked = Vec::new();
    let mut chunked_end = End::Incomplete;
    let mut fed = 0;
    let mut read = 0;
    while fed < input.data.len() {
        let size = match input.chunks[read % 4] {
            0 => input.data.len(),
            c => usize::from(c),
        };
        let end = (fed + size).min(input.data.len());
        buf.extend_from_slice(&input.data[fed..end]);
        fed = end;
        if let Some(e) = drain(&mut p, &buf, &limits, &mut chunked) {
            chunked_end = End::Error(e);
            break;
        }
        if input.rebase_mask & (1 << (read % 8)) != 0 {
            let n = p.consumed();
            buf.drain(..n);
            p.rebase(n);
            assert_eq!(p.consumed(), 0);
        }
        read += 1;
    }

    // A line longer than the inline limit is rejected as soon as that many bytes are buffered
    // without a newline, so reading in pieces may fail earlier than reading at once (Valkey
    // behaves the same way); otherwise the results must be identical.
    let early_limit = matches!(
        chunked_end,
        End::Error(
            ProtocolError::TooBigInlineRequest | ProtocolError::TooBigMultibulkCount | ProtocolError::TooBigBulkCount
        )
    );
    if early_limit && chunked_end != whole_end {
        assert!(whole.starts_with(&chunked), "chunked parse produced commands the whole parse did not");
    } else {
        assert_eq!(chunked, whole, "chunking changed the commands");
        assert_eq!(chunked_end, whole_end, "chunking changed the outcome");
    }
});
