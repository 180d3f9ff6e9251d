//! One audit record: the `[node=N ]type=T msg=audit(S.mmm:SERIAL): fields[<0x1D>ENRICHED]`
//! line auditd writes (and the same inside a syslog line or the kernel's printk),
//! split into its header and its `key=value` fields.

use std::sync::LazyLock;

use memchr::memmem;

use crate::text::lossy_string;

/// The header and body of one audit record. Borrowed from the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    /// `node=` (auditd `name_format`), or the host of a syslog wrapper.
    pub node: Option<&'a [u8]>,
    /// Record type name, numeric types mapped to names (`1300` → `SYSCALL`).
    pub kind: &'a [u8],
    /// Event time in milliseconds since the epoch.
    pub time_ms: i64,
    pub serial: u64,
    /// Raw fields, up to the enrichment separator.
    pub body: &'a [u8],
    /// Enriched (interpreted, upper-case) fields after the 0x1D separator, if any.
    pub enriched: &'a [u8],
}

/// Parses one line into a record, or `None` when it carries no audit record.
pub fn parse_record(line: &[u8]) -> Option<Record<'_>> {
    parse_record_if(line, |_| true).ok()
}

/// Why [`parse_record_if`] returned no record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoRecord {
    /// A record of a type `wanted` refused; the rest of it was not parsed.
    Unwanted,
    /// Not an audit record (or a malformed one).
    Invalid,
}

/// Like [`parse_record`], but stops as soon as the record type is known and
/// `wanted` refuses it: most records of a busy log are of types sighunt never reads,
/// and this skips everything after their type.
pub fn parse_record_if(
    line: &[u8],
    wanted: impl Fn(&[u8]) -> bool,
) -> Result<Record<'_>, NoRecord> {
    parse_header_if(line, wanted).map(Header::into_record)
}

/// A record's header: what decides its fate (type, host, event), and its unsplit
/// rest, so a record of an event already decided costs no scan of its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'a> {
    pub node: Option<&'a [u8]>,
    pub kind: &'a [u8],
    pub time_ms: i64,
    pub serial: u64,
    /// Fields and enrichment, after `): `.
    rest: &'a [u8],
}

impl<'a> Header<'a> {
    /// The whole record: the body split from its enrichment.
    pub fn into_record(self) -> Record<'a> {
        let (body, enriched) = split_enrichment(self.rest);
        Record {
            node: self.node,
            kind: self.kind,
            time_ms: self.time_ms,
            serial: self.serial,
            body,
            enriched,
        }
    }
}

/// The header of the record on `line`, unless `wanted` refuses its type.
#[inline(always)]
pub fn parse_header_if(
    line: &[u8],
    wanted: impl Fn(&[u8]) -> bool,
) -> Result<Header<'_>, NoRecord> {
    let (type_at, kind_end, audit_at) = locate_header(line).ok_or(NoRecord::Invalid)?;
    let kind_end = match kind_end {
        Some(end) => end,
        None => {
            type_at
                + 5
                + memchr::memchr(b' ', &line[type_at + 5..audit_at]).ok_or(NoRecord::Invalid)?
        }
    };
    let kind = map_numeric_type(&line[type_at + 5..kind_end]);
    if !wanted(kind) {
        return Err(NoRecord::Unwanted);
    }

    let mut node = None;
    let head = trim_end(&line[..type_at]);
    if !head.is_empty() {
        if let Some(n) = NODE.rfind(head) {
            if n == 0 || head[n - 1] == b' ' {
                node = Some(unquote(&head[n + 5..]));
            }
        }
        if node.is_none() {
            node = syslog_host(head);
        }
    }

    let rest = &line[audit_at + 6..];
    let (time_ms, serial, close) = parse_stamp(rest).ok_or(NoRecord::Invalid)?;
    let mut rest = &rest[close + 1..];
    rest = rest.strip_prefix(b":").unwrap_or(rest);
    Ok(Header {
        node,
        kind,
        time_ms,
        serial,
        rest: trim_start(rest),
    })
}

// Searchers built once: `memmem::find` would build one per call, per line.
static MSG_AUDIT: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(b"msg=audit("));
static PRINTK_AUDIT: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(b" audit("));
static TYPE: LazyLock<memmem::FinderRev<'static>> =
    LazyLock::new(|| memmem::FinderRev::new(b"type="));
static NODE: LazyLock<memmem::FinderRev<'static>> =
    LazyLock::new(|| memmem::FinderRev::new(b"node="));

