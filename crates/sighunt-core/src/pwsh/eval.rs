//! Constant folding: the value of an expression built only from literals and
//! variables assigned earlier, as PowerShell computes it. This undoes the common
//! obfuscations (`('Ig'+'nore')`, `'{1}{0}' -f 'ex','i'`, `-join`, `[char]` arrays,
//! `.Replace()`, indexing `$env:ComSpec[4,15,25]`, `[ActionPreference]::Ignore`)
//! without running anything. Whatever depends on a command's output is unknown.

use std::cell::Cell;
use std::collections::HashMap;

use regex::RegexBuilder;

use super::lexer::Tok;
use super::tree::{self, Node};

/// Longest string a fold may produce.
const MAX_STR: usize = 1 << 20;
/// Longest array a fold may produce.
const MAX_ARR: usize = 65_536;
/// Deepest expression folded.
const MAX_DEPTH: usize = 64;
/// Bytes of values one script may produce or copy in all: past it nothing more is
/// folded (a loop of `$a + $a` over megabyte strings costs no more than this).
const MAX_WORK: usize = 64 << 20;

/// A folded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    Str(String),
    Int(i64),
    Bool(bool),
    Null,
    Arr(Vec<Val>),
    /// A hashtable literal: keys as written (case kept), values.
    Hash(Vec<(String, Val)>),
}

impl Val {
    /// The value as PowerShell converts it to a string.
    pub fn text(&self) -> String {
        match self {
            Val::Str(s) => s.clone(),
            Val::Int(n) => n.to_string(),
            Val::Bool(b) => if *b { "True" } else { "False" }.to_string(),
            Val::Null => String::new(),
            Val::Arr(a) => a.iter().map(Val::text).collect::<Vec<_>>().join(" "),
            Val::Hash(_) => "System.Collections.Hashtable".to_string(),
        }
    }

    fn items(self) -> Vec<Val> {
        match self {
            Val::Arr(a) => a,
            v => vec![v],
        }
    }

    fn int(&self) -> Option<i64> {
        match self {
            Val::Int(n) => Some(*n),
            Val::Str(s) => parse_int(s),
            Val::Bool(b) => Some(i64::from(*b)),
            _ => None,
        }
    }
}

/// `ActionPreference` by number (PowerShell's `cmdlet.cs`).
const ACTION_PREFERENCE: &[&str] = &[
    "SilentlyContinue",
    "Stop",
    "Continue",
    "Inquire",
    "Ignore",
    "Suspend",
    "Break",
];

pub fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let n = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => i64::from_str_radix(h, 16).ok()?,
        None => s.parse::<i64>().ok()?,
    };
    Some(if neg { -n } else { n })
}

/// Variables known at a point of the script, by lower-case name without scope.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    map: HashMap<String, Val>,
    /// Bytes produced or copied so far (see [`MAX_WORK`]).
    work: Cell<usize>,
}

/// A variable's name without its scope (`global:`, `script:`, `variable:` …), lower
/// case; `env:` is kept (it is a drive, not a scope).
pub fn var_key(name: &str) -> String {
    let lower = name.to_lowercase();
    for scope in [
        "global:",
        "script:",
        "local:",
        "private:",
        "using:",
        "variable:",
    ] {
        if let Some(rest) = lower.strip_prefix(scope) {
            return rest.to_string();
        }
    }
    lower
}

/// The bytes a value holds, roughly.
fn size(v: &Val) -> usize {
    match v {
        Val::Str(s) => s.len(),
        Val::Arr(a) => a.iter().map(size).sum::<usize>() + a.len(),
        Val::Hash(h) => h.iter().map(|(k, v)| k.len() + size(v)).sum(),
        _ => 8,
    }
}

impl Vars {
    /// Counts `v` against the work budget; `None` once it is spent.
    pub fn charge(&self, v: Val) -> Option<Val> {
        let total = self.work.get().saturating_add(size(&v));
        self.work.set(total);
        (total <= MAX_WORK).then_some(v)
    }

    pub fn get(&self, name: &str) -> Option<Val> {
        let key = var_key(name);
        if let Some(v) = self.map.get(&key) {
            return self.charge(v.clone());
        }
        // Automatic variables and environment values with their default values:
        // obfuscators index into them to spell command names.
        let s = match key.as_str() {
            "true" => return Some(Val::Bool(true)),
            "false" => return Some(Val::Bool(false)),
            "null" => return Some(Val::Null),
            "shellid" => "Microsoft.PowerShell",
            "pshome" => r"C:\Windows\System32\WindowsPowerShell\v1.0",
            "verbosepreference" | "debugpreference" => "SilentlyContinue",
            "erroractionpreference" | "warningpreference" | "progresspreference" => "Continue",
            "env:comspec" => r"C:\WINDOWS\system32\cmd.exe",
            "env:windir" | "env:systemroot" => r"C:\WINDOWS",
            "env:public" => r"C:\Users\Public",
            "env:programdata" | "env:allusersprofile" => r"C:\ProgramData",
            _ => return None,
        };
        Some(Val::Str(s.to_string()))
    }

