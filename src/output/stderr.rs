//! Messages on stderr that never stop the run: `eprintln!` panics when stderr is a
//! closed pipe, and a message nobody can read is no reason to lose the findings.

use std::io::Write;

/// Writes `text` and a newline to stderr, ignoring failure.
pub fn say(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}");
}

/// `say`s a line formatted like `eprintln!`.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::output::stderr::say(&format!($($arg)*))
    };
}
