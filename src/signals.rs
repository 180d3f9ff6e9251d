//! Signals for the continuous modes: SIGINT/SIGTERM request a clean stop (pending
//! findings are flushed), SIGHUP asks the plugin to reopen its output file.

use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);
static HANGUP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop(_: libc::c_int) {
    if STOP.swap(true, Ordering::SeqCst) {
        // A second Ctrl-C: the user does not want to wait for the final flush.
        unsafe { libc::_exit(130) };
    }
}

extern "C" fn on_hangup(_: libc::c_int) {
    HANGUP.store(true, Ordering::SeqCst);
}

/// Makes SIGINT and SIGTERM request a clean stop (pending findings are flushed)
/// instead of killing the process, and SIGHUP set a flag ([`take_hangup`]) that
/// the plugin uses to reopen its output file. Returns the stop flag.
pub fn install_signal_handlers() -> &'static AtomicBool {
    install(&[
        (libc::SIGINT, on_stop),
        (libc::SIGTERM, on_stop),
        (libc::SIGHUP, on_hangup),
    ])
}

/// Makes SIGINT and SIGTERM request a clean stop, and nothing else: a hunt still
/// ends on SIGHUP (its terminal closed) as any command does. A signal ignored when
/// the process started (a background job of a shell ignores SIGINT) stays ignored.
/// Returns the stop flag.
pub fn install_stop_handlers() -> &'static AtomicBool {
    let not_ignored: Vec<(libc::c_int, extern "C" fn(libc::c_int))> = [libc::SIGINT, libc::SIGTERM]
        .into_iter()
        .filter(|&sig| !ignored(sig))
        .map(|sig| (sig, on_stop as extern "C" fn(libc::c_int)))
        .collect();
    install(&not_ignored)
}

/// Whether `sig` is ignored now (`SIG_IGN`).
fn ignored(sig: libc::c_int) -> bool {
    // SAFETY: querying only (a null new action), into an action we own.
    unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, std::ptr::null(), &mut current) == 0
            && current.sa_sigaction == libc::SIG_IGN
    }
}

fn install(handlers: &[(libc::c_int, extern "C" fn(libc::c_int))]) -> &'static AtomicBool {
    // SAFETY: the handlers only store to atomics (async-signal-safe) or `_exit`.
    unsafe {
        for &(sig, handler) in handlers {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler as usize;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }
    &STOP
}

/// Whether a SIGHUP arrived since the last call.
pub fn take_hangup() -> bool {
    HANGUP.swap(false, Ordering::SeqCst)
}