/// Where `type=` starts, where the type ends (when already known), and where
/// `audit(` starts. auditd's own lines (`[node=N ]type=T msg=audit(`) are
/// recognised without a search (the words are a few bytes: a register scan, not a
/// vector search, whose setup costs more); anything else (syslog-wrapped, printk)
/// by the first `msg=audit(` (or ` audit(`) and the last `type=` before it.
#[inline(always)]
fn locate_header(line: &[u8]) -> Option<(usize, Option<usize>, usize)> {
    let type_at = if line.starts_with(b"type=") {
        Some(0)
    } else if line.starts_with(b"node=") {
        let sp = find_space_or(line, 0, b' ');
        (sp < line.len() && line[sp + 1..].starts_with(b"type=")).then_some(sp + 1)
    } else {
        None
    };
    if let Some(t) = type_at {
        let sp = find_space_or(line, t, b' ');
        if sp < line.len() && line[sp + 1..].starts_with(b"msg=audit(") {
            return Some((t, Some(sp), sp + 1 + 4));
        }
    }
    let audit_at = MSG_AUDIT
        .find(line)
        .map(|i| i + 4)
        .or_else(|| PRINTK_AUDIT.find(line).map(|i| i + 1))?;
    let type_at = TYPE.rfind(&line[..audit_at])?;
    Some((type_at, None, audit_at))
}

/// `S.mmm:SERIAL)…` → (milliseconds, serial, index of the `)`), in one pass: the
/// stamp is the first `)`'s prefix; its first `:` splits time from serial, and the
/// time's first `.` seconds from the fraction (of which three digits are read).
/// Public only for the `auditd_hot` benchmark.
#[doc(hidden)]
#[inline(always)]
pub fn parse_stamp(s: &[u8]) -> Option<(i64, u64, usize)> {
    // The kernel's own shape, `ssssssssss.mmm:`, read without a search from two
    // words: the first eight digits in one, `ss.mmm:` checked and valued in the
    // other; anything else takes the general path below (which gives the same
    // result on this shape).
    if let (Some(w0), Some(w1)) = (s.get(..8), s.get(8..16)) {
        // `ss.mmm:` XOR its pattern: the digits' values, zero at `.` and `:`; the
        // eighth byte (the serial's first) is masked off.
        const PATTERN: u64 = u64::from_le_bytes(*b"00.000:\0");
        const LOW7: u64 = 0x00FF_FFFF_FFFF_FFFF;
        const PUNCT: u64 = 0x00FF_0000_00FF_0000;
        let d = (u64::from_le_bytes(w1.try_into().unwrap_or([0; 8])) ^ PATTERN) & LOW7;
        // Every byte at most 9 (with no carry between bytes), `.` and `:` exact.
        let over9 =
            (((d & 0x7F7F_7F7F_7F7F_7F7F) + 0x7676_7676_7676_7676) | d) & 0x8080_8080_8080_8080;
        if over9 == 0 && d & PUNCT == 0 {
            if let Some(high) = eight_digits(w0.try_into().unwrap_or([0; 8])) {
                let digit = |k: u32| (d >> (8 * k)) as i64 & 0xFF;
                let ms = high as i64 * 100_000
                    + digit(0) * 10_000
                    + digit(1) * 1_000
                    + digit(3) * 100
                    + digit(4) * 10
                    + digit(5);
                if let Some((len, serial)) = short_digits(&s[15..], b')') {
                    return Some((ms, serial, 15 + len));
                }
                let (len, serial) = leading_u64(&s[15..]);
                let close = 15 + len;
                if *s.get(close)? != b')' {
                    return None;
                }
                return Some((ms, serial?, close));
            }
        }
    }
    // Seconds: digits up to `.` or `:`, read and valued in the same loop.
    let (i, secs) = leading_u64(s);
    if !matches!(s.get(i), Some(b'.' | b':')) {
        return None;
    }
    let secs = secs?;
    let mut i = i;
    let mut ms = 0i64;
    if s[i] == b'.' {
        i += 1;
        let frac = i;
        while !matches!(*s.get(i)?, b':' | b')') {
            i += 1;
        }
        if s[i] == b')' {
            return None;
        }
        for (k, d) in s[frac..i].iter().take(3).enumerate() {
            if !d.is_ascii_digit() {
                return None;
            }
            ms += i64::from(d - b'0') * [100, 10, 1][k];
        }
    }
    i += 1; // the `:`
    // The serial: digits up to the `)` (a plain loop: a vector search costs more
    // than the dozen bytes it would skip).
    let (len, serial) = leading_u64(&s[i..]);
    let close = i + len;
    if *s.get(close)? != b')' {
        return None;
    }
    let serial = serial?;
    // As the kernel never writes it, but as before: wrapping, then checked.
    let secs = secs as i64;
    Some((secs.checked_mul(1000)?.checked_add(ms)?, serial, close))
}

