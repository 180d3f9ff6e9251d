//! PowerShell read the way PowerShell reads it, for detection (as [`crate::shell`]
//! is for POSIX shells): a mode-aware tokenizer ([`lexer`]), tokens nested by
//! brackets ([`tree`]), constant folding of the obfuscations attackers use
//! ([`eval`]), and what a script does: commands with their arguments, method calls,
//! objects created, error suppression ([`mod@analyze`]).
//!
//! Nothing is run. Input is attacker-controlled: every loop makes progress, nesting,
//! token counts, folded values and the depth of code-inside-strings are bounded, and
//! nothing panics.

pub mod analyze;
pub mod eval;
pub mod lexer;
pub mod prefilter;
pub mod tree;

pub use analyze::{
    Analysis, Call, Invocation, Suppression, analyze, command_key, is_error_action, silences,
};
pub use lexer::{Tok, Token, tokenize};
pub use prefilter::may_suppress;

#[cfg(test)]
mod tests;
