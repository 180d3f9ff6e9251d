//! Replays every fuzz seed and every crash reproducer through the same target code
//! the fuzzers run (`fuzz/src/targets.rs`, included here by path), so that a parser
//! change that panics on any of them fails `cargo test` without a fuzzer.
//!
//! * `fuzz/corpus/<target>/`: the small seed corpora;
//! * `fuzz/regressions/<target>/`: minimized inputs that once crashed a target
//!   (add the reproducer there, named after the bug, when a fuzzer finds one);
//! * the EVTX target also replays the chunks of the shared corpus's EVTX files.

#[allow(dead_code)]
#[path = "../fuzz/src/targets.rs"]
mod targets;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `target` on `input`; a panic is returned as a message naming `what`.
fn replay(name: &str, target: fn(&[u8]), what: &str, input: &[u8]) -> Option<String> {
    catch_unwind(AssertUnwindSafe(|| target(input)))
        .err()
        .map(|p| {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            format!("{name}: {what}: {msg}")
        })
}

#[test]
fn every_seed_and_reproducer_runs_clean() {
    let mut failures = Vec::new();
    let mut replayed = 0;
    for &(name, target) in targets::TARGETS {
        for sub in ["corpus", "regressions"] {
            for file in files_in(&fuzz_dir().join(sub).join(name)) {
                let input = std::fs::read(&file).unwrap();
                replayed += 1;
                failures.extend(replay(name, target, &file.display().to_string(), &input));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(replayed >= 40, "only {replayed} inputs found under fuzz/");
}

#[test]
fn every_seed_has_a_target_and_every_target_a_seed() {
    let names: Vec<&str> = targets::TARGETS.iter().map(|(n, _)| *n).collect();
    for dir in files_in(&fuzz_dir().join("fuzz_targets")) {
        let stem = dir.file_stem().unwrap().to_str().unwrap().to_string();
        assert!(
            names.contains(&stem.as_str()),
            "fuzz_targets/{stem}.rs is not in TARGETS"
        );
    }
    for name in &names {
        // EVTX seeds are chunks of the shared corpus, not copies in the repository.
        if *name != "evtx" {
            assert!(
                !files_in(&fuzz_dir().join("corpus").join(name)).is_empty(),
                "fuzz/corpus/{name}/ has no seed"
            );
        }
    }
}

#[test]
fn evtx_chunks_of_the_shared_corpus_replay_clean() {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/corpus/windows"
    ));
    let evtx: Vec<PathBuf> = files_in(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "evtx"))
        .collect();
    if evtx.is_empty() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{} has no EVTX file under CI",
            dir.display()
        );
        eprintln!("skipped: no EVTX files in {}", dir.display());
        return;
    }
    let target = targets::by_name("evtx").unwrap();
    let mut failures = Vec::new();
    for file in &evtx {
        let data = std::fs::read(file).unwrap();
        // Each chunk alone, and one cut short, as the fuzz target sees them.
        for (i, chunk) in data.get(4096..).unwrap_or(&[]).chunks(65536).enumerate() {
            let what = format!("{} chunk {}", file.display(), i + 1);
            failures.extend(replay("evtx", target, &what, chunk));
            failures.extend(replay(
                "evtx",
                target,
                &format!("{what} (cut)"),
                &chunk[..chunk.len() / 3],
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
