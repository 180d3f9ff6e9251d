//! PowerShell text as PowerShell's tokenizer splits it: the same characters are a
//! parameter in argument mode (`Get-Item -ea 0`) and an operator in expression mode
//! (`'a','b' -join ''`), so the lexer keeps the mode of every open construct.
//!
//! Comments are dropped, backtick escapes undone (in double-quoted strings `` `n ``
//! and friends become their characters; elsewhere a backtick makes the next
//! character literal, which is how ``I`E`X`` runs as `IEX`), en/em dashes and the
//! horizontal bar read as `-`, typographic quotes as quotes.

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    /// A command name at the start of a pipeline element (argument mode), as written
    /// (escapes undone), not yet resolved.
    Command(String),
    /// A bare word: a command argument, a hashtable key, a keyword, a member name
    /// after `.`/`::` (see [`Tok::Member`]).
    Word(String),
    /// `.name` / `::name` right after a value.
    Member(String),
    /// `-name` or `-name:` in argument mode (lower case, escapes undone).
    Parameter { name: String, colon: bool },
    /// `-name` in expression mode (`-f`, `-join`, `-replace`, `-not` …), lower case.
    Operator(String),
    /// `=`, `+`, `,`, `.`, `::`, `&`, `..`, `!`, `*`, `/`, `%`, `+=` …
    Punct(&'static str),
    /// `$name`, `${name}`, `$scope:name`; `splat` for `@name`. Name as written,
    /// scope included (`global:x`, `env:comspec`).
    Variable { name: String, splat: bool },
    /// A string's value (escapes undone); `expandable` for double-quoted text, whose
    /// `$x` and `$(…)` are expanded when evaluated.
    Str { value: String, expandable: bool },
    /// A numeric literal as written.
    Number(String),
    /// `[Type.Name]`, without brackets.
    Type(String),
    /// Opening `(`, `$(`, `@(`, `@{`, `{`, `[` (index).
    Open(&'static str),
    /// Closing `)`, `}`, `]`.
    Close(char),
    /// `|`.
    Pipe,
    /// `;`, a line end, `&&`, `||`: statement boundary.
    End,
    /// `>`, `2>&1` …: the next token is a redirection target.
    Redirect,
}

/// A token and whether white space came before it (`$a.b` vs `$a .b`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub tok: Tok,
    pub spaced: bool,
}

/// Most tokens produced from one text; the rest is ignored.
pub const MAX_TOKENS: usize = 200_000;
/// Deepest nesting tracked.
const MAX_NESTING: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// At the start of a statement: the next token decides.
    Start,
    /// Inside a command's arguments.
    Argument,
    /// Inside an expression.
    Expression,
    /// In a hashtable, where a key is expected.
    Key,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    Paren,
    Block,
    Hash,
    Index,
}

const KEYWORDS: &[&str] = &[
    "if",
    "elseif",
    "else",
    "foreach",
    "for",
    "while",
    "do",
    "until",
    "switch",
    "function",
    "filter",
    "try",
    "catch",
    "finally",
    "trap",
    "return",
    "throw",
    "exit",
    "break",
    "continue",
    "param",
    "begin",
    "process",
    "end",
    "data",
    "dynamicparam",
    "class",
    "enum",
    "using",
    "workflow",
    "in",
];

/// Characters that end a bare word in argument mode.
fn ends_word(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            ';' | '|' | '(' | ')' | '{' | '}' | ',' | '&' | '\'' | '"'
        )
}

fn map_char(c: char) -> char {
    match c {
        '\u{2013}' | '\u{2014}' | '\u{2015}' => '-',
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' => '\'',
        '\u{201C}' | '\u{201D}' | '\u{201E}' => '"',
        c => c,
    }
}

fn is_space(c: char) -> bool {
    c.is_whitespace() && c != '\n' && c != '\r'
}

fn name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '?'
}

struct Lexer {
    s: Vec<char>,
    i: usize,
    out: Vec<Token>,
    modes: Vec<(Frame, Mode)>,
    mode: Mode,
    spaced: bool,
}

/// Splits PowerShell text into tokens. Never fails: unterminated strings end at
/// the end of the text, stray closers are kept as tokens.
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut lx = Lexer {
        s: text.chars().map(map_char).collect(),
        i: 0,
        out: Vec::new(),
        modes: Vec::new(),
        mode: Mode::Start,
        spaced: true,
    };
    lx.run();
    lx.out
}

