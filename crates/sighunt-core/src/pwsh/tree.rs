//! Tokens nested by their brackets, and split into statements and pipeline
//! elements.

use super::lexer::{Tok, Token};

/// A token, or a bracketed group of nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Tok(Token),
    Group {
        /// `(`, `$(`, `@(`, `@{`, `{`, `[`.
        open: &'static str,
        body: Vec<Node>,
        spaced: bool,
    },
}

impl Node {
    /// Whether white space came before this node.
    pub fn spaced(&self) -> bool {
        match self {
            Node::Tok(t) => t.spaced,
            Node::Group { spaced, .. } => *spaced,
        }
    }

    pub fn tok(&self) -> Option<&Tok> {
        match self {
            Node::Tok(t) => Some(&t.tok),
            Node::Group { .. } => None,
        }
    }

    pub fn group(&self, kind: &str) -> Option<&[Node]> {
        match self {
            Node::Group { open, body, .. } if *open == kind => Some(body),
            _ => None,
        }
    }
}

/// Deepest nesting kept; brackets deeper than this are flattened (their contents
/// stay, read at the deepest level), so walking the tree stays shallow.
pub const MAX_NESTING: usize = 48;

/// Nests `tokens` by their brackets. A closer without an opener is dropped; groups
/// still open at the end are closed there.
pub fn build(tokens: Vec<Token>) -> Vec<Node> {
    let mut stack: Vec<(&'static str, bool, Vec<Node>)> = vec![("", true, Vec::new())];
    // Openers beyond MAX_NESTING, whose closers are dropped too.
    let mut flattened = 0usize;
    for t in tokens {
        match t.tok {
            Tok::Open(_) if stack.len() > MAX_NESTING => flattened += 1,
            Tok::Open(kind) => stack.push((kind, t.spaced, Vec::new())),
            Tok::Close(_) if flattened > 0 => flattened -= 1,
            Tok::Close(_) => {
                if stack.len() > 1 {
                    if let Some((open, spaced, body)) = stack.pop() {
                        if let Some(top) = stack.last_mut() {
                            top.2.push(Node::Group { open, body, spaced });
                        }
                    }
                }
            }
            _ => {
                if let Some(top) = stack.last_mut() {
                    top.2.push(Node::Tok(t));
                }
            }
        }
    }
    while stack.len() > 1 {
        if let Some((open, spaced, body)) = stack.pop() {
            if let Some(top) = stack.last_mut() {
                top.2.push(Node::Group { open, body, spaced });
            }
        }
    }
    stack.pop().map(|(_, _, b)| b).unwrap_or_default()
}

/// `nodes` split at statement ends (`;`, line ends, `&&`, `||`), empty ones left out.
pub fn statements(nodes: &[Node]) -> Vec<&[Node]> {
    split(nodes, |t| matches!(t, Tok::End))
}

/// A statement split into its pipeline elements.
pub fn elements(statement: &[Node]) -> Vec<&[Node]> {
    split(statement, |t| matches!(t, Tok::Pipe))
}

fn split(nodes: &[Node], at: impl Fn(&Tok) -> bool) -> Vec<&[Node]> {
    nodes
        .split(|n| n.tok().is_some_and(&at))
        .filter(|s| !s.is_empty())
        .collect()
}
