//! The relevance check, fast: a hand-written validating skip-scanner that finds the
//! event id where [`super::probe`] finds it (same shapes, same precedence, same
//! parsing) at a fraction of the cost: string contents are skipped eight bytes at a
//! time (quote, backslash, control byte or non-ASCII byte found in one word test), no
//! visitor calls, no allocation.
//!
//! It answers only when sure. It is at least as strict as `serde_json`'s value
//! parser: every document it accepts, `serde_json::from_slice::<Value>` accepts
//! too, so an object it drops as irrelevant is one the full path would drop without
//! an error. Whatever it does not handle exactly (an exponent, a number longer than
//! [`MAX_NUMBER`], a `\u` surrogate, an escaped key where keys are matched, nesting
//! deeper than [`MAX_DEPTH`], invalid JSON) makes it answer `None`, and the caller
//! asks the serde probe, which reports what is wrong.

use super::probe::{Candidate, Key, Top, id_of_text};

/// Deepest nesting scanned (serde_json's own limit is 128).
const MAX_DEPTH: u32 = 100;
/// Longest number scanned: a longer one may be out of `f64`'s range for serde_json.
const MAX_NUMBER: usize = 64;

/// Which of the 16 bytes at `b[i..]` end a plain run of string content: `"`, `\\`,
/// a control byte (< 0x20) or a non-ASCII byte, as a bit mask (bit k for byte
/// i + k); `None` when fewer than 16 bytes are left.
#[inline]
fn block_specials(b: &[u8], i: usize) -> Option<u32> {
    let block = b.get(i..i + 16)?;
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: SSE2 is part of every x86_64 target.
        Some(unsafe { block_specials_sse2(block) })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let mut mask = 0;
        for (k, &c) in block.iter().enumerate() {
            if matches!(c, b'"' | b'\\' | 0..=0x1f | 0x80..) {
                mask |= 1 << k;
            }
        }
        Some(mask)
    }
}

/// [`block_specials`] of a 16-byte `block` in four vector instructions.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
#[inline]
fn block_specials_sse2(block: &[u8]) -> u32 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    assert!(block.len() >= 16);
    // SAFETY: `block` has 16 readable bytes (asserted); the load is unaligned.
    let v = unsafe { _mm_loadu_si128(block.as_ptr().cast::<__m128i>()) };
    let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
    let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
    // As signed bytes, control bytes (0..0x20) and non-ASCII ones (negative) are
    // exactly those below 0x20.
    let low = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));
    _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), low)) as u32
}

/// The string whose opening quote is at `b[open]`: the index past its closing
/// quote and whether it is plain (no escape); `None` when it is invalid (a control
/// byte, invalid UTF-8, a bad escape), unterminated, or has a `\\u` surrogate.
///
/// Sixteen bytes at a time; every special byte of a block is handled from the
/// block's mask, so runs of escapes (`\\r\\n\\t`) cost no reload.
fn string_end(b: &[u8], open: usize) -> Option<(usize, bool)> {
    let mut i = open + 1;
    let mut plain = true;
    loop {
        let Some(mut mask) = block_specials(b, i) else {
            // Fewer than 16 bytes left: one at a time.
            match *b.get(i)? {
                b'"' => return Some((i + 1, plain)),
                b'\\' => {
                    plain = false;
                    i = escape(b, i)?;
                }
                0..=0x1f => return None,
                0x80.. => i = utf8_char(b, i)?,
                _ => i += 1,
            }
            continue;
        };
        let mut next = i + 16;
        while mask != 0 {
            let at = i + mask.trailing_zeros() as usize;
            let after = match b[at] {
                b'"' => return Some((at + 1, plain)),
                b'\\' => {
                    plain = false;
                    match b.get(at + 1) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => at + 2,
                        _ => escape(b, at)?,
                    }
                }
                0..=0x1f => return None,
                _ => utf8_char(b, at)?,
            };
            // The bytes the escape or character took are not specials of their own.
            let taken = after - i;
            if taken >= 16 {
                next = after;
                break;
            }
            mask &= !0 << taken;
        }
        i = next;
    }
}

/// What the scan of one object found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Verdict {
    /// The full path drops it (no relevant event id).
    pub irrelevant: bool,
    /// The full path reads it as a flat (NXLog/OTRF) object: no `winlog` object, no
    /// `Event.System` object.
    pub flat: bool,
}

