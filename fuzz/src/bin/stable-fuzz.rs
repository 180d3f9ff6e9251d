//! A fuzzer that runs on stable Rust: random mutations of the seed corpus
//! (bit flips, interesting bytes, inserts, deletes, duplications, splices and
//! format tokens) fed to a target until the time is up. No coverage feedback, so
//! it is weaker than libFuzzer (`cargo +nightly fuzz run`), but it needs nothing
//! beyond cargo and catches the panics the seeds are one or two mutations from.
//!
//! Usage: `stable-fuzz TARGET SECONDS [SEED]` (run from `fuzz/`). A panicking
//! input is written to `artifacts/TARGET/crash-<hash>` and the exit status is 1.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use sighunt_fuzz::targets;

/// Largest input tried; the parsers' own limits are tested by the hostile suite.
const MAX_INPUT: usize = 64 * 1024;

/// Tokens of the formats under test, inserted whole so that mutations reach deeper
/// than random bytes would.
const TOKENS: &[&[u8]] = &[
    b"type=SYSCALL msg=audit(1700000000.000:1): ",
    b"type=EXECVE msg=audit(1700000000.000:1): ",
    b"type=PROCTITLE msg=audit(1700000000.000:1): proctitle=",
    b"type=EOE msg=audit(1700000000.000:1): ",
    b"node=h ",
    b"msg=audit(",
    b" audit(",
    b"argc=3 ",
    b"a0=\"nohup\" ",
    b"a1_len=9000 ",
    b"a1[0]=",
    b"a2=",
    b"syscall=59 ",
    b"arch=c000003e ",
    b"success=no ",
    b"saddr=",
    b"\x1dUID=\"root\" SYSCALL=execve",
    b"#035",
    b"6E6F687570",
    b"nohup ",
    b"sh -c ",
    b"bash -c '",
    b"$(",
    b"${",
    b"`",
    b"<<EOF\n",
    b"<<<",
    b" & ",
    b" && ",
    b" | ",
    b"2>&1",
    b">/dev/null",
    b"$'\\x41'",
    b"trap '' HUP",
    b"env X=1 ",
    b"sudo -u www ",
    b"busybox ",
    b"timeout 5 ",
    b"setsid ",
    b"\x00",
    b"\r\n",
    b"\n",
    b"\\",
    b"'",
    b"\"",
    b"(",
    b")",
    b"{",
    b"}",
    b"\xEF\xBB\xBF",
    b"\x1f\x8b",
    b"\x28\xb5\x2f\xfd",
    b"ElfFile\0",
    b"<Event",
    b"Mar 27 00:37:34 host audispd: ",
    b"2025-12-10T22:27:58+09:00 host audit: ",
];

const INTERESTING: &[u8] = &[
    0, 1, 0x7f, 0x80, 0xff, b'\n', b'\r', b' ', b'=', b'"', b'\\', 0x1d,
];

/// xorshift64*: deterministic for a seed, so a run can be repeated.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

fn mutate(rng: &mut Rng, input: &mut Vec<u8>, seeds: &[Vec<u8>]) {
    let rounds = 1 + rng.below(8);
    for _ in 0..rounds {
        let len = input.len();
        match rng.below(9) {
            0 if len > 0 => {
                let i = rng.below(len);
                input[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                input[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 => {
                let i = rng.below(len + 1);
                let n = 1 + rng.below(16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                input.splice(i..i, bytes);
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                input.drain(i..i + n);
            }
            4 if len > 0 => {
                // Duplicate a range, many times over now and then (long lines,
                // many records, deep nesting).
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(256));
                let times = if rng.below(8) == 0 {
                    1 + rng.below(200)
                } else {
                    1
                };
                let piece = input[i..i + n].to_vec();
                for _ in 0..times {
                    input.splice(i..i, piece.iter().copied());
                }
            }
            5 | 6 => {
                let i = rng.below(len + 1);
                let t = TOKENS[rng.below(TOKENS.len())];
                input.splice(i..i, t.iter().copied());
            }
            7 if !seeds.is_empty() => {
                let other = &seeds[rng.below(seeds.len())];
                if !other.is_empty() {
                    let a = rng.below(other.len());
                    let b = a + rng.below(other.len() - a) + 1;
                    let i = rng.below(len + 1);
                    input.splice(i..i, other[a..b].iter().copied());
                }
            }
            _ if len > 1 => {
                let i = rng.below(len);
                input.truncate(i.max(1));
            }
            _ => input.push(rng.next() as u8),
        }
    }
    input.truncate(MAX_INPUT);
}

fn load_seeds(dir: &Path) -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            if let Ok(bytes) = std::fs::read(&p) {
                seeds.push(bytes);
            }
        }
    }
    seeds
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let usage = || {
        let names: Vec<&str> = targets::TARGETS.iter().map(|(n, _)| *n).collect();
        eprintln!(
            "usage: stable-fuzz TARGET SECONDS [SEED]\ntargets: {}",
            names.join(", ")
        );
        ExitCode::from(2)
    };
    let (Some(name), Some(secs)) = (args.get(1), args.get(2).and_then(|s| s.parse::<u64>().ok()))
    else {
        return usage();
    };
    let Some(target) = targets::by_name(name) else {
        return usage();
    };
    let seed = args.get(3).and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    }) | 1;
    // The committed seeds, plus a local working corpus (fuzz/work/TARGET, where
    // libFuzzer keeps what it found and ci.sh puts the EVTX chunks) when there is one.
    let mut seeds = load_seeds(&Path::new("corpus").join(name));
    seeds.extend(load_seeds(&Path::new("work").join(name)));
    seeds.retain(|s| s.len() <= MAX_INPUT);
    if seeds.is_empty() {
        seeds.push(Vec::new());
    }
    // Panics are caught and reported here, not printed per input.
    std::panic::set_hook(Box::new(|_| {}));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut rng = Rng(seed);
    let mut runs = 0u64;
    // Every seed as is first, then mutations.
    let mut queue: Vec<Vec<u8>> = seeds.clone();
    while Instant::now() < deadline {
        let input = queue.pop().unwrap_or_else(|| {
            let mut m = seeds[rng.below(seeds.len())].clone();
            mutate(&mut rng, &mut m, &seeds);
            m
        });
        runs += 1;
        let result = std::panic::catch_unwind(|| target(&input));
        if let Err(payload) = result {
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "non-string panic".into());
            let mut h = DefaultHasher::new();
            input.hash(&mut h);
            let dir = Path::new("artifacts").join(name);
            let _ = std::fs::create_dir_all(&dir);
            let path = dir.join(format!("crash-{:016x}", h.finish()));
            let _ = std::fs::write(&path, &input);
            eprintln!(
                "stable-fuzz {name}: PANIC after {runs} runs (seed {seed}): {message}\n  input saved to fuzz/{}",
                path.display()
            );
            return ExitCode::from(1);
        }
    }
    eprintln!("stable-fuzz {name}: {runs} runs in {secs} s, no panic (seed {seed})");
    ExitCode::SUCCESS
}
