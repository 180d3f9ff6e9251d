//! Inputs: turn the paths a user names into readable, decompressed streams with a
//! known format. Directories are walked recursively without leaving the tree
//! (symbolic links are not followed unless asked, and never into `/proc`, `/sys` or
//! `/dev`), only regular files are opened (a FIFO, device or socket found in a walk
//! is skipped and counted; the type is checked on the opened descriptor, so a file
//! swapped after the walk cannot make a read block), compression (gzip, zstd, xz, bzip2, lz4)
//! and binary journald files are recognised by their magic bytes (see [`decode`]), and the format is sniffed from content.

pub mod decode;
pub mod lines;
pub mod sniff;
pub mod splitter;
pub mod tail;

pub mod safe_open;

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use safe_open::{NotRegular, open_regular};

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
    /// Why a walk passed over this entry without reading it (counted, not an error).
    pub skip: Option<Skip>,
}

/// Why a directory walk did not read an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// A symbolic link, not followed (`--follow-links` opts in).
    Symlink,
    /// A link (or the walked path itself) into `/proc`, `/sys` or `/dev`: never read
    /// by a walk (a link to `/proc/kmsg` would block and drain the kernel log).
    PseudoFs,
    /// A FIFO, socket or device: only regular files are read.
    NotRegular,
}

/// A found file, or a walk error to report.
pub type Discovered = Result<Found, InputError>;

/// How directories are walked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WalkOptions {
    /// Follow symbolic links (out of the tree too), except into `/proc`, `/sys` and
    /// `/dev`. Off by default: a walk stays in the tree it was given.
    pub follow_links: bool,
}

/// Kernel pseudo-filesystems a walk never enters, whatever the links say.
const PSEUDO_FS: [&str; 3] = ["/proc", "/sys", "/dev"];

/// Whether `path` (canonical) is a pseudo-filesystem or lies under one.
fn in_pseudo_fs(path: &Path) -> bool {
    PSEUDO_FS.iter().any(|p| path.starts_with(p))
}

/// Expands user-named paths: `-` is stdin, a directory yields its files recursively
/// (sorted by name, so runs are reproducible) without following symbolic links,
/// anything else is taken as a file.
pub fn discover(paths: &[PathBuf]) -> Vec<Discovered> {
    discover_with(paths, WalkOptions::default())
}

/// [`discover`] with walk options.
pub fn discover_with(paths: &[PathBuf], options: WalkOptions) -> Vec<Discovered> {
    let mut out = Vec::new();
    let found = |spec, named, skip| Ok(Found { spec, named, skip });
    for path in paths {
        if path.as_os_str() == "-" {
            out.push(found(InputSpec::Stdin, true, None));
            continue;
        }
        if !path.is_dir() {
            out.push(found(InputSpec::File(path.clone()), true, None));
            continue;
        }
        let root = path.canonicalize().unwrap_or_else(|_| path.clone());
        if in_pseudo_fs(&root) {
            out.push(found(
                InputSpec::File(path.clone()),
                true,
                Some(Skip::PseudoFs),
            ));
            continue;
        }
        let mut walk = walkdir::WalkDir::new(path)
            .follow_links(options.follow_links)
            .sort_by_file_name()
            .into_iter();
        while let Some(entry) = walk.next() {
            match entry {
                Ok(e) => {
                    let ty = e.file_type();
                    let skip = if e.path_is_symlink() && !options.follow_links {
                        Some(Skip::Symlink)
                    } else if e.path_is_symlink() || (ty.is_dir() && e.depth() > 0) {
                        // Where a followed link (or a directory of `/` itself) leads.
                        let real = if e.path_is_symlink() {
                            e.path().canonicalize().ok()
                        } else {
                            Some(root.join(e.path().strip_prefix(path).unwrap_or(e.path())))
                        };
                        real.filter(|r| in_pseudo_fs(r)).map(|_| Skip::PseudoFs)
                    } else {
                        None
                    };
                    if skip.is_some() && ty.is_dir() {
                        walk.skip_current_dir();
                    }
                    if ty.is_dir() && skip.is_none() {
                        continue;
                    }
                    let skip = skip.or((!ty.is_file()).then_some(Skip::NotRegular));
                    out.push(found(InputSpec::File(e.into_path()), false, skip));
                }
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
    /// An uncompressed regular file, from its start: EVTX seeks in it, the other
    /// formats read it through a buffer of their own size.
    File(File),
}

/// An opened input with its sniffed format.
pub struct Opened {
    pub name: Arc<str>,
    pub format: InputFormat,
    pub compression: Compression,
    pub payload: Payload,
    /// The opened regular file (a second descriptor of it) and its size when opened:
    /// a file that shrinks while it is read is reported, and parallel ranges read
    /// this very file, not whatever its name points to later.
    pub file: Option<(File, u64)>,
}

/// Why an input could not be opened.
#[derive(Debug)]
pub enum OpenError {
    Io(io::Error),
    /// A device or socket (or a FIFO found by a walk): only regular files are read.
    NotRegular(NotRegular),
    /// Nothing sighunt reads looks like this content.
    UnknownFormat,
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Io(e) => write!(f, "{e}"),
            OpenError::NotRegular(kind) => {
                write!(f, "{kind}, not a regular file: not read")
            }
            OpenError::UnknownFormat => f.write_str(
                "format not recognised (not auditd, syslog, journald, eslogger, unified log, EVTX, Windows XML, JSON or Defender for Endpoint; use --input-format to force one)",
            ),
        }
    }
}

/// Opens `spec`, decompresses it if needed and sniffs its format (unless `forced`).
/// A named FIFO (`<(zcat log.gz)`) is read like stdin; opening one never blocks, and
/// one without a writer reads as empty. Devices and sockets are refused.
pub fn open(spec: &InputSpec, forced: Option<InputFormat>) -> Result<Opened, OpenError> {
    open_as(spec, forced, true)
}

/// [`open`]; `allow_fifo` false refuses FIFOs too (a file found by a walk).
pub fn open_as(
    spec: &InputSpec,
    forced: Option<InputFormat>,
    allow_fifo: bool,
) -> Result<Opened, OpenError> {
    let name = spec.display();
    let mut file = None;
    let raw: Box<dyn Read + Send> = match spec {
        InputSpec::File(p) => {
            let (f, regular_len) = safe_open::open_input(p, allow_fifo)?;
            if let Some(len) = regular_len {
                file = Some((f.try_clone().map_err(OpenError::Io)?, len));
            }
            Box::new(f)
        }
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
            file: None,
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
    // A plain regular file goes back as the file itself, from its start (the same
    // descriptor's file; never the path opened again): EVTX wants to seek, and the
    // text readers read it in larger blocks than the sniffing buffer's.
    if compression == Compression::None {
        if let Some((f, len)) = &file {
            drop(stream);
            let mut whole = f.try_clone().map_err(OpenError::Io)?;
            whole.rewind().map_err(OpenError::Io)?;
            let file = Some((f.try_clone().map_err(OpenError::Io)?, *len));
            return Ok(Opened {
                name,
                format,
                compression,
                payload: Payload::File(whole),
                file,
            });
        }
    }
    Ok(Opened {
        name,
        format,
        compression,
        payload: Payload::Stream(stream),
        file,
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