/// Where one top-level member lies in the object: the contents of its key (between
/// the quotes) and its whole value, as byte ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Span {
    pub key: (usize, usize),
    pub value: (usize, usize),
}

/// The verdict on `bytes` (one JSON object, nothing after it but whitespace), or
/// `None` when the scanner is not sure (see the module doc). `members` gets the
/// object's top-level members, in order (only meaningful with a verdict).
pub(super) fn inspect(bytes: &[u8], members: &mut Vec<Span>) -> Option<Verdict> {
    let mut scan = Scan { b: bytes, i: 0 };
    scan.ws();
    let top = scan.top(members)?;
    scan.ws();
    if scan.i != bytes.len() {
        return None;
    }
    Some(Verdict {
        irrelevant: !top
            .event_id()
            .is_some_and(super::super::map::is_relevant_event_id),
        flat: top.winlog.is_none() && top.event_system.is_none(),
    })
}

struct Scan<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scan<'a> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.i += 1)
    }

    /// A string (at its opening quote); `Some(plain)`, plain when it has no escape.
    fn string(&mut self) -> Option<bool> {
        let (end, plain) = string_end(self.b, self.i)?;
        self.i = end;
        Some(plain)
    }

    /// A key (at its quote) and the `:` after it: its raw bytes, `None` when it has
    /// an escape (then it cannot be matched without decoding).
    fn key(&mut self) -> Option<Option<&'a [u8]>> {
        if self.peek()? != b'"' {
            return None;
        }
        let start = self.i + 1;
        let plain = self.string()?;
        let raw = &self.b[start..self.i - 1];
        self.ws();
        self.expect(b':')?;
        self.ws();
        Some(plain.then_some(raw))
    }

    /// After a member's value: `Some(true)` when another member follows (the
    /// cursor at its key), `Some(false)` at the end of the object.
    fn next_member(&mut self, close: u8) -> Option<bool> {
        self.ws();
        match self.peek()? {
            b',' => {
                self.i += 1;
                self.ws();
                Some(true)
            }
            c if c == close => {
                self.i += 1;
                Some(false)
            }
            _ => None,
        }
    }

    /// Opens an object or array (at its bracket): `Some(true)` when it has members
    /// (the cursor at the first), `Some(false)` when empty (the cursor after it).
    fn open(&mut self, depth: u32, close: u8) -> Option<bool> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.i += 1;
        self.ws();
        if self.peek()? == close {
            self.i += 1;
            return Some(false);
        }
        Some(true)
    }

    /// Skips any value, validating it. `depth`: the nesting of its container.
    fn value(&mut self, depth: u32) -> Option<()> {
        match self.peek()? {
            b'"' => {
                self.string()?;
            }
            b'{' => {
                let mut more = self.open(depth + 1, b'}')?;
                while more {
                    self.key()?;
                    self.value(depth + 1)?;
                    more = self.next_member(b'}')?;
                }
            }
            b'[' => {
                let mut more = self.open(depth + 1, b']')?;
                while more {
                    self.value(depth + 1)?;
                    more = self.next_member(b']')?;
                }
            }
            b't' => self.literal(b"true")?,
            b'f' => self.literal(b"false")?,
            b'n' => self.literal(b"null")?,
            b'-' | b'0'..=b'9' => {
                self.number()?;
            }
            _ => return None,
        }
        Some(())
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.i + word.len();
        (self.b.get(self.i..end)? == word).then(|| self.i = end)
    }

    /// A number as serde_json reads it, returned as the event-id candidate it is:
    /// `Some(Some(n))` for a non-negative integer that fits a u32, `Some(None)` for
    /// any other number (negative, fraction, too large).
    fn number(&mut self) -> Option<Option<u32>> {
        let b = self.b;
        let start = self.i;
        let mut i = start;
        let negative = b[i] == b'-';
        if negative {
            i += 1;
        }
        let digits = i;
        // The integer part's value, read as it goes by (only used when it has at
        // most 10 digits, so it cannot overflow).
        let mut value = 0u64;
        match *b.get(i)? {
            b'0' => i += 1,
            b'1'..=b'9' => {
                while let Some(&c @ b'0'..=b'9') = b.get(i) {
                    value = value.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
                    i += 1;
                }
            }
            _ => return None,
        }
        let int_end = i;
        match b.get(i) {
            // A leading zero followed by a digit is not JSON.
            Some(b'0'..=b'9') => return None,
            Some(b'.') => {
                i += 1;
                let frac = i;
                while let Some(b'0'..=b'9') = b.get(i) {
                    i += 1;
                }
                if i == frac {
                    return None;
                }
            }
            _ => {}
        }
        // Exponents: serde_json's range checks are not repeated here.
        if matches!(b.get(i), Some(b'e' | b'E')) || i - start > MAX_NUMBER {
            return None;
        }
        self.i = i;
        if negative || int_end != i || int_end - digits > 10 {
            return Some(None);
        }
        Some(u32::try_from(value).ok())
    }

    /// A value read as an event-id candidate (scalars parsed, anything else
    /// skipped); `text_field`: an object's `#text` scalar counts (evtx_dump).
    fn candidate(&mut self, depth: u32, text_field: bool) -> Option<Candidate> {
        match self.peek()? {
            b'"' => {
                let start = self.i + 1;
                if !self.string()? {
                    return None;
                }
                let text = std::str::from_utf8(&self.b[start..self.i - 1]).ok()?;
                Some(Some(id_of_text(text)))
            }
            b'-' | b'0'..=b'9' => Some(Some(self.number()?)),
            b't' => self.literal(b"true").map(|()| Some(None)),
            b'f' => self.literal(b"false").map(|()| Some(None)),
            b'{' if text_field => {
                let mut found = None;
                let mut more = self.open(depth + 1, b'}')?;
                while more {
                    if Key::of(self.key()??) == Key::Text {
                        found = self.candidate(depth + 1, false)?;
                    } else {
                        self.value(depth + 1)?;
                    }
                    more = self.next_member(b'}')?;
                }
                Some(found)
            }
            _ => self.value(depth).map(|()| None),
        }
    }

    /// A value that counts only as an object: `Some(None)` when it is something
    /// else (skipped), else `Some(Some(r))` with `member` called on each member
    /// (the cursor at the value of the key it gets) and `r` the state it leaves.
    fn object_with<T: Default>(
        &mut self,
        depth: u32,
        mut member: impl FnMut(&mut Self, Key, &mut T) -> Option<()>,
    ) -> Option<Option<T>> {
        if self.peek()? != b'{' {
            return self.value(depth).map(|()| None);
        }
        let mut state = T::default();
        let mut more = self.open(depth + 1, b'}')?;
        while more {
            let k = Key::of(self.key()??);
            member(self, k, &mut state)?;
            more = self.next_member(b'}')?;
        }
        Some(Some(state))
    }

    /// An object's child `want` as a candidate (`winlog.event_id`, `event.code`).
    fn child_candidate(&mut self, depth: u32, want: Key) -> Option<Option<Candidate>> {
        self.object_with(depth, |scan, k, found: &mut Candidate| {
            if k == want {
                *found = scan.candidate(depth + 1, false)?;
            } else {
                scan.value(depth + 1)?;
            }
            Some(())
        })
    }

    /// `Event`: `Some(System.EventID candidate)` when it is an object with a
    /// `System` object.
    fn event_system(&mut self, depth: u32) -> Option<Option<Candidate>> {
        let system = self.object_with(depth, |scan, k, system: &mut Option<Candidate>| {
            if k == Key::System {
                *system = scan.object_with(depth + 1, |scan, k, id: &mut Candidate| {
                    if k == Key::EventIdUpper {
                        *id = scan.candidate(depth + 2, true)?;
                    } else {
                        scan.value(depth + 2)?;
                    }
                    Some(())
                })?;
            } else {
                scan.value(depth + 1)?;
            }
            Some(())
        })?;
        Some(system.flatten())
    }

    /// The top-level object, its members' places into `members`; later duplicates
    /// replace earlier ones, as in a `serde_json::Value` map.
    fn top(&mut self, members: &mut Vec<Span>) -> Option<Top> {
        members.clear();
        if self.peek()? != b'{' {
            return None;
        }
        let mut top = Top::default();
        let mut more = self.open(1, b'}')?;
        while more {
            let key_start = self.i + 1;
            let raw = self.key()??;
            let key_end = key_start + raw.len();
            let value_start = self.i;
            match Key::of(raw) {
                Key::Winlog => top.winlog = self.child_candidate(1, Key::EventIdSnake)?,
                Key::EventLower => {
                    top.event_code = self.child_candidate(1, Key::Code)?.flatten();
                }
                Key::EventUpper => top.event_system = self.event_system(1)?,
                Key::EventIdUpper => top.flat[0] = self.candidate(1, false)?,
                Key::EventIdCamel => top.flat[1] = self.candidate(1, false)?,
                Key::EventIdSnake => top.flat[2] = self.candidate(1, false)?,
                Key::Id => top.flat[3] = self.candidate(1, false)?,
                _ => self.value(1)?,
            }
            members.push(Span {
                key: (key_start, key_end),
                value: (value_start, self.i),
            });
            more = self.next_member(b'}')?;
        }
        Some(top)
    }
}

