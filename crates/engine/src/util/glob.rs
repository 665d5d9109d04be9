//! Glob-style pattern matching with Valkey's exact semantics (KEYS, SCAN MATCH, CONFIG GET,
//! PSUBSCRIBE, CLIENT KILL ...): `*`, `?`, `[abc]`, `[^a-z]`, `\x` escapes, and the same
//! treatment of malformed patterns (an unclosed `[` matches what it has seen so far).
//!
//! A pattern like `*a*a*a*a*b` against a long string would take exponential time with naive
//! backtracking; as in Valkey, once the rest of the pattern fails to match from every
//! position after a `*`, no earlier `*` is retried, which makes matching polynomial.

/// Deepest `*` nesting honoured; deeper patterns do not match (Valkey's abuse guard).
const MAX_NESTING: usize = 1000;

pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let mut skip_longer = false;
    match_impl(pattern, string, nocase, &mut skip_longer, 0)
}

fn eq(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

fn match_impl(mut p: &[u8], mut s: &[u8], nocase: bool, skip_longer: &mut bool, nesting: usize) -> bool {
    if nesting > MAX_NESTING {
        return false;
    }
    let at = |p: &[u8], i: usize| p.get(i).copied().unwrap_or(0);
    while !p.is_empty() && !s.is_empty() {
        match p[0] {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                while !s.is_empty() {
                    if match_impl(&p[1..], s, nocase, skip_longer, nesting + 1) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    s = &s[1..];
                }
                *skip_longer = true;
                return false;
            }
            b'?' => s = &s[1..],
            b'[' => {
                p = &p[1..];
                let not = at(p, 0) == b'^';
                if not {
                    p = &p[1..];
                }
                let mut matched = false;
                // `consumed` counts how far into `p` the class reaches; `p` is advanced past
                // the closing bracket (or left on the last byte if there is none) below.
                let mut i = 0;
                loop {
                    if at(p, i) == b'\\' && p.len() - i >= 2 {
                        i += 1;
                        if p[i] == s[0] {
                            matched = true;
                        }
                    } else if i < p.len() && p[i] == b']' {
                        break;
                    } else if i >= p.len() {
                        // Unclosed class: step back so the outer advance lands at the end.
                        i = i.saturating_sub(1);
                        break;
                    } else if p.len() - i >= 3 && p[i + 1] == b'-' {
                        let (mut start, mut end) = (p[i] as i8 as i32, p[i + 2] as i8 as i32);
                        let mut c = s[0] as i8 as i32;
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        if nocase {
                            start = lower(start);
                            end = lower(end);
                            c = lower(c);
                        }
                        i += 2;
                        if c >= start && c <= end {
                            matched = true;
                        }
                    } else if eq(p[i], s[0], nocase) {
                        matched = true;
                    }
                    i += 1;
                }
                p = &p[i.min(p.len())..];
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                s = &s[1..];
                if p.is_empty() {
                    // Unclosed class consumed the whole pattern.
                    return s.is_empty();
                }
            }
            b'\\' => {
                if p.len() >= 2 {
                    p = &p[1..];
                }
                if !eq(p[0], s[0], nocase) {
                    return false;
                }
                s = &s[1..];
            }
            c => {
                if !eq(c, s[0], nocase) {
                    return false;
                }
                s = &s[1..];
            }
        }
        p = &p[1..];
        if s.is_empty() {
            while !p.is_empty() && p[0] == b'*' {
                p = &p[1..];
            }
            break;
        }
    }
    p.is_empty() && s.is_empty()
}

fn lower(c: i32) -> i32 {
    if (b'A' as i32..=b'Z' as i32).contains(&c) {
        c + 32
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    fn m(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), false)
    }

    #[test]
    fn basics() {
        assert!(m("*", "anything"));
        // As in Valkey, a pattern never matches the empty string through its loop; KEYS and
        // SCAN special-case the lone `*` and so still return an empty key.
        assert!(!m("*", ""));
        assert!(m("a*", "a"));
        assert!(m("h?llo", "hello"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("h*llo", "heeeello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(m("h[b-a]llo", "hallo"));
        assert!(m("h\\*llo", "h*llo"));
        assert!(!m("h\\*llo", "hello"));
        assert!(m("foo*", "foo"));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(!m("a*b*c", "aXXbYY"));
        assert!(m("[\\]]", "]"));
        assert!(glob_match(b"HELLO", b"hello", true));
        assert!(glob_match(b"[A-Z]ello", b"hello", true));
    }

    #[test]
    fn malformed_patterns_behave_like_valkey() {
        // An unclosed class ends the pattern.
        assert!(m("a[bc", "ab"));
        assert!(!m("a[bc", "abx"));
        // A trailing backslash matches itself.
        assert!(m("a\\", "a\\"));
    }

    #[test]
    fn abusive_patterns_terminate_quickly() {
        let s = "a".repeat(5000);
        let p = "*a".repeat(200) + "b";
        let t = std::time::Instant::now();
        assert!(!m(&p, &s));
        assert!(t.elapsed().as_secs() < 2);
    }
}