impl Lexer {
    fn at(&self, k: usize) -> Option<char> {
        self.s.get(self.i + k).copied()
    }

    fn push(&mut self, tok: Tok) {
        if self.out.len() < MAX_TOKENS {
            self.out.push(Token {
                tok,
                spaced: self.spaced,
            });
        }
        self.spaced = false;
    }

    fn open(&mut self, kind: &'static str, frame: Frame, next: Mode) {
        self.push(Tok::Open(kind));
        if self.modes.len() < MAX_NESTING {
            self.modes.push((frame, self.after_value_mode()));
        }
        self.mode = next;
    }

    /// The mode to return to after a group closes: a group is a value.
    fn after_value_mode(&self) -> Mode {
        match self.mode {
            Mode::Argument => Mode::Argument,
            _ => Mode::Expression,
        }
    }

    fn close(&mut self, c: char) {
        self.push(Tok::Close(c));
        self.mode = match self.modes.pop() {
            Some((_, m)) => m,
            None => Mode::Start,
        };
        self.members();
    }

    fn frame(&self) -> Option<Frame> {
        self.modes.last().map(|(f, _)| *f)
    }

    fn end_statement(&mut self) {
        self.push(Tok::End);
        self.mode = if self.frame() == Some(Frame::Hash) {
            Mode::Key
        } else {
            Mode::Start
        };
    }

    fn run(&mut self) {
        while self.i < self.s.len() && self.out.len() < MAX_TOKENS {
            let c = self.s[self.i];
            // Line continuation.
            if c == '`' && matches!(self.at(1), Some('\n' | '\r')) {
                self.i += 2;
                if self.s.get(self.i - 1) == Some(&'\r') && self.at(0) == Some('\n') {
                    self.i += 1;
                }
                self.spaced = true;
                continue;
            }
            if is_space(c) {
                self.i += 1;
                self.spaced = true;
                continue;
            }
            if c == '\n' || c == '\r' {
                self.i += 1;
                self.spaced = true;
                // A line end inside (…) or […] does not end a statement there.
                if matches!(self.frame(), Some(Frame::Paren | Frame::Index))
                    && self.mode != Mode::Argument
                {
                    continue;
                }
                if self.mode != Mode::Start && self.mode != Mode::Key {
                    self.end_statement();
                }
                continue;
            }
            // Words swallow a `#` inside them, so one seen here starts a token.
            if c == '#' {
                while self.i < self.s.len() && !matches!(self.s[self.i], '\n' | '\r') {
                    self.i += 1;
                }
                continue;
            }
            if c == '<' && self.at(1) == Some('#') {
                self.i += 2;
                while self.i < self.s.len() && !(self.s[self.i] == '#' && self.at(1) == Some('>')) {
                    self.i += 1;
                }
                self.i += 2;
                self.spaced = true;
                continue;
            }
            self.token(c);
        }
    }

    fn token(&mut self, c: char) {
        match c {
            ';' => {
                self.i += 1;
                self.end_statement();
            }
            '|' => {
                self.i += 1;
                if self.at(0) == Some('|') {
                    self.i += 1;
                    self.end_statement();
                } else {
                    self.push(Tok::Pipe);
                    self.mode = Mode::Start;
                }
            }
            '&' if self.at(1) == Some('&') => {
                self.i += 2;
                self.end_statement();
            }
            '\'' | '"' => {
                let tok = if c == '\'' {
                    self.single_quoted()
                } else {
                    self.double_quoted()
                };
                self.value(tok);
            }
            '@' if matches!(self.at(1), Some('\'' | '"')) && self.here_start() => {
                let tok = self.here_string();
                self.value(tok);
            }
            '@' if self.at(1) == Some('(') => {
                self.i += 2;
                self.open("@(", Frame::Paren, Mode::Start);
            }
            '@' if self.at(1) == Some('{') => {
                self.i += 2;
                self.open("@{", Frame::Hash, Mode::Key);
            }
            '@' if self.at(1).is_some_and(|n| name_char(n) || n == '{') => {
                self.i += 1;
                let name = self.variable_name();
                self.value(Tok::Variable { name, splat: true });
            }
            '$' if self.at(1) == Some('(') => {
                self.i += 2;
                self.open("$(", Frame::Paren, Mode::Start);
            }
            '$' => {
                self.i += 1;
                let name = self.variable_name();
                self.value(Tok::Variable { name, splat: false });
            }
            '(' => {
                self.i += 1;
                self.open("(", Frame::Paren, Mode::Start);
            }
            '{' => {
                self.i += 1;
                self.open("{", Frame::Block, Mode::Start);
            }
            ')' | '}' | ']' => {
                self.i += 1;
                self.close(c);
            }
            _ => match self.mode {
                Mode::Start => self.statement_start(c),
                Mode::Argument => self.argument(c),
                Mode::Expression => self.expression(c),
                Mode::Key => self.key(c),
            },
        }
    }

