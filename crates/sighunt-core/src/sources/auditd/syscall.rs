//! The fields of a `SYSCALL` record that sighunt uses.
//!
//! The kernel writes them in one fixed order (`audit_log_exit`, then
//! `audit_log_task_info`): `arch syscall success exit a0 a1 a2 a3 items ppid pid auid
//! uid gid euid suid fsuid egid sgid fsgid tty ses comm exe [subj] key`. The reader
//! takes them by position, each checked against its expected key, and hands the
//! rest of the body to the general field loop at the first field out of that order
//! (an older or newer kernel, a relay that rewrote the record, hostile text). Values
//! are tokenised by the same [`record::value_at`] as [`record::fields`], and the
//! general loop assigns in the same order, so the result is exactly the general
//! parser's ([`parse_syscall_general`], kept as the oracle of the tests).

use super::record::{self, Record, Value, fields, value_at};
use super::spares::Spares;
use super::{parse_hex_u32, parse_hex_u64};

/// Fields of the SYSCALL record sighunt uses.
#[derive(Default, Debug, PartialEq, Eq)]
pub(super) struct Syscall {
    pub(super) arch: u32,
    pub(super) number: Option<u32>,
    /// The enriched `SYSCALL=` name, when present.
    pub(super) name: Option<String>,
    pub(super) success: Option<bool>,
    /// Register a0 (the socketcall multiplexer's call number on i386).
    pub(super) a0: Option<u64>,
    pub(super) pid: Option<u32>,
    pub(super) ppid: Option<u32>,
    pub(super) uid: Option<u32>,
    pub(super) auid: Option<u32>,
    pub(super) ses: Option<u32>,
    pub(super) user_name: Option<String>,
    pub(super) comm: Option<String>,
    pub(super) exe: Option<String>,
    pub(super) key: Option<String>,
}

/// The record's fields: the kernel's order read by position, the rest (if any) by
/// the general loop.
/// Text is decoded into `spares`' buffers.
pub(super) fn parse_syscall(rec: &Record<'_>, spares: &mut Spares) -> Syscall {
    let mut sc = Syscall::default();
    let mut cursor = Cursor { b: rec.body, i: 0 };
    // Stops (`None`) at the first field out of the kernel's order, unconsumed.
    let _ = cursor.kernel_order(&mut sc, spares);
    general_body(&mut sc, &rec.body[cursor.i..], spares);
    general_enriched(&mut sc, rec.enriched, spares);
    sc
}

/// The general parser: every field looked up by name, in any order.
pub(super) fn parse_syscall_general(rec: &Record<'_>) -> Syscall {
    let mut sc = Syscall::default();
    let spares = &mut Spares::default();
    general_body(&mut sc, rec.body, spares);
    general_enriched(&mut sc, rec.enriched, spares);
    sc
}

/// How many bytes of `body` the fixed-order path reads before it hands over (the
/// whole body for a record in the kernel's order): for the tests, which must see the
/// fast path taken, not only agree with the general one.
#[cfg(test)]
pub(super) fn kernel_order_len(body: &[u8]) -> usize {
    let mut cursor = Cursor { b: body, i: 0 };
    let _ = cursor.kernel_order(&mut Syscall::default(), &mut Spares::default());
    cursor.i
}

fn number(v: Value<'_>) -> Option<u32> {
    record::parse_u64(v.raw()).and_then(|n| u32::try_from(n).ok())
}

#[inline(always)]
fn general_body(sc: &mut Syscall, body: &[u8], spares: &mut Spares) {
    for (k, v) in fields(body) {
        match k {
            b"arch" => sc.arch = parse_hex_u32(v.raw()),
            b"syscall" => sc.number = number(v),
            b"success" => sc.success = Some(v.raw() == b"yes"),
            b"a0" => sc.a0 = parse_hex_u64(v.raw()),
            b"pid" => sc.pid = number(v),
            b"ppid" => sc.ppid = number(v),
            b"uid" => sc.uid = number(v),
            b"auid" => sc.auid = number(v),
            b"ses" => sc.ses = number(v),
            b"comm" => sc.comm = Some(v.decode_text_in(spares.string())),
            b"exe" => sc.exe = Some(v.decode_text_in(spares.string())),
            b"key" => set_key(sc, v, spares),
            _ => {}
        }
    }
}

fn set_key(sc: &mut Syscall, v: Value<'_>, spares: &mut Spares) {
    if v.raw() != b"(null)" {
        sc.key = Some(v.decode_text_in(spares.string()));
    }
}

fn general_enriched(sc: &mut Syscall, enriched: &[u8], spares: &mut Spares) {
    for (k, v) in fields(enriched) {
        match k {
            b"UID" => sc.user_name = Some(v.decode_text_in(spares.string())),
            b"SYSCALL" => sc.name = Some(v.decode_text_in(spares.string())),
            _ => {}
        }
    }
}