/// One to seven digits closed by `close` (a serial's `)`, a number field's space),
/// read from one eight-byte word (SWAR): (their length, their value); `None` for
/// anything else (longer, empty, not closed, fewer than eight bytes left), which
/// the digit loop then reads.
#[inline(always)]
pub(super) fn short_digits(s: &[u8], close: u8) -> Option<(usize, u64)> {
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    const NIBBLES: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    let w = u64::from_le_bytes(s.get(..8)?.try_into().ok()?);
    // A byte is a digit when its high nibble is 3 and adding 6 to its low one does
    // not carry; the lowest flagged byte is exact (borrows only move upwards).
    let d = w.wrapping_sub(ZEROS);
    let not_digit = ((w & NIBBLES) ^ ZEROS) | (d.wrapping_add(0x0606_0606_0606_0606) & NIBBLES);
    if not_digit == 0 {
        return None;
    }
    let len = (not_digit.trailing_zeros() / 8) as usize;
    if len == 0 || s[len] != close {
        return None;
    }
    // The digits moved to the top of the word, `0`s below them: the lowest byte is
    // the most significant digit for `eight_digits`.
    let shift = 8 * (8 - len as u32);
    let padded = (w << shift) | (ZEROS >> (64 - shift));
    Some((len, eight_digits(padded.to_le_bytes())?))
}

/// The value of eight ASCII digits read in one register (SWAR), or `None` if any
/// byte is not a digit: the stamp's leading seconds without a loop per digit.
#[inline(always)]
fn eight_digits(chunk: [u8; 8]) -> Option<u64> {
    const NIBBLES: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    let w = u64::from_le_bytes(chunk);
    // Every byte 0x30..=0x3F, and none past `9` (adding 6 would carry into the
    // high nibble).
    let d = w.wrapping_sub(0x3030_3030_3030_3030);
    if w & NIBBLES != 0x3030_3030_3030_3030 || (d + 0x0606_0606_0606_0606) & NIBBLES != 0 {
        return None;
    }
    // Pairs, then quads, then the eight (the first digit is the lowest byte).
    let pairs = d.wrapping_mul(10).wrapping_add(d >> 8) & 0x00FF_00FF_00FF_00FF;
    let quads = pairs.wrapping_mul(100).wrapping_add(pairs >> 16) & 0x0000_FFFF_0000_FFFF;
    Some(quads.wrapping_mul(10_000).wrapping_add(quads >> 32) & 0xFFFF_FFFF)
}

/// How many ASCII digits `s` starts with, and their value as [`parse_u64`] gives it
/// (`None` for no digits, more than 20, or a value over `u64::MAX`).
pub(super) fn leading_u64(s: &[u8]) -> (usize, Option<u64>) {
    // Found and valued in one loop; nineteen digits never overflow a u64.
    let mut n = 0;
    let mut v = 0u64;
    while let Some(&b) = s.get(n) {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        if n < 19 {
            v = v * 10 + u64::from(d);
        }
        n += 1;
    }
    if n <= 19 {
        return (n, (n > 0).then_some(v));
    }
    (n, parse_u64(&s[..n]))
}

#[inline]
pub fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s.len() <= 19 {
        // Nineteen digits never overflow a u64: no checks per digit.
        let mut v: u64 = 0;
        for &d in s {
            if !d.is_ascii_digit() {
                return None;
            }
            v = v * 10 + u64::from(d - b'0');
        }
        return Some(v);
    }
    let mut v: u64 = 0;
    for &d in s {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(v)
}

/// Splits the raw part from the enrichment: auditd's 0x1D byte, or the forms relays
/// escape it to (`#035`, `\035`) when an upper-case field follows.
fn split_enrichment(body: &[u8]) -> (&[u8], &[u8]) {
    // One pass: the 0x1D byte wins wherever it is; else the first escaped form.
    let mut escaped = None;
    for i in memchr::memchr3_iter(0x1D, b'#', b'\\', body) {
        if body[i] == 0x1D {
            return (&body[..i], &body[i + 1..]);
        }
        if escaped.is_none()
            && body[i + 1..].starts_with(b"035")
            && body.get(i + 4).is_some_and(u8::is_ascii_uppercase)
        {
            escaped = Some(i);
        }
    }
    match escaped {
        Some(i) => (&body[..i], &body[i + 4..]),
        None => (body, &[]),
    }
}