/// After the escape at `b[i]` (a backslash): the index past it, `None` when it is
/// invalid or a `\u` surrogate (left to serde_json).
fn escape(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i + 1)? {
        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Some(i + 2),
        b'u' => {
            let hex = std::str::from_utf8(b.get(i + 2..i + 6)?).ok()?;
            if !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            let unit = u16::from_str_radix(hex, 16).ok()?;
            (!(0xD800..=0xDFFF).contains(&unit)).then_some(i + 6)
        }
        _ => None,
    }
}

/// After the non-ASCII character starting at `b[i]`: the index past it, `None`
/// when it is not valid UTF-8.
fn utf8_char(b: &[u8], i: usize) -> Option<usize> {
    let width = match b[i] {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return None,
    };
    std::str::from_utf8(b.get(i..i + width)?).ok()?;
    Some(i + width)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Strings of pieces that straddle the 16-byte blocks at every offset: the
    /// scanner's end and verdict against serde_json reading the same string.
    #[test]
    fn string_ends_agree_with_serde_json_at_every_block_offset() {
        let pieces: &[&[u8]] = &[
            b"a",
            b"\\\"",
            b"\\\\",
            b"\\n",
            b"\\/",
            b"\\u00e9",
            b"\\u0000",
            b"\\ud83d\\ude00",
            b"\\ud83d",
            b"\\x",
            b"\\u12",
            b"\xc3\xa9",
            b"\xe4\xb8\xad",
            b"\xf0\x9f\x98\x80",
            b"\xc3",
            b"\xff",
            b"\xed\xa0\x80",
            b"\x01",
            b"\t",
            b"\"",
        ];
        let mut rng = crate::test_rng::XorShift::new(0x9e37_79b9_7f4a_7c15);
        let mut next = |n: usize| rng.below(n);
        let (mut accepted, mut rejected) = (0, 0);
        for _ in 0..20_000 {
            let mut doc = b"\"".to_vec();
            doc.extend(std::iter::repeat_n(b'x', next(40)));
            for _ in 0..next(6) {
                doc.extend_from_slice(pieces[next(pieces.len())]);
                doc.extend(std::iter::repeat_n(b'y', next(20)));
            }
            doc.push(b'"');
            doc.extend(std::iter::repeat_n(b' ', next(20)));
            let serde_end = {
                let mut stream = serde_json::Deserializer::from_slice(&doc).into_iter::<String>();
                match stream.next() {
                    Some(Ok(_)) => Some(stream.byte_offset()),
                    _ => None,
                }
            };
            let surrogate = doc.windows(3).any(|w| w == b"\\ud" || w == b"\\uD");
            match string_end(&doc, 0) {
                Some((end, plain)) => {
                    accepted += 1;
                    let serde_end = serde_end.expect("serde_json rejects it");
                    assert_eq!(end, serde_end, "{}", String::from_utf8_lossy(&doc));
                    assert_eq!(plain, !doc[..end].contains(&b'\\'));
                }
                None => {
                    rejected += 1;
                    assert!(
                        serde_end.is_none() || surrogate,
                        "{}",
                        String::from_utf8_lossy(&doc)
                    );
                }
            }
        }
        assert!(
            accepted > 2000 && rejected > 2000,
            "{accepted} / {rejected}"
        );
    }
}