/// A position in a SYSCALL body, always at a field boundary as [`fields`] sees it.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    /// The kernel's field sequence; `None` at the first field that is not the
    /// expected one (the cursor then still before it).
    #[inline(always)]
    fn kernel_order(&mut self, sc: &mut Syscall, spares: &mut Spares) -> Option<()> {
        sc.arch = parse_hex_u32(self.field(b"arch=")?.raw());
        sc.number = self.number(b"syscall=")?;
        sc.success = Some(self.field(b"success=")?.raw() == b"yes");
        self.field(b"exit=")?;
        sc.a0 = parse_hex_u64(self.field(b"a0=")?.raw());
        self.field(b"a1=")?;
        self.field(b"a2=")?;
        self.field(b"a3=")?;
        self.field(b"items=")?;
        sc.ppid = self.number(b"ppid=")?;
        sc.pid = self.number(b"pid=")?;
        sc.auid = self.number(b"auid=")?;
        sc.uid = self.number(b"uid=")?;
        // Written out, not looped over: each key a constant of its own length, so
        // its test is one or two register compares instead of a `bcmp` call.
        self.field(b"gid=")?;
        self.field(b"euid=")?;
        self.field(b"suid=")?;
        self.field(b"fsuid=")?;
        self.field(b"egid=")?;
        self.field(b"sgid=")?;
        self.field(b"fsgid=")?;
        self.field(b"tty=")?;
        sc.ses = self.number(b"ses=")?;
        sc.comm = Some(self.field(b"comm=")?.decode_text_in(spares.string()));
        sc.exe = Some(self.field(b"exe=")?.decode_text_in(spares.string()));
        // `subj=` only where an LSM labels tasks.
        let _ = self.field(b"subj=");
        set_key(sc, self.field(b"key=")?, spares);
        Some(())
    }

    /// Past the spaces and `key` (which ends in `=`), or `None`, unmoved.
    #[inline(always)]
    fn key<const N: usize>(&self, key: &[u8; N]) -> Option<usize> {
        let mut i = self.i;
        while self.b.get(i) == Some(&b' ') {
            i += 1;
        }
        self.b[i..].starts_with(key).then_some(i + key.len())
    }

    /// The value of the field `key` if it is the next one.
    #[inline(always)]
    fn field<const N: usize>(&mut self, key: &[u8; N]) -> Option<Value<'a>> {
        let at = self.key(key)?;
        let (value, next) = match self.b.get(at) {
            Some(b'"' | b'\'') => value_at(self.b, at),
            // A bare value ends at the next space, as `value_at` ends it; most are
            // one to four bytes here, where a byte loop beats a word scan's setup.
            _ => {
                let rest = &self.b[at..];
                let len = rest.iter().position(|&c| c == b' ').unwrap_or(rest.len());
                (Value::Bare(&rest[..len]), at + len)
            }
        };
        self.i = next;
        Some(value)
    }

    /// A decimal field read in the same pass that finds its end (the general
    /// tokenisation when it is not plain digits up to a space).
    #[inline(always)]
    fn number<const N: usize>(&mut self, key: &[u8; N]) -> Option<Option<u32>> {
        let at = self.key(key)?;
        // Up to nine digits (below `u32::MAX`) read and valued in one byte loop,
        // inlined (these are short: a word test costs more to set up); anything
        // else, or no space after them, is read the general way.
        let rest = &self.b[at..];
        let mut len = 0;
        let mut value = 0u32;
        while len < 9 {
            let Some(d) = rest.get(len).map(|b| b.wrapping_sub(b'0')) else {
                break;
            };
            if d > 9 {
                break;
            }
            value = value * 10 + u32::from(d);
            len += 1;
        }
        if len > 0 && matches!(rest.get(len), None | Some(b' ')) {
            self.i = at + len;
            return Some(Some(value));
        }
        let (value, next) = value_at(self.b, at);
        self.i = next;
        Some(number(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::auditd::parse_record;

    /// The kernel's shape as `bench/gen` and a busy x86-64 host write it.
    const KERNEL: &[u8] = b"type=SYSCALL msg=audit(1795000000.004:1007): arch=c000003e syscall=59 success=yes exit=0 a0=5500b84fc8ee a1=7ffec3dfdfd3 a2=8ee a3=0 items=2 ppid=56245 pid=1017 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm=\"curl\" exe=\"/usr/bin/curl\" subj=unconfined key=(null)";

    /// Every SYSCALL record of the shared corpus (files found by content) and of
    /// the sample logs.
    fn corpus_syscalls() -> Vec<Vec<u8>> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        let mut dirs = vec![
            root.join("../../../shared/corpus"),
            root.join("../../examples/linux"),
        ];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    files.push(path);
                }
            }
        }
        let mut lines = Vec::new();
        for path in files {
            let Ok(text) = std::fs::read(&path) else {
                continue;
            };
            if memchr::memmem::find(&text, b"audit(").is_none() {
                continue;
            }
            for line in text.split(|&b| b == b'\n') {
                if parse_record(line).is_some_and(|r| r.kind == b"SYSCALL") {
                    lines.push(line.to_vec());
                }
            }
        }
        lines
    }

    fn agree(line: &[u8]) -> bool {
        let Some(rec) = parse_record(line) else {
            return false;
        };
        assert_eq!(
            parse_syscall(&rec, &mut Spares::default()),
            parse_syscall_general(&rec),
            "{}",
            String::from_utf8_lossy(line)
        );
        kernel_order_len(rec.body) == rec.body.len()
    }

    #[test]
    fn fixed_order_reader_agrees_with_the_general_one_on_every_corpus_syscall() {
        let lines = corpus_syscalls();
        let whole = lines.iter().filter(|l| agree(l)).count();
        if !std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/corpus")
            .is_dir()
        {
            assert!(
                std::env::var("CI").is_err(),
                "../shared/corpus is missing under CI"
            );
            assert!(lines.len() >= 20, "the sample logs have SYSCALL records");
            return;
        }
        // The fast path must be the common one, not only an agreeing one.
        assert!(lines.len() >= 150, "{} SYSCALL records", lines.len());
        assert!(
            whole * 2 > lines.len(),
            "{whole} of {} read whole by position",
            lines.len()
        );
        assert!(agree(KERNEL));
    }

    /// The record's words (fields, and words without `=`) as byte ranges, split
    /// the way `fields` tokenises: to be shuffled, dropped and rewritten.
    fn words(body: &[u8]) -> Vec<&[u8]> {
        let mut words = Vec::new();
        let mut i = 0;
        while i < body.len() {
            if body[i] == b' ' {
                i += 1;
                continue;
            }
            let at = i;
            i = record::find_space_or(body, i, b'=');
            if i < body.len() && body[i] == b'=' {
                i = value_at(body, i + 1).1;
            }
            words.push(&body[at..i]);
        }
        words
    }

    #[test]
    fn fixed_order_reader_agrees_on_mutated_records() {
        let hostile: [&[u8]; 16] = [
            b"",
            b"\"a b\"",
            b"'x y'",
            b"\"unterminated",
            b"(null)",
            b"99999999999999999999999",
            b"18446744073709551615",
            b"4294967296",
            b"-1",
            b"12x",
            b"1=2",
            b"\"",
            b"2F62696E2F7368",
            b"\"3\"",
            b"\xff\xfe",
            b"+5",
        ];
        let mut bases = vec![KERNEL.to_vec()];
        bases.extend(corpus_syscalls().into_iter().take(40));
        let mut checked = 0;
        for base in &bases {
            let rec = parse_record(base).unwrap();
            let head = &base[..base.len()
                - rec.body.len()
                - rec.enriched.len()
                - usize::from(!rec.enriched.is_empty())];
            let tail = &base[head.len() + rec.body.len()..];
            let body = rec.body;
            let rebuild = |parts: &[&[u8]]| {
                let mut line = head.to_vec();
                line.extend_from_slice(&parts.join(&b" "[..]));
                line.extend_from_slice(tail);
                line
            };
            let words = words(body);
            let mut variants = Vec::new();
            for i in 0..words.len() {
                // Missing, duplicated, swapped with the next, an extra field before.
                let mut w = words.clone();
                w.remove(i);
                variants.push(rebuild(&w));
                let mut w = words.clone();
                w.insert(i, words[i]);
                variants.push(rebuild(&w));
                if i + 1 < words.len() {
                    let mut w = words.clone();
                    w.swap(i, i + 1);
                    variants.push(rebuild(&w));
                }
                for extra in [&b"extra=1"[..], b"word", b"pid=7", b"key=\"k\"", b"  "] {
                    let mut w = words.clone();
                    w.insert(i, extra);
                    variants.push(rebuild(&w));
                }
                // Each value replaced by a hostile one.
                let key_len = memchr::memchr(b'=', words[i]).map_or(0, |e| e + 1);
                for value in hostile {
                    let mut field = words[i][..key_len].to_vec();
                    field.extend_from_slice(value);
                    let mut w = words.clone();
                    w[i] = &field;
                    variants.push(rebuild(&w));
                }
            }
            // Cut at every byte: no panic, and the same reading.
            for cut in 0..base.len() {
                variants.push(base[..cut].to_vec());
            }
            for v in &variants {
                agree(v);
                checked += 1;
            }
        }
        assert!(checked > 10_000, "{checked} variants");
    }
}