    pub fn set(&mut self, name: &str, value: Option<Val>) {
        let key = var_key(name);
        match value {
            Some(v) if self.map.len() < 4096 || self.map.contains_key(&key) => {
                self.map.insert(key, v);
            }
            _ => {
                self.map.remove(&key);
            }
        }
    }
}

/// Folds `nodes` (an expression) to a value, if it is constant.
pub fn fold(nodes: &[Node], vars: &Vars) -> Option<Val> {
    let mut p = Folder {
        n: nodes,
        i: 0,
        vars,
        depth: 0,
    };
    let v = p.comparison()?;
    (p.i == nodes.len())
        .then_some(v)
        .and_then(|v| vars.charge(v))
}

/// The value of the text inside an expandable (double-quoted) string.
pub fn expand(s: &str, vars: &Vars) -> Option<String> {
    expand_at(s, vars, 0)
}

fn expand_at(s: &str, vars: &Vars, depth: usize) -> Option<String> {
    if !s.contains('$') {
        return Some(s.to_string());
    }
    if depth > 8 {
        return None;
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '$' {
            out.push(c);
            i += 1;
            continue;
        }
        match chars.get(i + 1) {
            Some('(') => {
                let mut level = 0;
                let mut j = i + 1;
                while j < chars.len() {
                    match chars[j] {
                        '(' => level += 1,
                        ')' => {
                            level -= 1;
                            if level == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                let inner: String = chars[i + 2..j.min(chars.len())].iter().collect();
                let nodes = tree::build(super::lexer::tokenize(&inner));
                let statements = tree::statements(&nodes);
                let [one] = statements.as_slice() else {
                    return None;
                };
                out.push_str(&fold(one, vars)?.text());
                i = j + 1;
            }
            Some('{') => {
                let end = chars[i..].iter().position(|&c| c == '}')? + i;
                let name: String = chars[i + 2..end].iter().collect();
                out.push_str(&vars.get(&name)?.text());
                i = end + 1;
            }
            Some(&n) if n.is_alphanumeric() || n == '_' || n == ':' => {
                let mut j = i + 1;
                while j < chars.len()
                    && (chars[j].is_alphanumeric() || chars[j] == '_' || chars[j] == ':')
                {
                    j += 1;
                }
                let name: String = chars[i + 1..j].iter().collect();
                let name = name.trim_end_matches(':');
                out.push_str(&vars.get(name)?.text());
                i = j;
            }
            _ => {
                out.push('$');
                i += 1;
            }
        }
        if out.len() > MAX_STR {
            return None;
        }
    }
    Some(out)
}

struct Folder<'a> {
    n: &'a [Node],
    i: usize,
    vars: &'a Vars,
    depth: usize,
}

impl Folder<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.n.get(self.i).and_then(Node::tok)
    }

    fn op(&self) -> Option<&str> {
        match self.peek()? {
            Tok::Operator(o) => Some(o.as_str()),
            Tok::Punct(p) => Some(p),
            _ => None,
        }
    }

    /// `-replace`, `-join` (binary): the loosest level folded.
    fn comparison(&mut self) -> Option<Val> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let mut left = self.additive()?;
        while let Some(op) = self.op().map(str::to_string) {
            match op.as_str() {
                "replace" | "ireplace" | "creplace" => {
                    self.i += 1;
                    let right = self.additive()?;
                    left = self
                        .vars
                        .charge(replace(&left.text(), right, op != "creplace")?)?;
                }
                "join" => {
                    self.i += 1;
                    let sep = self.additive()?.text();
                    left = self.vars.charge(join(left, &sep)?)?;
                }
                _ => break,
            }
        }
        self.depth -= 1;
        Some(left)
    }

    fn additive(&mut self) -> Option<Val> {
        let mut left = self.multiplicative()?;
        while self.op() == Some("+") {
            self.i += 1;
            let right = self.multiplicative()?;
            left = self.vars.charge(add(left, right)?)?;
        }
        Some(left)
    }

    fn multiplicative(&mut self) -> Option<Val> {
        let mut left = self.format()?;
        while self.op() == Some("*") {
            self.i += 1;
            let right = self.format()?;
            left = match (left, right.int()?) {
                (Val::Str(s), n)
                    if (0..=4096).contains(&n) && s.len() * (n as usize) <= MAX_STR =>
                {
                    Val::Str(s.repeat(n as usize))
                }
                (Val::Int(a), n) => Val::Int(a.checked_mul(n)?),
                _ => return None,
            };
        }
        self.vars.charge(left)
    }

    fn format(&mut self) -> Option<Val> {
        let mut left = self.range()?;
        while self.op() == Some("f") {
            self.i += 1;
            let right = self.range()?;
            left = self
                .vars
                .charge(Val::Str(format(&left.text(), &right.items())?))?;
        }
        Some(left)
    }

    fn range(&mut self) -> Option<Val> {
        let left = self.comma()?;
        if self.op() == Some("..") {
            self.i += 1;
            let right = self.comma()?;
            let (a, b) = (left.int()?, right.int()?);
            if a.checked_sub(b)?.unsigned_abs() > MAX_ARR as u64 {
                return None;
            }
            let items: Vec<Val> = if a <= b {
                (a..=b).map(Val::Int).collect()
            } else {
                (b..=a).rev().map(Val::Int).collect()
            };
            return Some(Val::Arr(items));
        }
        Some(left)
    }

    fn comma(&mut self) -> Option<Val> {
        let first = self.unary()?;
        if self.op() != Some(",") {
            return Some(first);
        }
        let mut items = vec![first];
        while self.op() == Some(",") {
            self.i += 1;
            items.push(self.unary()?);
            if items.len() > MAX_ARR {
                return None;
            }
        }
        Some(Val::Arr(items))
    }

    fn unary(&mut self) -> Option<Val> {
        match self.op() {
            Some("join") => {
                self.i += 1;
                let v = self.unary()?;
                return join(v, "");
            }
            Some(",") => {
                self.i += 1;
                return Some(Val::Arr(vec![self.unary()?]));
            }
            Some("-") => {
                self.i += 1;
                return Some(Val::Int(self.unary()?.int()?.checked_neg()?));
            }
            _ => {}
        }
        if let Some(Tok::Type(t)) = self.peek() {
            let t = t.clone();
            // `[Type]::Member`: a static member; `[Type] value`: a cast.
            if matches!(
                self.n.get(self.i + 1).and_then(Node::tok),
                Some(Tok::Punct("::"))
            ) {
                return self.postfix_static(&t);
            }
            self.i += 1;
            let v = self.unary()?;
            return cast(&t, v);
        }
        let v = self.primary()?;
        self.postfix(v)
    }

    fn postfix_static(&mut self, t: &str) -> Option<Val> {
        self.i += 2;
        let Some(Tok::Member(m)) = self.peek() else {
            return None;
        };
        let m = m.clone();
        self.i += 1;
        let t = t.trim_start_matches("system.");
        let args = self.call_args();
        let v = match (t, m.as_str(), args) {
            (t, name, None) if t.ends_with("actionpreference") => {
                let canon = ACTION_PREFERENCE
                    .iter()
                    .find(|p| p.eq_ignore_ascii_case(name))?;
                Val::Str((*canon).to_string())
            }
            ("string", "join", Some(args)) => {
                let mut it = args.into_iter();
                let sep = it.next()?.text();
                let rest: Vec<Val> = it.flat_map(Val::items).collect();
                join(Val::Arr(rest), &sep)?
            }
            ("string", "concat", Some(args)) => join(
                Val::Arr(args.into_iter().flat_map(Val::items).collect()),
                "",
            )?,
            ("char" | "convert", "convertfromutf32" | "tochar", Some(args)) => {
                cast("char", args.into_iter().next()?)?
            }
            _ => return None,
        };
        self.postfix(v)
    }

    /// A `(…)` argument list right after a member name, folded; `None` if absent.
    fn call_args(&mut self) -> Option<Vec<Val>> {
        let body = self.n.get(self.i)?.group("(")?;
        if self.n[self.i].spaced() {
            return None;
        }
        self.i += 1;
        if body.is_empty() {
            return Some(Vec::new());
        }
        Some(fold(body, self.vars).map(Val::items).unwrap_or_default())
    }

    fn primary(&mut self) -> Option<Val> {
        let node = self.n.get(self.i)?;
        self.i += 1;
        match node {
            Node::Tok(t) => match &t.tok {
                Tok::Str { value, expandable } => Some(Val::Str(if *expandable {
                    expand(value, self.vars)?
                } else {
                    value.clone()
                })),
                Tok::Number(n) => parse_int(n)
                    .map(Val::Int)
                    .or_else(|| Some(Val::Str(n.clone()))),
                Tok::Variable { name, splat: false } => self.vars.get(name),
                // A bare word in argument mode is a string.
                Tok::Word(w) => Some(Val::Str(w.clone())),
                _ => None,
            },
            Node::Group { open, body, .. } => match *open {
                "(" | "$(" => {
                    let statements = tree::statements(body);
                    let [one] = statements.as_slice() else {
                        return None;
                    };
                    self.depth += 1;
                    let v = (self.depth <= MAX_DEPTH)
                        .then(|| fold(one, self.vars))
                        .flatten();
                    self.depth -= 1;
                    v
                }
                "@(" => {
                    let mut items = Vec::new();
                    for s in tree::statements(body) {
                        items.extend(fold(s, self.vars)?.items());
                    }
                    Some(Val::Arr(items))
                }
                "@{" => hash(body, self.vars),
                _ => None,
            },
        }
    }

    fn postfix(&mut self, mut v: Val) -> Option<Val> {
        loop {
            let Some(node) = self.n.get(self.i) else {
                return Some(v);
            };
            if node.spaced() {
                return Some(v);
            }
            if let Some(index) = node.group("[") {
                self.i += 1;
                v = self::index(v, fold(index, self.vars)?)?;
                continue;
            }
            if node.tok() == Some(&Tok::Punct(".")) {
                let Some(Tok::Member(m)) = self.n.get(self.i + 1).and_then(Node::tok) else {
                    return None;
                };
                let m = m.clone();
                self.i += 2;
                let args = self.call_args();
                v = self.vars.charge(method(v, &m, args)?)?;
                continue;
            }
            return Some(v);
        }
    }
}