/// The host of a syslog prefix (`Mar 27 00:37:34 vnode03 audispd:` or
/// `2025-12-10T22:27:58+09:00 host audit:`), if one can be found.
fn syslog_host(prefix: &[u8]) -> Option<&[u8]> {
    let mut words = prefix.split(|&b| b == b' ').filter(|w| !w.is_empty());
    let first = words.next()?;
    // Strip an RFC 5424/3164 `<PRI>` and version.
    let first = match first.iter().position(|&b| b == b'>') {
        Some(i) if first.starts_with(b"<") => &first[i + 1..],
        _ => first,
    };
    let host = if first.first().is_some_and(u8::is_ascii_digit) && first.len() >= 10 {
        // ISO timestamp (RFC 5424 has a version `1` before it).
        if first == b"1" {
            words.nth(1)
        } else {
            words.next()
        }
    } else if first.is_empty() || first == b"1" {
        words.nth(1)
    } else if first.len() == 3 && first[0].is_ascii_uppercase() {
        // `Mmm dd hh:mm:ss host`
        words.nth(2)
    } else {
        None
    }?;
    // `audit:` / `[ 14.1]` kernel prefixes are not hosts.
    if host.ends_with(b":") || host.starts_with(b"[") {
        return None;
    }
    Some(host)
}

/// Kernel printk uses numeric types; map the ones sighunt reads to their names.
fn map_numeric_type(kind: &[u8]) -> &[u8] {
    match kind {
        b"1300" => b"SYSCALL",
        b"1302" => b"PATH",
        b"1306" => b"SOCKADDR",
        b"1307" => b"CWD",
        b"1309" => b"EXECVE",
        b"1320" => b"EOE",
        b"1327" => b"PROCTITLE",
        b"1123" => b"USER_CMD",
        other => other,
    }
}

fn unquote(v: &[u8]) -> &[u8] {
    v.strip_prefix(b"\"")
        .and_then(|v| v.strip_suffix(b"\""))
        .unwrap_or(v)
}

fn trim_start(b: &[u8]) -> &[u8] {
    let i = b.iter().position(|&c| c != b' ').unwrap_or(b.len());
    &b[i..]
}

fn trim_end(b: &[u8]) -> &[u8] {
    let i = b.iter().rposition(|&c| c != b' ').map_or(0, |i| i + 1);
    &b[..i]
}

/// A field value as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// `"text"`: the kernel quoted it because it is printable ASCII without spaces.
    Quoted(&'a [u8]),
    /// `'text'`: a userspace message (`msg='…'`).
    SingleQuoted(&'a [u8]),
    /// Bare: a number, hex-encoded text, `(null)`, `?`.
    Bare(&'a [u8]),
}

impl<'a> Value<'a> {
    /// The value decoded the way the kernel's untrusted-string rule encoded it:
    /// quoted text as is, bare hex decoded, anything else as written.
    pub fn decode(self) -> Vec<u8> {
        self.decode_in(Vec::new())
    }

    /// [`Value::decode`] into `buf` (cleared first): no allocation while the buffer
    /// is large enough, for a source that reuses the buffers of finished events.
    pub fn decode_in(self, mut buf: Vec<u8>) -> Vec<u8> {
        buf.clear();
        match self {
            Value::Quoted(v) | Value::SingleQuoted(v) => buf.extend_from_slice(v),
            Value::Bare(v) => {
                if !decode_hex_into(v, &mut buf) {
                    buf.extend_from_slice(v);
                }
            }
        }
        buf
    }

    /// [`Value::decode`] as text (invalid UTF-8 replaced).
    pub fn decode_text(self) -> String {
        self.decode_text_in(String::new())
    }

    /// [`Value::decode_text`] into `buf` (cleared first), reusing its allocation.
    pub fn decode_text_in(self, buf: String) -> String {
        lossy_string(self.decode_in(buf.into_bytes()))
    }

    /// The text as written, without quotes.
    pub fn raw(self) -> &'a [u8] {
        match self {
            Value::Quoted(v) | Value::SingleQuoted(v) | Value::Bare(v) => v,
        }
    }
}

/// Each byte's value as a hex digit, or 0xFF for a byte that is not one: a load
/// instead of three range tests per digit.
pub(super) static HEX_VALUE: [u8; 256] = {
    let mut table = [0xFF; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// Decodes upper- or lower-case hex; `None` if `s` is not hex of even length.
pub fn decode_hex(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    decode_hex_into(s, &mut out).then_some(out)
}

/// [`decode_hex`] appended to `out`; false (and `out` as it was) if `s` is not hex
/// of even length.
fn decode_hex_into(s: &[u8], out: &mut Vec<u8>) -> bool {
    if s.is_empty() || s.len() % 2 != 0 {
        return false;
    }
    // Every pair decoded and the digits' flags OR-ed, one test at the end: no
    // branch or capacity check per byte (an argument is often hundreds of digits).
    let start = out.len();
    let mut bad = 0u8;
    out.reserve_exact(s.len() / 2);
    out.extend(s.chunks_exact(2).map(|pair| {
        let (hi, lo) = (
            HEX_VALUE[usize::from(pair[0])],
            HEX_VALUE[usize::from(pair[1])],
        );
        bad |= hi | lo;
        (hi << 4) | (lo & 0x0F)
    }));
    if bad & 0x80 != 0 {
        out.truncate(start);
        return false;
    }
    true
}

/// Iterates the `key=value` fields of a record body.
pub struct Fields<'a> {
    rest: &'a [u8],
}

pub fn fields(body: &[u8]) -> Fields<'_> {
    Fields { rest: body }
}

impl<'a> Iterator for Fields<'a> {
    type Item = (&'a [u8], Value<'a>);

    /// One pass: keys and bare values are a few bytes long, too short for a vector
    /// search to pay its setup, so they are scanned eight bytes at a time in a
    /// register; quoted values (arguments, paths) can be long and use one. Inlined:
    /// the exec SYSCALL's thirty fields are read in one loop, where a call per
    /// field cost as much as its scan.
    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        let b = self.rest;
        let mut i = 0;
        loop {
            while i < b.len() && b[i] == b' ' {
                i += 1;
            }
            let key_at = i;
            i = find_space_or(b, i, b'=');
            if i == b.len() {
                // The end, or a last word without `=`.
                self.rest = &[];
                return None;
            }
            if b[i] == b' ' {
                // A word without `=`: skip it.
                continue;
            }
            let key = &b[key_at..i];
            let (value, next) = value_at(b, i + 1);
            self.rest = &b[next..];
            return Some((key, value));
        }
    }
}

