//! What a PowerShell script does, read from its tokens: the commands it runs with
//! their arguments (values folded), the methods it calls, the objects it creates,
//! and whether it silences errors, in every form PowerShell accepts. Strings given
//! to `Invoke-Expression`, `[ScriptBlock]::Create`, `InvokeScript` or a nested
//! `powershell -Command` are code and are read the same way, to a bounded depth;
//! reaching the bound is reported, never silent.

use super::eval::{self, Val, Vars, var_key};
use super::lexer::{Tok, tokenize};
use super::tree::{self, Node};

/// A command run by the script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// Lower case, directory and `.exe` removed (`powershell`, `iex`, `certutil`).
    pub name: String,
    /// Parameters as `-name` (lower case) and argument values as text (folded when
    /// constant, else as written), in order.
    pub args: Vec<String>,
}

/// A method called on an object or type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Lower case; `type::method` for a static call (`convert::frombase64string`,
    /// `system.` dropped from the type).
    pub name: String,
    /// Argument values as text (folded when constant).
    pub args: Vec<String>,
}

/// How errors were silenced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Suppression {
    /// For the whole script: `$ErrorActionPreference`, Set-Variable,
    /// `$PSDefaultParameterValues['*:ErrorAction']`.
    pub preference: bool,
    /// For single commands: `-ErrorAction`/`-ErrorA…`/`-ea`, a splatted ErrorAction.
    pub parameter: bool,
}

impl Suppression {
    pub fn any(self) -> bool {
        self.preference || self.parameter
    }
}

/// Everything read from one script.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    pub commands: Vec<Invocation>,
    pub calls: Vec<Call>,
    /// Types and COM classes created (`New-Object X`, `-ComObject X`, `[X]::new()`),
    /// lower case, `system.` dropped.
    pub created: Vec<String>,
    /// Constant strings the script computes (literals and folded expressions).
    pub strings: Vec<String>,
    pub suppression: Suppression,
    /// Code inside code was nested deeper than `max_depth`.
    pub depth_limited: bool,
}

/// Most items of each kind kept from one script.
const MAX_ITEMS: usize = 4096;
/// Most bytes of constant strings kept from one script.
const MAX_STRING_BYTES: usize = 4 << 20;

/// Reads `text` as PowerShell. Strings run as code are followed `max_depth` levels.
pub fn analyze(text: &str, max_depth: usize) -> Analysis {
    let mut a = Analysis::default();
    let mut vars = Vars::default();
    Walker {
        out: &mut a,
        max_depth,
        string_bytes: 0,
    }
    .script(text, &mut vars, 0);
    a
}

/// A value that silences errors: SilentlyContinue (0) or Ignore (4).
pub fn silences(v: &Val) -> bool {
    match v {
        Val::Int(n) => *n == 0 || *n == 4,
        Val::Str(s) => {
            let s = s.trim();
            s.eq_ignore_ascii_case("silentlycontinue")
                || s.eq_ignore_ascii_case("ignore")
                || s == "4"
                || (!s.is_empty() && s.chars().all(|c| c == '0'))
        }
        _ => false,
    }
}

/// `-name` names the ErrorAction common parameter: its alias `ea`, or a prefix of
/// `ErrorAction` long enough not to be ErrorVariable.
pub fn is_error_action(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name == "ea" || (name.len() >= "errora".len() && "erroraction".starts_with(&name))
}

/// A command's name as its program: lower case, directory and `.exe` removed.
pub fn command_key(name: &str) -> String {
    let name = name.trim().trim_matches(['"', '\'']);
    let base = name.rsplit(['\\', '/']).next().unwrap_or(name);
    let lower = base.to_lowercase();
    lower
        .strip_suffix(".exe")
        .map(str::to_string)
        .unwrap_or(lower)
}

/// Switches that take no value, so the word after them is positional.
const SWITCHES: &[&str] = &[
    "force",
    "passthru",
    "whatif",
    "confirm",
    "verbose",
    "debug",
    "usebasicparsing",
    "recurse",
    "asjob",
    "wait",
    "append",
    "nonewline",
    "noprofile",
    "nop",
    "noninteractive",
    "noni",
    "nologo",
    "sta",
    "mta",
    "usedefaultcredentials",
    "allowclobber",
    "skippublishercheck",
];