    /// A value token; in a statement's first position it makes it an expression.
    fn value(&mut self, tok: Tok) {
        self.push(tok);
        if self.mode == Mode::Start || self.mode == Mode::Key {
            self.mode = Mode::Expression;
        }
        // A member access right after the value.
        self.members();
    }

    /// `.name`, `::name`, `[index]` glued to the value before.
    fn members(&mut self) {
        loop {
            match (self.at(0), self.at(1)) {
                (Some('.'), Some(n)) if name_char(n) || n == '\'' || n == '"' => {
                    self.i += 1;
                    self.spaced = false;
                    self.push(Tok::Punct("."));
                    self.member_name();
                }
                (Some(':'), Some(':')) => {
                    self.i += 2;
                    self.spaced = false;
                    self.push(Tok::Punct("::"));
                    self.member_name();
                }
                (Some('['), _) => {
                    self.i += 1;
                    self.spaced = false;
                    self.open("[", Frame::Index, Mode::Expression);
                    return;
                }
                _ => return,
            }
        }
    }

    fn member_name(&mut self) {
        match self.at(0) {
            Some(q @ ('\'' | '"')) => {
                let tok = if q == '\'' {
                    self.single_quoted()
                } else {
                    self.double_quoted()
                };
                if let Tok::Str { value, .. } = tok {
                    self.push(Tok::Member(value.to_lowercase()));
                }
            }
            _ => {
                let name = self.bare(|c| name_char(c) || c == '`');
                self.push(Tok::Member(name.to_lowercase()));
            }
        }
    }

    /// Reads while `keep` holds, backtick escapes undone.
    fn bare(&mut self, keep: impl Fn(char) -> bool) -> String {
        let mut out = String::new();
        while let Some(c) = self.at(0) {
            if c == '`' {
                match self.at(1) {
                    Some(n) if n != '\n' && n != '\r' => {
                        out.push(n);
                        self.i += 2;
                        continue;
                    }
                    _ => break,
                }
            }
            if !keep(c) {
                break;
            }
            out.push(c);
            self.i += 1;
        }
        out
    }

    fn variable_name(&mut self) -> String {
        if self.at(0) == Some('{') {
            self.i += 1;
            let mut name = String::new();
            while let Some(c) = self.at(0) {
                self.i += 1;
                match c {
                    '}' => break,
                    '`' => {
                        if let Some(n) = self.at(0) {
                            name.push(n);
                            self.i += 1;
                        }
                    }
                    c => name.push(c),
                }
            }
            return name;
        }
        if let Some(c @ ('$' | '^' | '?')) = self.at(0) {
            self.i += 1;
            return c.to_string();
        }
        let mut name = self.bare(name_char);
        // `$scope:name` (but not `$x::y`).
        if self.at(0) == Some(':') && self.at(1).is_some_and(name_char) && !name.is_empty() {
            self.i += 1;
            name.push(':');
            name.push_str(&self.bare(name_char));
        }
        name
    }

    fn single_quoted(&mut self) -> Tok {
        self.i += 1;
        let mut value = String::new();
        while let Some(c) = self.at(0) {
            self.i += 1;
            if c == '\'' {
                if self.at(0) == Some('\'') {
                    value.push('\'');
                    self.i += 1;
                    continue;
                }
                break;
            }
            value.push(c);
        }
        Tok::Str {
            value,
            expandable: false,
        }
    }

    fn double_quoted(&mut self) -> Tok {
        self.i += 1;
        let mut value = String::new();
        let mut depth = 0usize;
        while let Some(c) = self.at(0) {
            self.i += 1;
            match c {
                '`' => {
                    if let Some(n) = self.at(0) {
                        self.i += 1;
                        value.push(escape(n));
                    }
                }
                '"' if depth == 0 => {
                    if self.at(0) == Some('"') {
                        value.push('"');
                        self.i += 1;
                        continue;
                    }
                    break;
                }
                '$' if self.at(0) == Some('(') => {
                    depth += 1;
                    value.push('$');
                }
                ')' if depth > 0 => {
                    depth -= 1;
                    value.push(')');
                }
                c => value.push(c),
            }
        }
        Tok::Str {
            value,
            expandable: true,
        }
    }

