//! Text made from log bytes: what is not UTF-8 is kept, lossily, as U+FFFD.

/// `bytes` as a `String`, invalid UTF-8 replaced by U+FFFD, in the same buffer when
/// the bytes are valid.
///
/// Most of what the sources decode (arguments, paths, program names) is ASCII, and
/// an ASCII check costs a fraction of UTF-8 validation on such short strings (the
/// audit reader makes several per exec), so it is tried first.
pub(crate) fn lossy_string(bytes: Vec<u8>) -> String {
    if bytes.is_ascii() {
        // SAFETY: ASCII is valid UTF-8.
        return unsafe { String::from_utf8_unchecked(bytes) };
    }
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// `a == b`, without calling `memcmp` when both are empty.
///
/// An empty `String` points at a dangling address, and glibc's AVX-512 `memcmp`
/// still issues a masked load from it for a length of 0: the suppressed fault costs
/// a microcode assist. The engine compares every event's host (empty in most audit
/// logs, which carry no `node=`) with the last one, and perf put 5.5 % of a one-thread
/// auditd hunt on that load.
#[inline]
pub(crate) fn same_text(a: &str, b: &str) -> bool {
    a.len() == b.len() && (a.is_empty() || a == b)
}

#[cfg(test)]
mod tests {
    use super::{lossy_string, same_text};

    #[test]
    fn same_text_is_string_equality() {
        let words = ["", "a", "b", "ab", "host-1", "host-2", "\u{e9}"];
        for a in words {
            for b in words {
                assert_eq!(same_text(a, b), a == b, "{a:?} {b:?}");
                assert_eq!(same_text(&String::from(a), b), a == b, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn ascii_utf8_and_invalid_bytes_become_the_same_text_as_std_makes() {
        let cases: [&[u8]; 8] = [
            b"",
            b"/usr/bin/nohup",
            "caf\u{e9} \u{1F600}".as_bytes(),
            b"\xff\xfe",
            b"abc\xc3",
            b"0123456789abcdef\x80",
            b"\x7f\x00\x01 control bytes stay",
            "\u{202E}rtl".as_bytes(),
        ];
        for bytes in cases {
            assert_eq!(
                lossy_string(bytes.to_vec()),
                String::from_utf8_lossy(bytes),
                "{bytes:?}"
            );
        }
        // Every short string over an alphabet of ASCII, lead and continuation bytes.
        let alphabet = [b'a', 0x7f, 0x80, 0xbf, 0xc3, 0xe2, 0xf0, 0xff];
        for len in 0..=4u32 {
            for mut n in 0..alphabet.len().pow(len) {
                let mut bytes = Vec::new();
                for _ in 0..len {
                    bytes.push(alphabet[n % alphabet.len()]);
                    n /= alphabet.len();
                }
                assert_eq!(lossy_string(bytes.clone()), String::from_utf8_lossy(&bytes));
            }
        }
    }
}