/// One argument of a command: a parameter (with its value, when it takes one) or a
/// positional value.
enum Arg<'a> {
    Named(String, Option<&'a [Node]>),
    Positional(&'a [Node]),
}

struct Walker<'o> {
    out: &'o mut Analysis,
    max_depth: usize,
    string_bytes: usize,
}

impl Walker<'_> {
    fn script(&mut self, text: &str, vars: &mut Vars, depth: usize) {
        if depth > self.max_depth {
            self.out.depth_limited = true;
            return;
        }
        let nodes = tree::build(tokenize(text));
        self.block(&nodes, vars, depth);
    }

    fn block(&mut self, nodes: &[Node], vars: &mut Vars, depth: usize) {
        for statement in tree::statements(nodes) {
            let mut piped: Option<Val> = None;
            for element in tree::elements(statement) {
                piped = self.element(element, piped, vars, depth);
            }
        }
    }

    fn push_string(&mut self, s: String) {
        if self.out.strings.len() < MAX_ITEMS
            && !s.is_empty()
            && self.string_bytes + s.len() <= MAX_STRING_BYTES
        {
            self.string_bytes += s.len();
            self.out.strings.push(s);
        }
    }

    /// One pipeline element; returns its value when it is a constant expression.
    fn element(
        &mut self,
        nodes: &[Node],
        piped: Option<Val>,
        vars: &mut Vars,
        depth: usize,
    ) -> Option<Val> {
        self.scan(nodes, vars, depth);
        match nodes.first().and_then(Node::tok) {
            Some(Tok::Command(name)) => {
                let name = command_key(name);
                self.command(name, &nodes[1..], piped, vars, depth);
                None
            }
            Some(Tok::Punct("&" | ".")) if nodes.len() > 1 => {
                let (unit, rest) = unit(&nodes[1..]);
                let name = eval::fold(unit, vars)
                    .map(|v| v.text())
                    .or_else(|| word(unit))
                    .unwrap_or_default();
                self.command(command_key(&name), rest, piped, vars, depth);
                None
            }
            _ => self.expression(nodes, vars, depth),
        }
    }

    /// An expression statement: assignments are remembered and checked.
    fn expression(&mut self, nodes: &[Node], vars: &mut Vars, depth: usize) -> Option<Val> {
        let assign = nodes.iter().position(|n| {
            matches!(
                n.tok(),
                Some(Tok::Punct("=" | "+=" | "-=" | "*=" | "/=" | "%="))
            )
        });
        let Some(eq) = assign else {
            let v = eval::fold(nodes, vars);
            if let Some(v) = &v {
                self.push_string(v.text());
            }
            return v;
        };
        let (lhs, rhs) = (&nodes[..eq], &nodes[eq + 1..]);
        let op = nodes[eq].tok().cloned();
        let value = match rhs.first().and_then(Node::tok) {
            Some(Tok::Command(c)) => {
                // Its groups were walked with the whole statement's.
                self.command(command_key(c), &rhs[1..], None, vars, depth);
                None
            }
            _ => {
                let v = eval::fold(rhs, vars);
                if let Some(v) = &v {
                    self.push_string(v.text());
                }
                v
            }
        };
        let Some(Tok::Variable { name, splat: false }) = lhs.first().and_then(Node::tok) else {
            return None;
        };
        let key = var_key(name);
        match (key.as_str(), &lhs[1..]) {
            ("erroractionpreference", []) if value.as_ref().is_some_and(silences) => {
                self.out.suppression.preference = true;
            }
            ("psdefaultparametervalues", []) => {
                if let Some(Val::Hash(entries)) = &value {
                    if entries.iter().any(|(k, v)| default_silences(k, v)) {
                        self.out.suppression.preference = true;
                    }
                }
            }
            ("psdefaultparametervalues", [index]) => {
                let key = index.group("[").and_then(|b| eval::fold(b, vars));
                if let (Some(k), Some(v)) = (key, &value) {
                    if default_silences(&k.text(), v) {
                        self.out.suppression.preference = true;
                    }
                }
            }
            _ => {}
        }
        if lhs.len() == 1 {
            let new = match op {
                Some(Tok::Punct("=")) => value,
                Some(Tok::Punct("+=")) => vars
                    .get(name)
                    .zip(value)
                    .and_then(|(a, b)| eval::fold(&value_nodes(a, b), &Vars::default())),
                _ => None,
            };
            vars.set(name, new);
        }
        None
    }

    /// Looks through one level of nodes for method calls, objects created and
    /// code in strings, and walks the groups inside as blocks of their own.
    fn scan(&mut self, nodes: &[Node], vars: &mut Vars, depth: usize) {
        for (i, node) in nodes.iter().enumerate() {
            match node {
                Node::Group { open, body, .. } => {
                    if *open == "@{" {
                        for s in tree::statements(body) {
                            if let Some(eq) =
                                s.iter().position(|n| n.tok() == Some(&Tok::Punct("=")))
                            {
                                let v = &s[eq + 1..];
                                self.element(v, None, vars, depth);
                            }
                        }
                    } else {
                        // One variable table for the whole script: a script block's
                        // scope is not modelled (reading more, never less).
                        self.block(body, vars, depth);
                    }
                }
                Node::Tok(t) => match &t.tok {
                    Tok::Member(m) => {
                        let Some(args) = nodes.get(i + 1).and_then(|n| n.group("(")) else {
                            continue;
                        };
                        let static_type = match (
                            i.checked_sub(2).and_then(|k| nodes.get(k)),
                            i.checked_sub(1).and_then(|k| nodes.get(k)),
                        ) {
                            (Some(Node::Tok(ty)), Some(Node::Tok(sep)))
                                if sep.tok == Tok::Punct("::") =>
                            {
                                match &ty.tok {
                                    Tok::Type(t) => {
                                        Some(t.trim_start_matches("system.").to_string())
                                    }
                                    _ => None,
                                }
                            }
                            _ => None,
                        };
                        let values = call_values(args, vars);
                        let name = match &static_type {
                            Some(t) => format!("{t}::{m}"),
                            None => m.clone(),
                        };
                        if m == "new" {
                            if let Some(t) = &static_type {
                                self.created(t.clone());
                            }
                        }
                        self.method(&name, &values, vars, depth);
                        if self.out.calls.len() < MAX_ITEMS {
                            self.out.calls.push(Call {
                                name,
                                args: values.iter().map(Val::text).collect(),
                            });
                        }
                    }
                    Tok::Str {
                        value,
                        expandable: true,
                    } if value.contains("$(") => {
                        // Subexpressions inside a string run when it is expanded.
                        for inner in subexpressions(value) {
                            self.script(&inner, vars, depth);
                        }
                    }
                    Tok::Str { value, .. } => self.push_string(value.clone()),
                    _ => {}
                },
            }
        }
    }

    fn created(&mut self, t: String) {
        let t = t.to_lowercase();
        let t = t.trim_start_matches("system.").to_string();
        if self.out.created.len() < MAX_ITEMS {
            self.out.created.push(t);
        }
    }

    /// A method call whose argument is code, or that changes a preference.
    fn method(&mut self, name: &str, args: &[Val], vars: &mut Vars, depth: usize) {
        match name {
            "scriptblock::create" | "invokescript" | "newscriptblock" => {
                if let Some(code) = args.first() {
                    self.script(&code.text(), vars, depth + 1);
                }
            }
            "add" => {
                if let [k, v] = args {
                    if default_silences(&k.text(), v) {
                        // Only $PSDefaultParameterValues has `*:ErrorAction` keys.
                        self.out.suppression.preference = true;
                    }
                }
            }
            _ => {}
        }
    }

    fn command(
        &mut self,
        name: String,
        rest: &[Node],
        piped: Option<Val>,
        vars: &mut Vars,
        depth: usize,
    ) {
        let args = parse_args(rest);
        let mut texts = Vec::new();
        let value_of = |n: &[Node]| eval::fold(n, vars);
        for a in &args {
            match a {
                Arg::Named(p, v) => {
                    texts.push(format!("-{p}"));
                    if let Some(v) = v {
                        texts.push(arg_text(v, vars));
                    }
                    if is_error_action(p) && v.and_then(value_of).as_ref().is_some_and(silences) {
                        self.out.suppression.parameter = true;
                    }
                }
                Arg::Positional(v) => {
                    if let [Node::Tok(t)] = v {
                        if let Tok::Variable { name, splat: true } = &t.tok {
                            if let Some(Val::Hash(entries)) = vars.get(name) {
                                for (k, val) in &entries {
                                    texts.push(format!("-{}", k.to_lowercase()));
                                    texts.push(val.text());
                                    if is_error_action(k) && silences(val) {
                                        self.out.suppression.parameter = true;
                                    }
                                }
                            }
                            continue;
                        }
                    }
                    texts.push(arg_text(v, vars));
                }
            }
        }
        let named = |want: &[&str], min: usize| -> Option<Val> {
            args.iter().find_map(|a| match a {
                Arg::Named(p, Some(v))
                    if want
                        .iter()
                        .any(|w| p.len() >= min.min(w.len()) && w.starts_with(p.as_str())) =>
                {
                    eval::fold(v, vars)
                }
                _ => None,
            })
        };
        let positional = |k: usize| -> Option<Val> {
            args.iter()
                .filter_map(|a| match a {
                    Arg::Positional(v) => Some(*v),
                    _ => None,
                })
                .nth(k)
                .and_then(|v| eval::fold(v, vars))
        };
        match name.as_str() {
            "iex" | "invoke-expression" => {
                let code = named(&["command"], 1).or_else(|| positional(0)).or(piped);
                if let Some(code) = code {
                    self.script(&code.text(), vars, depth + 1);
                }
            }
            // A script block's text (a 4103 binding renders it as a string) runs.
            "invoke-command" | "icm" | "start-job" | "sajb" => {
                if let Some(code) = named(&["scriptblock"], 1) {
                    self.script(&code.text(), vars, depth + 1);
                }
            }
            "powershell" | "pwsh" | "powershell_ise" => {
                let code = named(&["command"], 1);
                if let Some(code) = code {
                    self.script(&code.text(), vars, depth + 1);
                }
            }
            "new-object" => {
                let t = named(&["comobject"], 3)
                    .or_else(|| named(&["typename"], 1))
                    .or_else(|| positional(0))
                    .or_else(|| {
                        args.iter().find_map(|a| match a {
                            Arg::Positional(v) => word(v).map(Val::Str),
                            _ => None,
                        })
                    });
                if let Some(t) = t {
                    self.created(t.text());
                }
            }
            "set-variable" | "sv" | "new-variable" | "nv" | "set-item" | "si" => {
                let target = named(&["name", "path", "literalpath"], 1).or_else(|| positional(0));
                let value = named(&["value"], 2).or_else(|| positional(1));
                if let Some(t) = target {
                    let t = t.text();
                    let t = t.trim_start_matches('$');
                    let is_item = name == "set-item" || name == "si";
                    let var = if is_item {
                        t.to_lowercase()
                            .strip_prefix("variable:")
                            .map(str::to_string)
                    } else {
                        Some(t.to_string())
                    };
                    if let Some(var) = var {
                        if var_key(&var) == "erroractionpreference"
                            && value.as_ref().is_some_and(silences)
                        {
                            self.out.suppression.preference = true;
                        }
                        vars.set(&var, value);
                    }
                }
            }
            _ => {}
        }
        if self.out.commands.len() < MAX_ITEMS {
            self.out.commands.push(Invocation { name, args: texts });
        }
    }
}

