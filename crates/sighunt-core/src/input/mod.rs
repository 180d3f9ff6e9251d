//! Inputs: turn the paths a user names into readable, decompressed streams with a
//! known format. Directories are walked recursively (symlink loops are detected, not
//! followed forever), compression (gzip, zstd, xz, bzip2, lz4) and binary journald
//! files are recognised by their magic bytes (see [`decode`]), and the format is
//! sniffed from content.

pub mod decode;
pub mod lines;
pub mod sniff;
pub mod splitter;
pub mod tail;

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::PathBuf;
use std::sync::Arc;

pub use sniff::{Compression, InputFormat};

/// How many bytes are peeked to recognise compression and format.
const SNIFF_BYTES: usize = 64 * 1024;

/// A problem with one input: named by path and, where known, position. Never fatal
/// to the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub path: Arc<str>,
    pub location: Option<String>,
    pub message: String,
}

impl InputError {
    pub fn new(path: &Arc<str>, location: Option<String>, message: impl Into<String>) -> Self {
        InputError {
            path: path.clone(),
            location,
            message: message.into(),
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(loc) => write!(f, "{}: {}: {}", self.path, loc, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

/// One thing to read: a file, or standard input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputSpec {
    File(PathBuf),
    Stdin,
}

impl InputSpec {
    /// The name used in findings and errors.
    pub fn display(&self) -> Arc<str> {
        match self {
            InputSpec::File(p) => Arc::from(p.to_string_lossy().as_ref()),
            InputSpec::Stdin => Arc::from("-"),
        }
    }
}

/// A file to read, and whether the user named it (rather than a directory walk
/// finding it): a named file that is not a log is an error, a walked one is skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub spec: InputSpec,
    pub named: bool,
}

/// A found file, or a walk error to report.
pub type Discovered = Result<Found, InputError>;

/// Expands user-named paths: `-` is stdin, a directory yields its files recursively
/// (sorted by name, so runs are reproducible), anything else is taken as a file.
pub fn discover(paths: &[PathBuf]) -> Vec<Discovered> {
    let mut out = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            out.push(Ok(Found {
                spec: InputSpec::Stdin,
                named: true,
            }));
            continue;
        }
        if !path.is_dir() {
            out.push(Ok(Found {
                spec: InputSpec::File(path.clone()),
                named: true,
            }));
            continue;
        }
        let walk = walkdir::WalkDir::new(path)
            .follow_links(true)
            .sort_by_file_name();
        for entry in walk {
            match entry {
                Ok(e) if e.file_type().is_file() => out.push(Ok(Found {
                    spec: InputSpec::File(e.into_path()),
                    named: false,
                })),
                Ok(_) => {}
                Err(e) => {
                    let at: Arc<str> =
                        Arc::from(e.path().unwrap_or(path).to_string_lossy().as_ref());
                    let message = if e.loop_ancestor().is_some() {
                        "symlink loop, not followed".to_string()
                    } else {
                        e.io_error()
                            .map(|io| io.to_string())
                            .unwrap_or_else(|| e.to_string())
                    };
                    out.push(Err(InputError::new(&at, None, message)));
                }
            }
        }
    }
    out
}

/// The readable body of an input.
pub enum Payload {
    /// Decompressed bytes to stream.
    Stream(Box<dyn BufRead + Send>),
    /// An uncompressed regular file, for formats that need to seek (EVTX).
    File(File),
}

/// An opened input with its sniffed format.
pub struct Opened {
    pub name: Arc<str>,
    pub format: InputFormat,
    pub compression: Compression,
    pub payload: Payload,
}

/// Why an input could not be opened.
#[derive(Debug)]
pub enum OpenError {
    Io(io::Error),
    /// Nothing sighunt reads looks like this content.
    UnknownFormat,
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Io(e) => write!(f, "{e}"),
            OpenError::UnknownFormat => f.write_str(
                "format not recognised (not auditd, syslog, journald, eslogger, unified log, EVTX, Windows XML, JSON or Defender for Endpoint; use --input-format to force one)",
            ),
        }
    }
}

/// Opens `spec`, decompresses it if needed and sniffs its format (unless `forced`).
pub fn open(spec: &InputSpec, forced: Option<InputFormat>) -> Result<Opened, OpenError> {
    let name = spec.display();
    let raw: Box<dyn Read + Send> = match spec {
        InputSpec::File(p) => Box::new(File::open(p).map_err(OpenError::Io)?),
        InputSpec::Stdin => Box::new(io::stdin()),
    };
    let mut reader = BufReader::with_capacity(SNIFF_BYTES, raw);
    let head = fill_head(&mut reader).map_err(OpenError::Io)?;
    let compression = sniff::compression(head);
    if head.starts_with(decode::JOURNAL_MAGIC) {
        // A binary journal: journalctl exports it as journald JSON.
        let InputSpec::File(path) = spec else {
            return Err(OpenError::Io(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a binary journald file on stdin; name the file so journalctl can read it",
            )));
        };
        drop(reader);
        return Ok(Opened {
            name,
            format: InputFormat::Journald,
            compression,
            payload: Payload::Stream(decode::journal_export(path).map_err(OpenError::Io)?),
        });
    }
    let mut stream = decode::decompress(compression, Box::new(reader)).map_err(OpenError::Io)?;
    let format = match forced {
        Some(f) => f,
        None => {
            let head = fill_head(&mut stream).map_err(|e| match compression {
                Compression::None => OpenError::Io(e),
                // "failed to fill whole buffer" alone does not say it is the archive.
                _ => OpenError::Io(io::Error::new(
                    e.kind(),
                    format!("corrupt or truncated {compression:?} data: {e}"),
                )),
            })?;
            if head.is_empty() {
                // An empty input has no events; read it as audit text (a no-op).
                InputFormat::Auditd
            } else {
                sniff::sniff(head).ok_or(OpenError::UnknownFormat)?
            }
        }
    };
    // EVTX wants to seek: hand it the plain file when there is one.
    if format == InputFormat::Evtx && compression == Compression::None {
        if let InputSpec::File(p) = spec {
            drop(stream);
            return Ok(Opened {
                name,
                format,
                compression,
                payload: Payload::File(File::open(p).map_err(OpenError::Io)?),
            });
        }
    }
    Ok(Opened {
        name,
        format,
        compression,
        payload: Payload::Stream(stream),
    })
}

/// Fills the reader's buffer up to its capacity (or end of input) without consuming,
/// so sniffing sees more than the first `read` happened to return.
fn fill_head<R: BufRead + ?Sized>(r: &mut R) -> io::Result<&[u8]> {
    // BufRead offers no "fill more": peeking once is what the trait allows. Readers
    // here are BufReaders whose first read of a file returns a full buffer.
    loop {
        match r.fill_buf() {
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    r.fill_buf()
}
