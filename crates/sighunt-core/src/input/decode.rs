//! Decoding what responders collect into the text sighunt reads: compressed logs
//! (gzip, zstd, xz, bzip2, lz4), recognised by their magic bytes and decompressed
//! as they are read, all with pure-Rust decoders; and binary journald files, which
//! only `journalctl` reads reliably, turned into its JSON export.

use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

/// Compression recognised by magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
    Xz,
    Bzip2,
    /// The LZ4 frame format (`lz4` command line tool), not raw blocks.
    Lz4,
}

/// The magic bytes of a binary journald file (`*.journal`).
pub const JOURNAL_MAGIC: &[u8; 8] = b"LPKSHHRH";

/// Buffer of a decompressed stream.
const DECODED_BUFFER: usize = 64 * 1024;

/// The compression of a stream whose first bytes are `head`.
pub fn compression(head: &[u8]) -> Compression {
    if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Compression::Xz
    } else if head.len() >= 4 && head.starts_with(b"BZh") && (b'1'..=b'9').contains(&head[3]) {
        Compression::Bzip2
    } else if head.starts_with(&[0x04, 0x22, 0x4d, 0x18]) {
        Compression::Lz4
    } else {
        Compression::None
    }
}

/// `reader` decompressed: concatenated streams (`pigz`, `pbzip2`, `xz` of appended
/// files) are read to the end, not just the first one.
pub fn decompress(
    compression: Compression,
    reader: Box<dyn BufRead + Send>,
) -> io::Result<Box<dyn BufRead + Send>> {
    let buffered = |r: Box<dyn Read + Send>| -> Box<dyn BufRead + Send> {
        Box::new(BufReader::with_capacity(DECODED_BUFFER, r))
    };
    Ok(match compression {
        Compression::None => reader,
        Compression::Gzip => buffered(Box::new(flate2::bufread::MultiGzDecoder::new(reader))),
        Compression::Zstd => buffered(Box::new(zstd::stream::read::Decoder::with_buffer(reader)?)),
        Compression::Xz => buffered(Box::new(lzma_rust2::XzReader::new(reader, true))),
        Compression::Bzip2 => buffered(Box::new(bzip2::bufread::MultiBzDecoder::new(reader))),
        Compression::Lz4 => buffered(Box::new(Lz4Frames(Some(
            lz4_flex::frame::FrameDecoder::new(reader),
        )))),
    })
}

/// LZ4 frames one after another: the decoder ends each frame with a read of 0 bytes;
/// the input ends only when no byte follows. Each frame gets a fresh decoder, whose
/// buffers are sized by that frame's header (lz4_flex reuses them across frames).
struct Lz4Frames<R: BufRead>(Option<lz4_flex::frame::FrameDecoder<R>>);

impl<R: BufRead> Read for Lz4Frames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(decoder) = self.0.as_mut() else {
                return Ok(0);
            };
            let n = decoder.read(buf)?;
            if n > 0 || buf.is_empty() || decoder.get_mut().fill_buf()?.is_empty() {
                return Ok(n);
            }
            let inner = self.0.take().map(lz4_flex::frame::FrameDecoder::into_inner);
            self.0 = inner.map(lz4_flex::frame::FrameDecoder::new);
        }
    }
}

/// The program that exports binary journal files.
const JOURNALCTL: &str = "journalctl";

/// A binary journal file as `journalctl --file PATH -o json` exports it, read as it
/// is written. An error that says what to do when journalctl is not installed.
pub fn journal_export(path: &Path) -> io::Result<Box<dyn BufRead + Send>> {
    let child = Command::new(JOURNALCTL)
        .arg("--file")
        .arg(path)
        .args(["--output=json", "--no-pager", "--quiet"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| {
            let why = if e.kind() == io::ErrorKind::NotFound {
                "journalctl is not installed".to_string()
            } else {
                format!("journalctl cannot be started: {e}")
            };
            io::Error::new(
                e.kind(),
                format!(
                    "a binary journald file; reading it needs journalctl (systemd), and {why}: \
                     export it where systemd is, with `journalctl --file FILE -o json > FILE.json`, \
                     and hunt that"
                ),
            )
        })?;
    Ok(Box::new(BufReader::with_capacity(
        DECODED_BUFFER,
        JournalExport::new(child),
    )))
}

/// journalctl's output; its exit status is checked at the end, and the child is
/// always reaped (killed first if the reader stops early).
struct JournalExport {
    child: Child,
    stdout: Option<ChildStdout>,
}

impl JournalExport {
    fn new(mut child: Child) -> JournalExport {
        let stdout = child.stdout.take();
        JournalExport { child, stdout }
    }
}

impl Read for JournalExport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(out) = self.stdout.as_mut() else {
            return Ok(0);
        };
        let n = out.read(buf)?;
        if n == 0 {
            self.stdout = None;
            let status = self.child.wait()?;
            if !status.success() {
                return Err(io::Error::other(format!(
                    "journalctl could not read the journal file ({status}); it may be corrupt \
                     or from a newer systemd"
                )));
            }
        }
        Ok(n)
    }
}

impl Drop for JournalExport {
    fn drop(&mut self) {
        if self.stdout.take().is_some() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const TEXT: &[u8] = b"type=EXECVE msg=audit(1.0:1): argc=2 a0=\"nohup\" a1=\"/tmp/x\"\n";

    fn roundtrip(compressed: Vec<u8>, expected: Compression) {
        assert_eq!(compression(&compressed), expected);
        let mut out = Vec::new();
        decompress(expected, Box::new(io::Cursor::new(compressed)))
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(
            out,
            [TEXT, TEXT].concat(),
            "both concatenated streams of {expected:?}"
        );
    }

    #[test]
    fn bzip2_and_lz4_concatenated_streams_decode() {
        // Encoders of the same crates stand in for `bzip2` and `lz4` here; the
        // integration tests use the real command line tools.
        let mut bz = Vec::new();
        for _ in 0..2 {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
            e.write_all(TEXT).unwrap();
            bz.extend(e.finish().unwrap());
        }
        roundtrip(bz, Compression::Bzip2);

        // Frames of different block sizes (`lz4 -B4` then `lz4 -B5`).
        let mut lz = Vec::new();
        for size in [
            lz4_flex::frame::BlockSize::Max64KB,
            lz4_flex::frame::BlockSize::Max256KB,
        ] {
            let info = lz4_flex::frame::FrameInfo::new().block_size(size);
            let mut e = lz4_flex::frame::FrameEncoder::with_frame_info(info, Vec::new());
            e.write_all(TEXT).unwrap();
            lz.extend(e.finish().unwrap());
        }
        roundtrip(lz, Compression::Lz4);
    }

    #[test]
    fn magic_bytes_decide_and_text_is_not_compressed() {
        assert_eq!(compression(b"\xfd7zXZ\0\0\x04"), Compression::Xz);
        assert_eq!(compression(b"BZh9"), Compression::Bzip2);
        assert_eq!(compression(b"BZh"), Compression::None, "too short");
        assert_eq!(
            compression(b"BZhello"),
            Compression::None,
            "text starting BZh"
        );
        assert_eq!(compression(b"type=SYSCALL"), Compression::None);
        assert_eq!(compression(b""), Compression::None);
    }

    #[test]
    fn corrupt_xz_is_an_error_not_a_panic() {
        let mut bad = b"\xfd7zXZ\0".to_vec();
        bad.extend([0xffu8; 64]);
        let mut out = Vec::new();
        let read = decompress(Compression::Xz, Box::new(io::Cursor::new(bad)))
            .and_then(|mut r| r.read_to_end(&mut out));
        assert!(read.is_err());
    }
}