/// The value that starts at `b[i]` (just after a key's `=`) and where the text after
/// it starts: a quoted value runs to its closing quote (or the end), a bare one to
/// the next space. The one tokenisation of values, shared by [`Fields`] and the
/// SYSCALL reader's fixed-order path, so both read every byte alike.
#[inline(always)]
pub(super) fn value_at(b: &[u8], i: usize) -> (Value<'_>, usize) {
    match b.get(i) {
        Some(&q @ (b'"' | b'\'')) => {
            let inner = &b[i + 1..];
            let end = find_byte(inner, q);
            let v = &inner[..end.unwrap_or(inner.len())];
            let v = if q == b'"' {
                Value::Quoted(v)
            } else {
                Value::SingleQuoted(v)
            };
            (v, end.map_or(b.len(), |e| i + 1 + e + 1))
        }
        _ => {
            let i = i.min(b.len());
            let end = find_space_or(b, i, b' ');
            (Value::Bare(&b[i..end]), end)
        }
    }
}

/// The index of the first `c` in `h`: the first sixteen bytes tested a word at a
/// time in a register (a `comm`, an `exe`, most arguments end there, where a vector
/// search costs more to set up than it saves), the rest by `memchr`.
#[inline(always)]
fn find_byte(h: &[u8], c: u8) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    let mut at = 0;
    while at < 16 {
        let Some(word) = h.get(at..at + 8) else {
            break;
        };
        // Exact per byte: a byte equal to `c` XORs to zero, and only a zero byte
        // keeps its high bit clear after adding 0x7F to its low seven bits.
        let x = u64::from_le_bytes(word.try_into().unwrap_or([0; 8])) ^ (ONES * u64::from(c));
        let hits = !(((x & LOW7) + LOW7) | x) & !LOW7;
        if hits != 0 {
            return Some(at + (hits.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    memchr::memchr(c, &h[at..]).map(|e| at + e)
}

/// The index of the first space or `other` in `b` from `from` on, or `b.len()`:
/// eight bytes per step in a general-purpose register (SWAR), the tail bytewise.
#[inline(always)]
pub(super) fn find_space_or(b: &[u8], from: usize, other: u8) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // Bytes equal to `c` become 0x80 (bytes above the first zero may be flagged
    // too, by the borrow, so only the lowest flag is exact: the one taken).
    let zero_of = |w: u64, c: u8| {
        let x = w ^ (ONES * u64::from(c));
        x.wrapping_sub(ONES) & !x & HIGHS
    };
    let mut i = from;
    while let Some(chunk) = b.get(i..i + 8) {
        let w = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        let hits = zero_of(w, b' ') | zero_of(w, other);
        if hits != 0 {
            return i + (hits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < b.len() && b[i] != b' ' && b[i] != other {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_digits_in_a_register_agree_with_parse_u64() {
        let mut cases: Vec<[u8; 8]> = vec![
            *b"00000000",
            *b"99999999",
            *b"17950000",
            *b"1234567/",
            *b"1234567:",
            *b"/0000000",
            *b":0000000",
            *b"12 45678",
            *b"1234\xff678",
            *b"0000000\x00",
        ];
        for n in (0..100_000_000u64).step_by(9_973) {
            cases.push(format!("{n:08}").into_bytes().try_into().unwrap());
        }
        for c in cases {
            assert_eq!(
                eight_digits(c),
                parse_u64(&c),
                "{:?}",
                String::from_utf8_lossy(&c)
            );
        }
    }

    #[test]
    fn word_scan_finds_what_a_bytewise_scan_finds() {
        // Every start and length around the 8-byte steps, separators anywhere,
        // bytes whose borrow could fool the register test (0x00, 0x01, 0x7f, 0x80).
        let text = b"arch=c000003e syscall=59 \x00\x01=\x7f\x80 a0=\"x y\" =  k  v==w ppid=1 pid=14388 exe=\"/usr/bin/curl\" tail";
        for from in 0..text.len() {
            for end in from..=text.len() {
                let b = &text[..end];
                for other in [b'=', b' '] {
                    let naive = (from..b.len())
                        .find(|&i| b[i] == b' ' || b[i] == other)
                        .unwrap_or(b.len());
                    assert_eq!(find_space_or(b, from, other), naive, "{from}..{end}");
                }
            }
        }
    }

    #[test]
    fn parses_raw_enriched_and_node_headers() {
        let line = b"node=work type=SYSCALL msg=audit(1615114232.375:15558): arch=c000003e syscall=59 key=(null)\x1dARCH=x86_64 AUID=\"user\"";
        let r = parse_record(line).unwrap();
        assert_eq!(r.node, Some(&b"work"[..]));
        assert_eq!(r.kind, b"SYSCALL");
        assert_eq!(r.time_ms, 1_615_114_232_375);
        assert_eq!(r.serial, 15558);
        assert_eq!(r.body, b"arch=c000003e syscall=59 key=(null)");
        assert_eq!(r.enriched, b"ARCH=x86_64 AUID=\"user\"");
    }

    #[test]
    fn parses_syslog_wrapped_and_printk_records() {
        let line = b"Mar 27 00:37:34 vnode03 audispd: node=vnode03.vuln type=CWD msg=audit(1585291054.568:2911):  cwd=\"/var/www/html\"";
        let r = parse_record(line).unwrap();
        assert_eq!(r.node, Some(&b"vnode03.vuln"[..]));
        assert_eq!(r.kind, b"CWD");
        assert_eq!(r.body, b"cwd=\"/var/www/html\"");

        let line =
            b"Mar 27 00:37:34 vnode03 audit: type=CWD msg=audit(1585291054.568:2911): cwd=\"/\"";
        assert_eq!(parse_record(line).unwrap().node, Some(&b"vnode03"[..]));

        let line =
            b"[   14.133637] audit: type=1300 audit(1675140692.232:36): arch=c000003e syscall=59";
        let r = parse_record(line).unwrap();
        assert_eq!(r.kind, b"SYSCALL");
        assert_eq!(r.node, None);
        assert_eq!(r.serial, 36);

        assert!(parse_record(b"just text with type= in it").is_none());
        assert!(parse_record(b"type=X msg=audit(garbage): a=1").is_none());
    }

    #[test]
    fn unwanted_types_are_told_apart_from_broken_lines() {
        let wanted = |k: &[u8]| k == b"SYSCALL";
        let fcaps = b"type=BPRM_FCAPS msg=audit(1.000:1): fver=0 fp=0";
        assert_eq!(parse_record_if(fcaps, wanted), Err(NoRecord::Unwanted));
        // The fast path (line starts with `type=`) and the search agree.
        let line = b"node=h type=SYSCALL msg=audit(1.000:7): arch=c000003e syscall=59";
        let fast = parse_record_if(line, wanted).unwrap();
        let wrapped = b"Mar 27 00:37:34 h audispd: node=h type=SYSCALL msg=audit(1.000:7): arch=c000003e syscall=59";
        assert_eq!(parse_record_if(wrapped, wanted).unwrap(), fast);
        assert_eq!(
            parse_record_if(b"type=SYSCALL msg=audit(x): a=1", wanted),
            Err(NoRecord::Invalid)
        );
        assert_eq!(
            parse_record_if(b"plain text", wanted),
            Err(NoRecord::Invalid)
        );
    }

    #[test]
    fn accepts_relay_escaped_enrichment_separator() {
        let r =
            parse_record(b"type=SYSCALL msg=audit(1.000:1): key=(null)#035ARCH=x86_64").unwrap();
        assert_eq!(r.body, b"key=(null)");
        assert_eq!(r.enriched, b"ARCH=x86_64");
        let r =
            parse_record(b"type=SYSCALL msg=audit(1.000:1): a=#035x key=(null)\\035ARCH=x86_64")
                .unwrap();
        assert_eq!(
            r.body, b"a=#035x key=(null)",
            "#035 before a lower-case byte is text"
        );
        assert_eq!(r.enriched, b"ARCH=x86_64");
    }

    #[test]
    fn fields_handle_every_quoting() {
        let got: Vec<_> =
            fields(b"argc=3 a0=\"sh\" a1=2D63 msg='cwd=\"/\" cmd=6C73 res=success' key=(null)")
                .collect();
        assert_eq!(got[0], (&b"argc"[..], Value::Bare(b"3")));
        assert_eq!(got[1], (&b"a0"[..], Value::Quoted(b"sh")));
        assert_eq!(got[2].1.decode(), b"-c");
        assert_eq!(
            got[3].1,
            Value::SingleQuoted(b"cwd=\"/\" cmd=6C73 res=success")
        );
        assert_eq!(got[4].1.decode(), b"(null)");
        assert_eq!(got.len(), 5);
    }

    #[test]
    fn hex_decoding() {
        assert_eq!(decode_hex(b"6E6f"), Some(b"no".to_vec()));
        assert_eq!(decode_hex(b"6E6"), None);
        assert_eq!(decode_hex(b"zz"), None);
    }

    /// The stamp parser as it was before the one-pass rewrite: the oracle.
    fn parse_stamp_reference(s: &[u8]) -> Option<(i64, u64)> {
        let close = memchr::memchr(b')', s)?;
        let s = &s[..close];
        let colon = memchr::memchr(b':', s)?;
        let (time, serial) = (&s[..colon], &s[colon + 1..]);
        let serial = parse_u64(serial)?;
        let (secs, millis) = match memchr::memchr(b'.', time) {
            Some(dot) => (&time[..dot], &time[dot + 1..]),
            None => (time, &b""[..]),
        };
        let secs = parse_u64(secs)? as i64;
        let mut ms = 0i64;
        for (i, d) in millis.iter().take(3).enumerate() {
            if !d.is_ascii_digit() {
                return None;
            }
            ms += i64::from(d - b'0') * [100, 10, 1][i];
        }
        Some((secs.checked_mul(1000)?.checked_add(ms)?, serial))
    }

    #[test]
    fn one_pass_stamp_parser_agrees_with_the_reference() {
        // Every string over a small alphabet up to length 7, plus real stamps.
        let alphabet = b"09.:)x";
        let mut cases: Vec<Vec<u8>> = vec![
            b"1615114232.375:15558): a".to_vec(),
            b"1615114232.375123:15558)".to_vec(),
            b"1615114232:15558)".to_vec(),
            b"99999999999999999999.999:1)".to_vec(),
            b"18446744073709551615.000:18446744073709551615)".to_vec(),
            b"000000000000000000001.0:1)".to_vec(),
            b"1615114232.375:)".to_vec(),
            b"1615114232.375:1".to_vec(),
            b"1615114232.375:99999999999999999999)".to_vec(),
            b"1615114232.375:018446744073709551615)".to_vec(),
            b"1615114232.3x5:1)".to_vec(),
            b"161511423x.375:1)".to_vec(),
            b"0000000000.000:0)".to_vec(),
            b"9999999999.999:18446744073709551615)".to_vec(),
        ];
        let mut frontier = vec![Vec::new()];
        for _ in 0..7 {
            let mut next = Vec::new();
            for s in &frontier {
                for &c in alphabet {
                    let mut t: Vec<u8> = s.clone();
                    t.push(c);
                    next.push(t);
                }
            }
            cases.extend(next.iter().cloned());
            frontier = next;
        }
        for case in &cases {
            let got = parse_stamp(case).map(|(t, s, close)| {
                assert_eq!(case[close], b')');
                (t, s)
            });
            assert_eq!(
                got,
                parse_stamp_reference(case),
                "{}",
                String::from_utf8_lossy(case)
            );
        }
    }

    #[test]
    fn kernel_shaped_stamps_agree_with_the_reference() {
        // The kernel's `ssssssssss.mmm:` then every serial-ish tail up to eight bytes
        // (the one-word serial read, and each way out of it).
        let alphabet = b"019):x";
        let mut tails: Vec<Vec<u8>> = vec![Vec::new()];
        let mut frontier = vec![Vec::new()];
        for _ in 0..8 {
            let mut next = Vec::new();
            for t in &frontier {
                for &c in alphabet {
                    let mut t: Vec<u8> = t.clone();
                    t.push(c);
                    next.push(t);
                }
            }
            tails.extend(next.iter().cloned());
            frontier = next;
        }
        tails.push(b"12345678)".to_vec());
        tails.push(b"9999999): x".to_vec());
        let mut short = 0;
        for tail in &tails {
            let mut case = b"1795000000.004:".to_vec();
            case.extend_from_slice(tail);
            let got = parse_stamp(&case).map(|(t, s, close)| {
                assert_eq!(case[close], b')');
                (t, s)
            });
            assert_eq!(
                got,
                parse_stamp_reference(&case),
                "{}",
                String::from_utf8_lossy(&case)
            );
            short += usize::from(short_digits(tail, b')').is_some());
        }
        assert!(short > 1000, "the one-word path taken {short} times");
    }

    /// The header locator as it was before the register scan: the oracle.
    fn header_reference(line: &[u8]) -> Option<(usize, usize, usize)> {
        let type_at = if line.starts_with(b"type=") {
            Some(0)
        } else if line.starts_with(b"node=") {
            memchr::memchr(b' ', line)
                .map(|sp| sp + 1)
                .filter(|&t| line[t..].starts_with(b"type="))
        } else {
            None
        };
        let located = type_at
            .and_then(|t| {
                let sp = memchr::memchr(b' ', &line[t..])?;
                line[t + sp + 1..]
                    .starts_with(b"msg=audit(")
                    .then_some((t, t + sp + 1 + 4))
            })
            .or_else(|| {
                let audit_at = MSG_AUDIT
                    .find(line)
                    .map(|i| i + 4)
                    .or_else(|| PRINTK_AUDIT.find(line).map(|i| i + 1))?;
                Some((TYPE.rfind(&line[..audit_at])?, audit_at))
            });
        let (type_at, audit_at) = located?;
        let kind_end = type_at + 5 + memchr::memchr(b' ', &line[type_at + 5..audit_at])?;
        Some((type_at, kind_end, audit_at))
    }

    #[test]
    fn header_scan_agrees_with_the_reference() {
        // Every sequence of up to five header-ish pieces (the fast path's prefixes,
        // spaces where they may or may not be, wrappers), then the sample logs.
        let pieces: [&[u8]; 9] = [
            b"type=",
            b"node=",
            b"SYSCALL",
            b" ",
            b"msg=audit(",
            b" audit(",
            b"x",
            b"1.000:7): a=1",
            b"h ",
        ];
        let mut lines: Vec<Vec<u8>> = vec![Vec::new()];
        let mut frontier = vec![Vec::new()];
        for _ in 0..5 {
            let mut next = Vec::new();
            for l in &frontier {
                for p in pieces {
                    let mut t: Vec<u8> = l.clone();
                    t.extend_from_slice(p);
                    next.push(t);
                }
            }
            lines.extend(next.iter().cloned());
            frontier = next;
        }
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/linux/");
        for file in ["audit-raw.log", "audit-enriched.log"] {
            let text = std::fs::read(format!("{root}{file}")).unwrap();
            lines.extend(text.split(|&b| b == b'\n').map(<[u8]>::to_vec));
        }
        let mut agreed = 0;
        for line in &lines {
            let got = locate_header(line).and_then(|(t, end, a)| {
                let end = match end {
                    Some(e) => e,
                    None => t + 5 + memchr::memchr(b' ', &line[t + 5..a])?,
                };
                Some((t, end, a))
            });
            assert_eq!(
                got,
                header_reference(line),
                "{}",
                String::from_utf8_lossy(line)
            );
            agreed += usize::from(got.is_some());
        }
        assert!(agreed > 1000, "only {agreed} headers found");
    }

    #[test]
    fn field_iterator_agrees_with_a_split_on_every_separator_layout() {
        // Keys, bare, quoted and unterminated values, words without `=`, runs of
        // spaces: each field found once, in order.
        let body = b"  a=1  word b=\"x y\" c='p q'   d= e=\"open";
        let got: Vec<_> = fields(body).collect();
        assert_eq!(
            got,
            [
                (&b"a"[..], Value::Bare(b"1")),
                (&b"b"[..], Value::Quoted(b"x y")),
                (&b"c"[..], Value::SingleQuoted(b"p q")),
                (&b"d"[..], Value::Bare(b"")),
                (&b"e"[..], Value::Quoted(b"open")),
            ]
        );
        assert_eq!(fields(b"lone").count(), 0);
        assert_eq!(fields(b"").count(), 0);
        assert_eq!(
            fields(b"=v").collect::<Vec<_>>(),
            [(&b""[..], Value::Bare(b"v"))]
        );
    }
}
