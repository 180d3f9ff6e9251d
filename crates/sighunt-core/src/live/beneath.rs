//! Opening paths of a procfs tree without leaving it: `openat2` with
//! `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS` (Linux 5.6+) from a descriptor of the
//! root, so neither an absolute or `..` link nor a magic link (`PID/cwd`, `PID/root`,
//! `PID/fd/N`) in a crafted `--proc-root` can lead a read elsewhere; `O_NONBLOCK`,
//! so a FIFO cannot block it. Where `openat2` is missing, the path is resolved and
//! checked to stay under the root before it is opened (a check, not a guarantee,
//! against a tree that changes meanwhile).

use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// A directory tree that reads stay beneath.
#[derive(Debug)]
pub struct Beneath {
    root: PathBuf,
    /// `O_PATH` descriptor of the root, when it could be opened.
    dir: Option<OwnedFd>,
    /// The root's real path, for the fallback check.
    real_root: Option<PathBuf>,
}

fn cstr(p: &OsStr) -> io::Result<CString> {
    CString::new(p.as_bytes()).map_err(|_| io::Error::other("NUL byte in a path"))
}

impl Beneath {
    pub fn new(root: &Path) -> Beneath {
        let dir = cstr(root.as_os_str()).ok().and_then(|c| {
            // SAFETY: a valid C string; the descriptor returned is owned below.
            let fd = unsafe {
                libc::open(
                    c.as_ptr(),
                    libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
                )
            };
            // SAFETY: a fresh descriptor we own.
            (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
        });
        Beneath {
            root: root.to_path_buf(),
            dir,
            real_root: root.canonicalize().ok(),
        }
    }

    /// Opens `rel` (relative to the root) with `flags` (plus `O_NONBLOCK`,
    /// `O_NOCTTY`, `O_CLOEXEC`), never resolving outside the root.
    pub fn open(&self, rel: &str, flags: libc::c_int) -> io::Result<OwnedFd> {
        let rel = rel.trim_start_matches('/');
        // openat2 refuses O_PATH with other access flags.
        let flags = if flags & libc::O_PATH != 0 {
            flags | libc::O_CLOEXEC
        } else {
            flags | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC
        };
        if let Some(dir) = &self.dir {
            match openat2(dir, rel, flags) {
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EPERM)) => {}
                other => return other,
            }
        }
        self.open_checked(rel, flags)
    }

    /// Without `openat2`: resolve, check it stays under the root, open the result
    /// without following a final link.
    fn open_checked(&self, rel: &str, flags: libc::c_int) -> io::Result<OwnedFd> {
        let real = self.root.join(rel).canonicalize()?;
        let inside = self.real_root.as_ref().is_some_and(|r| real.starts_with(r));
        if !inside {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "resolves outside the proc root",
            ));
        }
        let c = cstr(real.as_os_str())?;
        // SAFETY: a valid C string; the descriptor returned is owned below.
        let fd = unsafe { libc::open(c.as_ptr(), flags | libc::O_NOFOLLOW) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh descriptor we own.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// Opens `rel` for reading; only a regular file (checked on the descriptor).
    pub fn open_file(&self, rel: &str) -> io::Result<File> {
        let file = File::from(self.open(rel, libc::O_RDONLY)?);
        if !file.metadata()?.is_file() {
            return Err(io::Error::other("not a regular file"));
        }
        Ok(file)
    }

    /// The target of the link `rel` (read, never followed); its directory resolved
    /// beneath the root.
    pub fn read_link(&self, rel: &str) -> io::Result<PathBuf> {
        let rel = rel.trim_start_matches('/');
        let (parent, name) = match rel.rsplit_once('/') {
            Some((p, n)) => (Some(p), n),
            None => (None, rel),
        };
        let parent_fd;
        let dirfd = match parent {
            Some(p) => {
                parent_fd = self.open(p, libc::O_PATH | libc::O_DIRECTORY)?;
                parent_fd.as_raw_fd()
            }
            None => self
                .dir
                .as_ref()
                .map(|d| d.as_raw_fd())
                .ok_or_else(|| io::Error::other("proc root cannot be opened"))?,
        };
        readlinkat(dirfd, name)
    }

    /// Opens the directory `rel` beneath the root and lists (name, link target) of
    /// its entries that are links, at most `max` entries looked at.
    pub fn links_in(&self, rel: &str, max: usize) -> io::Result<Vec<(String, PathBuf)>> {
        let dir = self.open(rel, libc::O_RDONLY | libc::O_DIRECTORY)?;
        // List the opened directory itself, not whatever its path names by now.
        let listing = PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd()));
        let mut out = Vec::new();
        for entry in std::fs::read_dir(listing)?.take(max) {
            let Ok(entry) = entry else { continue };
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if let Ok(target) = readlinkat(dir.as_raw_fd(), &name) {
                out.push((name, target));
            }
        }
        Ok(out)
    }
}

fn openat2(dir: &OwnedFd, rel: &str, flags: libc::c_int) -> io::Result<OwnedFd> {
    let c = cstr(OsStr::new(rel))?;
    // SAFETY: open_how is plain data; zeroed is a valid value.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = flags as u64;
    how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS;
    // SAFETY: valid descriptor, C string and struct pointer with its size.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            c.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

fn readlinkat(dirfd: libc::c_int, name: &str) -> io::Result<PathBuf> {
    let c = cstr(OsStr::new(name))?;
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: valid descriptor, C string and buffer with its length.
    let n = unsafe { libc::readlinkat(dirfd, c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    use std::os::unix::ffi::OsStringExt;
    Ok(PathBuf::from(std::ffi::OsString::from_vec(buf)))
}