    fn here_start(&self) -> bool {
        let mut k = 2;
        while self.at(k).is_some_and(is_space) {
            k += 1;
        }
        matches!(self.at(k), Some('\n' | '\r'))
    }

    fn here_string(&mut self) -> Tok {
        let quote = self.s[self.i + 1];
        self.i += 2;
        while self.at(0).is_some_and(is_space) {
            self.i += 1;
        }
        if self.at(0) == Some('\r') {
            self.i += 1;
        }
        if self.at(0) == Some('\n') {
            self.i += 1;
        }
        let mut value = String::new();
        let mut line_start = true;
        while let Some(c) = self.at(0) {
            if line_start && c == quote && self.at(1) == Some('@') {
                self.i += 2;
                break;
            }
            self.i += 1;
            if c == '`' && quote == '"' {
                if let Some(n) = self.at(0) {
                    self.i += 1;
                    value.push(escape(n));
                    line_start = false;
                    continue;
                }
            }
            line_start = c == '\n';
            value.push(c);
        }
        while value.ends_with(['\n', '\r']) {
            value.pop();
        }
        Tok::Str {
            value,
            expandable: quote == '"',
        }
    }

    fn statement_start(&mut self, c: char) {
        // The call and dot-source operators: the command name is the next value.
        if (c == '&' || c == '.')
            && self
                .at(1)
                .is_none_or(|n| n.is_whitespace() || matches!(n, '\'' | '"' | '(' | '$' | '{'))
        {
            self.i += 1;
            self.push(Tok::Punct(if c == '&' { "&" } else { "." }));
            self.mode = Mode::Argument;
            return;
        }
        if c == '[' {
            self.type_literal();
            self.mode = Mode::Expression;
            self.members();
            return;
        }
        if c.is_ascii_digit() || (c == '.' && self.at(1).is_some_and(|n| n.is_ascii_digit())) {
            self.mode = Mode::Expression;
            self.expression(c);
            return;
        }
        if c == '-' || c == '!' || c == '+' || c == ',' {
            // A unary operator (`-not`, `-join`, `!`, `,`).
            self.mode = Mode::Expression;
            self.expression(c);
            return;
        }
        let word = self.bare(|c| !ends_word(c));
        if word.is_empty() {
            // Not a word start (a stray operator character): skip it.
            self.i += 1;
            return;
        }
        let lower = word.to_ascii_lowercase();
        if KEYWORDS.contains(&lower.as_str()) {
            self.push(Tok::Word(lower.clone()));
            self.mode = match lower.as_str() {
                "function" | "filter" | "class" | "enum" | "workflow" => Mode::Argument,
                "return" | "throw" | "exit" | "else" | "try" | "finally" | "do" | "begin"
                | "process" | "end" | "data" => Mode::Start,
                _ => Mode::Expression,
            };
            return;
        }
        self.push(Tok::Command(word));
        self.mode = Mode::Argument;
    }

    fn type_literal(&mut self) {
        self.i += 1;
        let mut depth = 0usize;
        let mut name = String::new();
        while let Some(c) = self.at(0) {
            self.i += 1;
            match c {
                '[' => {
                    depth += 1;
                    name.push(c);
                }
                ']' if depth == 0 => break,
                ']' => {
                    depth -= 1;
                    name.push(c);
                }
                '`' => {}
                '\n' | '\r' => break,
                c if !c.is_whitespace() => name.push(c),
                _ => {}
            }
        }
        self.push(Tok::Type(name.to_lowercase()));
    }