/// A hashtable literal's entries (`key = value` separated by `;` or line ends).
pub fn hash(body: &[Node], vars: &Vars) -> Option<Val> {
    let mut entries = Vec::new();
    for s in tree::statements(body) {
        let eq = s.iter().position(|n| n.tok() == Some(&Tok::Punct("=")))?;
        let key = match s.get(..eq)? {
            [Node::Tok(t)] => match &t.tok {
                Tok::Word(w) | Tok::Command(w) => w.clone(),
                Tok::Str { value, .. } => value.clone(),
                _ => return None,
            },
            k => fold(k, vars)?.text(),
        };
        // A value that cannot be folded is kept as unknown (null).
        let value = fold(&s[eq + 1..], vars).unwrap_or(Val::Null);
        entries.push((key, value));
    }
    Some(Val::Hash(entries))
}

fn add(left: Val, right: Val) -> Option<Val> {
    Some(match left {
        Val::Str(mut s) => {
            s.push_str(&right.text());
            if s.len() > MAX_STR {
                return None;
            }
            Val::Str(s)
        }
        Val::Int(a) => Val::Int(a.checked_add(right.int()?)?),
        Val::Arr(mut a) => {
            a.extend(right.items());
            if a.len() > MAX_ARR {
                return None;
            }
            Val::Arr(a)
        }
        _ => return None,
    })
}