/// A `$PSDefaultParameterValues` entry that silences errors: `'<cmdlets>:ErrorAction'`.
fn default_silences(key: &str, v: &Val) -> bool {
    key.rsplit_once(':')
        .is_some_and(|(_, p)| is_error_action(p.trim()))
        && silences(v)
}

/// Nodes spelling `a + b` for two folded values (for `+=`).
fn value_nodes(a: Val, b: Val) -> Vec<Node> {
    let lit = |v: Val| {
        let tok = match v {
            Val::Int(n) => Tok::Number(n.to_string()),
            v => Tok::Str {
                value: v.text(),
                expandable: false,
            },
        };
        Node::Tok(super::lexer::Token { tok, spaced: true })
    };
    vec![
        lit(a),
        Node::Tok(super::lexer::Token {
            tok: Tok::Punct("+"),
            spaced: true,
        }),
        lit(b),
    ]
}

/// The `$(…)` parts of an expandable string's text.
fn subexpressions(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("$(") {
        let body = &rest[start + 2..];
        let mut level = 1;
        let mut end = body.len();
        for (k, c) in body.char_indices() {
            match c {
                '(' => level += 1,
                ')' => {
                    level -= 1;
                    if level == 0 {
                        end = k;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.push(body[..end].to_string());
        rest = &body[end.min(body.len())..];
        if out.len() >= 64 {
            break;
        }
    }
    out
}

/// The first argument unit of `nodes` (a value with the member accesses and
/// indexes glued to it) and the rest.
fn unit(nodes: &[Node]) -> (&[Node], &[Node]) {
    let mut end = 1.min(nodes.len());
    while end < nodes.len() && !nodes[end].spaced() {
        if matches!(
            nodes[end].tok(),
            Some(Tok::Parameter { .. } | Tok::Punct(",") | Tok::Redirect)
        ) {
            break;
        }
        end += 1;
    }
    nodes.split_at(end)
}

/// A command's arguments, values joined to their parameters. A parameter not
/// known to be a switch takes the next value (or the one after its colon).
fn parse_args(mut nodes: &[Node]) -> Vec<Arg<'_>> {
    let mut out = Vec::new();
    while !nodes.is_empty() {
        if matches!(nodes[0].tok(), Some(Tok::Redirect)) {
            // A redirection and its target are not arguments.
            let (_, rest) = unit(nodes.get(1..).unwrap_or(&[]));
            nodes = rest;
            continue;
        }
        if let Some(Tok::Parameter { name, colon }) = nodes[0].tok() {
            let rest = &nodes[1..];
            let takes = *colon
                || (!SWITCHES.contains(&name.as_str())
                    && rest.first().is_some_and(|n| {
                        !matches!(n.tok(), Some(Tok::Parameter { .. } | Tok::Redirect))
                    }));
            if takes && !rest.is_empty() {
                let (v, after) = array_unit(rest);
                out.push(Arg::Named(name.clone(), Some(v)));
                nodes = after;
            } else {
                out.push(Arg::Named(name.clone(), None));
                nodes = rest;
            }
            continue;
        }
        let (v, after) = array_unit(nodes);
        out.push(Arg::Positional(v));
        nodes = after;
    }
    out
}

/// A unit and any `, unit` that follow it (an array argument `a,b,c`).
fn array_unit(nodes: &[Node]) -> (&[Node], &[Node]) {
    let (first, _) = unit(nodes);
    let mut end = first.len();
    while nodes.get(end).and_then(Node::tok) == Some(&Tok::Punct(",")) && end + 1 < nodes.len() {
        let (next, _) = unit(&nodes[end + 1..]);
        end += 1 + next.len();
    }
    nodes.split_at(end)
}

/// The text of the bare word a unit starts with (`Net.Sockets.TCPClient` of
/// `Net.Sockets.TCPClient('h',1)`).
fn word(nodes: &[Node]) -> Option<String> {
    match nodes.first() {
        Some(Node::Tok(t)) => match &t.tok {
            Tok::Word(w) | Tok::Command(w) | Tok::Number(w) => Some(w.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// An argument as text: its value when constant, else its words as written.
fn arg_text(nodes: &[Node], vars: &Vars) -> String {
    if let Some(v) = eval::fold(nodes, vars) {
        return v.text();
    }
    let mut out = String::new();
    for n in nodes {
        if let Node::Tok(t) = n {
            match &t.tok {
                Tok::Word(w) | Tok::Number(w) | Tok::Command(w) => out.push_str(w),
                Tok::Variable { name, .. } => {
                    out.push('$');
                    out.push_str(name);
                }
                Tok::Str { value, .. } => out.push_str(value),
                Tok::Member(m) => out.push_str(m),
                Tok::Punct(p) => out.push_str(p),
                _ => {}
            }
        }
    }
    out
}

/// A method's `(…)` arguments, each folded (unknown ones as their text).
fn call_values(body: &[Node], vars: &Vars) -> Vec<Val> {
    body.split(|n| n.tok() == Some(&Tok::Punct(",")))
        .filter(|part| !part.is_empty())
        .map(|part| eval::fold(part, vars).unwrap_or_else(|| Val::Str(arg_text(part, vars))))
        .collect()
}