    fn argument(&mut self, c: char) {
        if c == '-'
            && self
                .at(1)
                .is_some_and(|n| n.is_alphabetic() || n == '_' || n == '?')
        {
            self.i += 1;
            let name = self.bare(|c| !ends_word(c) && c != ':');
            let colon = self.at(0) == Some(':');
            if colon {
                self.i += 1;
            }
            self.push(Tok::Parameter {
                name: name.to_lowercase(),
                colon,
            });
            return;
        }
        if c == '-' && self.at(1) == Some('-') && self.at(2) == Some('%') {
            // Stop-parsing: the rest of the line is literal.
            self.i += 3;
            let rest = self.bare(|c| c != '\n' && c != '\r');
            for w in rest.split_whitespace() {
                self.spaced = true;
                self.push(Tok::Word(w.to_string()));
            }
            return;
        }
        if let Some(len) = self.redirection() {
            self.i += len;
            self.push(Tok::Redirect);
            return;
        }
        if c == ',' {
            self.i += 1;
            self.push(Tok::Punct(","));
            return;
        }
        if c == '&' {
            self.i += 1;
            self.push(Tok::Punct("&"));
            return;
        }
        let word = self.bare(|c| !ends_word(c));
        if word.is_empty() {
            self.i += 1;
            return;
        }
        if looks_numeric(&word) {
            self.push(Tok::Number(word));
        } else {
            self.push(Tok::Word(word));
        }
    }

    /// `>`, `>>`, `2>`, `2>&1`, `*>` at the cursor: its length.
    fn redirection(&self) -> Option<usize> {
        let mut k = 0;
        if self.at(0).is_some_and(|c| c.is_ascii_digit() || c == '*') && self.at(1) == Some('>') {
            k = 1;
        }
        if self.at(k) != Some('>') {
            return None;
        }
        k += 1;
        if self.at(k) == Some('>') {
            k += 1;
        }
        if self.at(k) == Some('&') && self.at(k + 1).is_some_and(|c| c.is_ascii_digit()) {
            k += 2;
        }
        Some(k)
    }

    fn expression(&mut self, c: char) {
        if c == '-' && self.at(1).is_some_and(|n| n.is_alphabetic()) {
            self.i += 1;
            let name = self.bare(|c| c.is_alphanumeric());
            self.push(Tok::Operator(name.to_lowercase()));
            return;
        }
        if c.is_ascii_digit() || (c == '.' && self.at(1).is_some_and(|n| n.is_ascii_digit())) {
            let word = self.bare(|c| c.is_alphanumeric() || c == '.' || c == '_');
            let word = if word.contains("..") {
                // `1..5`: the range operator follows the number.
                let (n, _) = word.split_once("..").unwrap_or((&word, ""));
                self.i -= word.chars().count() - n.chars().count();
                n.to_string()
            } else {
                word
            };
            self.push(Tok::Number(word));
            self.members();
            return;
        }
        if c == '[' {
            self.type_literal();
            self.members();
            return;
        }
        const PUNCT: &[&str] = &[
            "::", "..", "+=", "-=", "*=", "/=", "%=", "++", "--", "=", "+", "-", "*", "/", "%",
            ",", ".", "!", "&", ">", "<",
        ];
        for p in PUNCT {
            if p.chars().enumerate().all(|(k, pc)| self.at(k) == Some(pc)) {
                self.i += p.chars().count();
                self.push(Tok::Punct(p));
                if p.ends_with('=') && *p != "==" {
                    // An assignment's right side is a statement (`$x = Get-Item`).
                    self.mode = Mode::Start;
                }
                return;
            }
        }
        if name_char(c) || c == '`' {
            let word = self.bare(|c| name_char(c) || c == '-' || c == '.');
            let lower = word.to_ascii_lowercase();
            self.push(Tok::Word(lower.clone()));
            if KEYWORDS.contains(&lower.as_str()) && lower != "in" {
                self.mode = Mode::Start;
            }
            return;
        }
        // Anything else is not PowerShell we read; skip it.
        self.i += 1;
    }

    fn key(&mut self, c: char) {
        let key = self.bare(|c| !ends_word(c) && c != '=');
        if key.is_empty() {
            self.i += 1;
            let _ = c;
            return;
        }
        self.push(Tok::Word(key));
        self.mode = Mode::Expression;
    }
}

/// A backtick escape in double-quoted text.
fn escape(n: char) -> char {
    match n {
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        '0' => '\0',
        'a' => '\u{7}',
        'b' => '\u{8}',
        'f' => '\u{c}',
        'v' => '\u{b}',
        'e' => '\u{1b}',
        other => other,
    }
}

fn looks_numeric(word: &str) -> bool {
    let w = word.strip_prefix('-').unwrap_or(word);
    let w = w.to_ascii_lowercase();
    if let Some(hex) = w.strip_prefix("0x") {
        return !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit());
    }
    !w.is_empty()
        && w.starts_with(|c: char| c.is_ascii_digit())
        && w.chars().all(|c| c.is_ascii_digit() || c == '.')
}
