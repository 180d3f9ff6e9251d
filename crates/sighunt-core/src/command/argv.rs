//! Argument vectors shown as text: one shell-readable line from an argv.

/// Bytes that need no quoting in a shell word.
const SHELL_SAFE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0x21;
    while b < 0x7f {
        table[b] = true;
        b += 1;
    }
    let special = b"'\"\\$`;&|<>(){}*?[]!#~";
    let mut i = 0;
    while i < special.len() {
        table[special[i] as usize] = false;
        i += 1;
    }
    table
};

/// Joins argv for display: arguments with spaces or quotes are single-quoted the way
/// a shell would need them, so the command line reads back unambiguously.
pub fn join_argv(argv: &[String]) -> String {
    let mut out = String::new();
    join_argv_into(argv, &mut out);
    out
}

/// [`join_argv`] appended to `out`, reusing its allocation where it has room.
pub fn join_argv_into(argv: &[String], out: &mut String) {
    // One allocation unless an argument holds a single quote: room for a separator
    // and a pair of quotes per argument (a few bytes over when none is quoted,
    // instead of a regrowth of the whole line for each quoted one).
    out.reserve(argv.iter().map(|a| a.len() + 3).sum());
    for (i, a) in argv.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        // Every byte looked up, without a branch per byte (arguments are mostly
        // plain, read to the end either way).
        let plain = !a.is_empty()
            && a.bytes()
                .fold(true, |safe, b| safe & SHELL_SAFE[usize::from(b)]);
        if plain {
            out.push_str(a);
        } else {
            out.push('\'');
            for (j, part) in a.split('\'').enumerate() {
                if j > 0 {
                    out.push_str(r"'\''");
                }
                out.push_str(part);
            }
            out.push('\'');
        }
    }
}