fn join(v: Val, sep: &str) -> Option<Val> {
    let s = v
        .items()
        .iter()
        .map(Val::text)
        .collect::<Vec<_>>()
        .join(sep);
    (s.len() <= MAX_STR).then_some(Val::Str(s))
}

fn replace(text: &str, right: Val, insensitive: bool) -> Option<Val> {
    let mut it = right.items().into_iter();
    let pattern = it.next()?.text();
    let with = it.next().map(|v| v.text()).unwrap_or_default();
    let re = RegexBuilder::new(&pattern)
        .case_insensitive(insensitive)
        .size_limit(1 << 20)
        .build()
        .ok()?;
    let out = re.replace_all(text, with.as_str()).into_owned();
    (out.len() <= MAX_STR).then_some(Val::Str(out))
}

/// .NET composite formatting: `{0}`, `{0,5}`, `{0:x}` (alignment and format
/// specifiers dropped), `{{`/`}}`.
fn format(template: &str, args: &[Val]) -> Option<String> {
    let mut out = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut spec = String::new();
                for n in chars.by_ref() {
                    if n == '}' {
                        break;
                    }
                    spec.push(n);
                }
                let index: usize = spec.split([',', ':']).next()?.trim().parse().ok()?;
                out.push_str(&args.get(index)?.text());
            }
            c => out.push(c),
        }
        if out.len() > MAX_STR {
            return None;
        }
    }
    Some(out)
}

