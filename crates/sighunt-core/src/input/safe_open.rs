//! Opening an input without blocking and without trusting the name: the file is
//! opened with `O_NONBLOCK` (opening a FIFO with no writer, or a device, returns at
//! once) and its type is checked with `fstat` on the opened descriptor, so a file
//! swapped for a FIFO or device between the directory walk and the open is caught.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use super::OpenError;

/// What a path turned out to be when it was not a regular file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotRegular {
    Fifo,
    CharDevice,
    BlockDevice,
    Socket,
    Directory,
    Other,
}

impl fmt::Display for NotRegular {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NotRegular::Fifo => "a FIFO",
            NotRegular::CharDevice => "a character device",
            NotRegular::BlockDevice => "a block device",
            NotRegular::Socket => "a socket",
            NotRegular::Directory => "a directory",
            NotRegular::Other => "not a file",
        })
    }
}

/// Opens `path` for reading without blocking (`O_NONBLOCK`, `O_NOCTTY`) and returns
/// the file with its type, read from the descriptor (not the name).
fn open_nonblocking(path: &Path) -> io::Result<(File, std::fs::Metadata)> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let meta = file.metadata()?;
    Ok((file, meta))
}

fn kind(meta: &std::fs::Metadata) -> Option<NotRegular> {
    let t = meta.file_type();
    if t.is_file() {
        None
    } else if t.is_fifo() {
        Some(NotRegular::Fifo)
    } else if t.is_char_device() {
        Some(NotRegular::CharDevice)
    } else if t.is_block_device() {
        Some(NotRegular::BlockDevice)
    } else if t.is_socket() {
        Some(NotRegular::Socket)
    } else if t.is_dir() {
        Some(NotRegular::Directory)
    } else {
        Some(NotRegular::Other)
    }
}

/// Clears `O_NONBLOCK` again: a regular file ignores it, and a FIFO read like stdin
/// should wait for its writer's data rather than fail with `EAGAIN`.
fn set_blocking(file: &File) -> io::Result<()> {
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own, with integer arguments only.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Opens a regular file, never blocking: anything else is an error naming what it
/// is (the type checked on the opened descriptor).
pub fn open_regular(path: &Path) -> io::Result<File> {
    let (file, meta) = open_nonblocking(path)?;
    if let Some(k) = kind(&meta) {
        return Err(io::Error::other(format!("{k}, not a regular file")));
    }
    set_blocking(&file)?;
    Ok(file)
}

/// Opens an input: a regular file (with its size), or, when `allow_fifo`, a FIFO (a
/// pipe the user named, read like stdin; no size). Never blocks on the open.
pub(crate) fn open_input(path: &Path, allow_fifo: bool) -> Result<(File, Option<u64>), OpenError> {
    let (file, meta) = open_nonblocking(path).map_err(OpenError::Io)?;
    match kind(&meta) {
        None => {
            set_blocking(&file).map_err(OpenError::Io)?;
            Ok((file, Some(meta.len())))
        }
        Some(NotRegular::Fifo) if allow_fifo => {
            set_blocking(&file).map_err(OpenError::Io)?;
            Ok((file, None))
        }
        Some(NotRegular::Directory) => Err(OpenError::Io(io::Error::other("is a directory"))),
        Some(k) => Err(OpenError::NotRegular(k)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn mkfifo(path: &Path) {
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    }

    #[test]
    fn a_fifo_without_writer_neither_blocks_nor_passes_as_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        mkfifo(&fifo);
        let err = open_regular(&fifo).unwrap_err();
        assert!(err.to_string().contains("a FIFO"), "{err}");
        assert!(matches!(
            open_input(&fifo, false),
            Err(OpenError::NotRegular(NotRegular::Fifo))
        ));
        // Named by the user: read like stdin; with no writer it is empty at once.
        let (mut f, size) = open_input(&fifo, true).unwrap();
        assert_eq!(size, None);
        let mut buf = Vec::new();
        assert_eq!(f.read_to_end(&mut buf).unwrap(), 0);
    }

    #[test]
    fn devices_and_directories_are_refused_and_files_opened_with_their_size() {
        assert!(matches!(
            open_input(Path::new("/dev/null"), true),
            Err(OpenError::NotRegular(NotRegular::CharDevice))
        ));
        let dir = tempfile::tempdir().unwrap();
        assert!(open_input(dir.path(), true).is_err());
        let file = dir.path().join("a.log");
        std::fs::write(&file, b"12345").unwrap();
        let (_, size) = open_input(&file, false).unwrap();
        assert_eq!(size, Some(5));
    }
}