fn cast(t: &str, v: Val) -> Option<Val> {
    let t = t.trim_start_matches("system.");
    let to_char = |v: &Val| -> Option<Val> {
        match v {
            Val::Str(s) if s.chars().count() == 1 => Some(Val::Str(s.clone())),
            v => char::from_u32(u32::try_from(v.int()?).ok()?).map(|c| Val::Str(c.to_string())),
        }
    };
    Some(match t {
        "char" => to_char(&v)?,
        "char[]" => match v {
            Val::Str(s) => Val::Arr(s.chars().map(|c| Val::Str(c.to_string())).collect()),
            v => Val::Arr(v.items().iter().map(to_char).collect::<Option<_>>()?),
        },
        "string" => Val::Str(v.text()),
        "int" | "int32" | "int64" | "long" | "byte" | "int16" | "uint32" => Val::Int(v.int()?),
        "int[]" | "byte[]" => Val::Arr(
            v.items()
                .iter()
                .map(|x| x.int().map(Val::Int))
                .collect::<Option<_>>()?,
        ),
        t if t.ends_with("actionpreference") => match v {
            Val::Int(n) => Val::Str(ACTION_PREFERENCE.get(usize::try_from(n).ok()?)?.to_string()),
            v => {
                let s = v.text();
                let s = s.trim();
                match ACTION_PREFERENCE.iter().find(|p| p.eq_ignore_ascii_case(s)) {
                    Some(p) => Val::Str((*p).to_string()),
                    None => Val::Str(
                        ACTION_PREFERENCE
                            .get(usize::try_from(parse_int(s)?).ok()?)?
                            .to_string(),
                    ),
                }
            }
        },
        _ => v,
    })
}

fn index(v: Val, at: Val) -> Option<Val> {
    let items: Vec<Val> = match v {
        Val::Str(s) => s.chars().map(|c| Val::Str(c.to_string())).collect(),
        Val::Arr(a) => a,
        _ => return None,
    };
    let pick = |i: i64| -> Option<Val> {
        let len = items.len() as i64;
        let k = if i < 0 { len.checked_add(i)? } else { i };
        items.get(usize::try_from(k).ok()?).cloned()
    };
    match at {
        Val::Arr(list) => Some(Val::Arr(
            list.iter().map(|i| pick(i.int()?)).collect::<Option<_>>()?,
        )),
        v => pick(v.int()?),
    }
}

fn method(v: Val, name: &str, args: Option<Vec<Val>>) -> Option<Val> {
    let args = args?;
    let Val::Str(s) = v else {
        return match (name, v) {
            ("tostring", v) => Some(Val::Str(v.text())),
            _ => None,
        };
    };
    let arg = |k: usize| args.get(k).map(Val::text);
    let num = |k: usize| {
        args.get(k)
            .and_then(Val::int)
            .and_then(|n| usize::try_from(n).ok())
    };
    let chars: Vec<char> = s.chars().collect();
    Some(Val::Str(match name {
        "replace" => {
            let from = arg(0)?;
            if from.is_empty() {
                return None;
            }
            let out = s.replace(&from, &arg(1).unwrap_or_default());
            if out.len() > MAX_STR {
                return None;
            }
            out
        }
        "tolower" | "tolowerinvariant" => s.to_lowercase(),
        "toupper" | "toupperinvariant" => s.to_uppercase(),
        "trim" if args.is_empty() => s.trim().to_string(),
        "trimstart" if args.is_empty() => s.trim_start().to_string(),
        "trimend" if args.is_empty() => s.trim_end().to_string(),
        "tostring" => s,
        "substring" => {
            let a = num(0)?;
            let b = match args.get(1) {
                Some(_) => a.checked_add(num(1)?)?,
                None => chars.len(),
            };
            chars.get(a..b)?.iter().collect()
        }
        "remove" => {
            let a = num(0)?;
            let b = match args.get(1) {
                Some(_) => a.checked_add(num(1)?)?,
                None => chars.len(),
            };
            let mut out: String = chars.get(..a)?.iter().collect();
            out.extend(chars.get(b..)?.iter());
            out
        }
        "insert" => {
            let a = num(0)?;
            let mut out: String = chars.get(..a)?.iter().collect();
            out.push_str(&arg(1)?);
            out.extend(chars.get(a..)?.iter());
            out
        }
        "tochararray" => {
            return Some(Val::Arr(
                chars.iter().map(|c| Val::Str(c.to_string())).collect(),
            ));
        }
        "split" => {
            let seps: Vec<char> = arg(0)?.chars().collect();
            return Some(Val::Arr(
                s.split(|c| seps.contains(&c))
                    .map(|p| Val::Str(p.to_string()))
                    .collect(),
            ));
        }
        _ => return None,
    }))
}
