//! Indicators from what a script does (`[[powershell.actions]]`): the commands it
//! runs with their arguments, the methods it calls, the objects it creates, read by
//! [`crate::pwsh::analyze()`]. A name in printed text fires nothing; a read
//! (`Get-MpPreference`, `reg query`) matches no write.

use std::sync::OnceLock;

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use serde::Deserialize;

use crate::pwsh::{Analysis, command_key};

/// One `[[powershell.actions]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionRule {
    pub indicator: String,
    #[serde(default)]
    pub commands: Vec<String>,
    /// Some argument pattern matches the joined arguments (when non-empty).
    #[serde(default)]
    pub args: Vec<String>,
    /// Every one of these matches the joined arguments.
    #[serde(default)]
    pub args_all: Vec<String>,
    #[serde(default)]
    pub methods: Vec<String>,
    #[serde(default)]
    pub creates: Vec<String>,
}

/// An action rule, compiled.
#[derive(Debug, Clone)]
struct Action {
    indicator: String,
    commands: Vec<String>,
    /// The argument patterns, as written and where the error names them.
    args: Vec<String>,
    args_all: Vec<String>,
    what: String,
    /// `args` (none when empty) and `args_all`, compiled when a command of the
    /// action first turns up: compiling all of them costs ~90 M instructions, more
    /// than reading a 50 MB event log, and most hunts run few of the commands.
    compiled: OnceLock<Result<ArgPatterns, String>>,
    methods: Vec<String>,
    creates: Vec<String>,
}

/// An action's argument patterns, compiled.
#[derive(Debug, Clone)]
struct ArgPatterns {
    any: Option<RegexSet>,
    all: Vec<Regex>,
}

impl Action {
    fn arg_patterns(&self) -> &Result<ArgPatterns, String> {
        self.compiled.get_or_init(|| {
            let all = self
                .args_all
                .iter()
                .map(|p| {
                    RegexBuilder::new(p)
                        .case_insensitive(true)
                        .build()
                        .map_err(|e| format!("{}.args_all: {e}", self.what))
                })
                .collect::<Result<_, _>>()?;
            let any = if self.args.is_empty() {
                None
            } else {
                Some(set(&self.args, &format!("{}.args", self.what))?)
            };
            Ok(ArgPatterns { any, all })
        })
    }

    /// The joined, lower-cased arguments `joined` satisfy the action's patterns.
    /// Patterns that do not compile match nothing (user rules are compiled, and
    /// so checked, before any input is read; the embedded ones are tested).
    fn args_match(&self, joined: &str) -> bool {
        match self.arg_patterns() {
            Ok(p) => {
                p.any.as_ref().is_none_or(|s| s.is_match(joined))
                    && p.all.iter().all(|r| r.is_match(joined))
            }
            Err(_) => false,
        }
    }
}

/// What the download rules add besides their indicator.
#[derive(Debug, Clone)]
pub struct DownloadRules {
    pub admin_hosts: Vec<String>,
    writable_folders: Vec<String>,
    /// `writable_folders`, compiled when a download first names a payload file.
    writable_compiled: OnceLock<Result<RegexSet, String>>,
    pub payload_extensions: Vec<String>,
}

impl DownloadRules {
    fn writable_folders(&self) -> &Result<RegexSet, String> {
        self.writable_compiled
            .get_or_init(|| set(&self.writable_folders, "writable_folders"))
    }
}

/// Every action rule, compiled.
#[derive(Debug, Clone)]
pub struct Actions {
    actions: Vec<Action>,
    download: DownloadRules,
}

/// The indicator whose sources are checked against admin hosts and folders.
const DOWNLOAD: &str = "download_cradle";

fn set(patterns: &[String], what: &str) -> Result<RegexSet, String> {
    RegexSetBuilder::new(patterns)
        .case_insensitive(true)
        .size_limit(8 * 1024 * 1024)
        .build()
        .map_err(|e| format!("{what}: {e}"))
}

impl Actions {
    /// The actions of `rules`; with `eager`, every pattern is compiled now and the
    /// first that does not compile is the error, otherwise each is compiled on
    /// first use (for rules known to compile: the embedded ones).
    pub fn new(
        rules: &[ActionRule],
        admin_hosts: &[String],
        writable_folders: &[String],
        payload_extensions: &[String],
        eager: bool,
    ) -> Result<Self, String> {
        let mut actions = Vec::new();
        for (k, r) in rules.iter().enumerate() {
            let what = format!("actions[{k}] ({})", r.indicator);
            if r.commands.is_empty() && r.methods.is_empty() && r.creates.is_empty() {
                return Err(format!("{what}: needs commands, methods or creates"));
            }
            if (!r.args.is_empty() || !r.args_all.is_empty()) && r.commands.is_empty() {
                return Err(format!(
                    "{what}: args apply to commands, and there are none"
                ));
            }
            actions.push(Action {
                indicator: r.indicator.clone(),
                commands: r.commands.iter().map(|c| command_key(c)).collect(),
                args: r.args.clone(),
                args_all: r.args_all.clone(),
                what,
                compiled: OnceLock::new(),
                methods: r.methods.iter().map(|m| m.to_lowercase()).collect(),
                creates: r.creates.iter().map(|c| c.to_lowercase()).collect(),
            });
        }
        let actions = Actions {
            actions,
            download: DownloadRules {
                admin_hosts: admin_hosts.iter().map(|h| h.to_lowercase()).collect(),
                writable_folders: writable_folders.to_vec(),
                writable_compiled: OnceLock::new(),
                payload_extensions: payload_extensions
                    .iter()
                    .map(|e| e.to_lowercase())
                    .collect(),
            },
        };
        if eager {
            for a in &actions.actions {
                a.arg_patterns().as_ref().map_err(Clone::clone)?;
            }
            actions
                .download
                .writable_folders()
                .as_ref()
                .map_err(Clone::clone)?;
        }
        Ok(actions)
    }

    /// How many actions there are, and how many have their patterns compiled.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.actions.len()
    }

    #[cfg(test)]
    pub fn compiled_count(&self) -> usize {
        self.actions
            .iter()
            .filter(|a| a.compiled.get().is_some())
            .count()
    }

    /// The names of the indicators listed in the actions.
    pub fn indicators(&self) -> impl Iterator<Item = &str> {
        self.actions.iter().map(|a| a.indicator.as_str())
    }

    /// The indicators `a` fires, in rule order, each once; a download's sources
    /// decide between download_cradle, download_known_host and
    /// payload_to_writable_folder.
    pub fn fire(&self, a: &Analysis) -> Vec<String> {
        let mut fired: Vec<String> = Vec::new();
        // The argument texts of every download found, for the source checks.
        let mut download_args: Vec<&str> = Vec::new();
        for action in &self.actions {
            let mut hit = false;
            for cmd in &a.commands {
                if !action.commands.contains(&cmd.name) {
                    continue;
                }
                let joined = cmd.args.join(" ").to_lowercase();
                if action.args_match(&joined) {
                    hit = true;
                    if action.indicator == DOWNLOAD {
                        download_args.extend(cmd.args.iter().map(String::as_str));
                    }
                }
            }
            for call in &a.calls {
                if action.methods.iter().any(|m| method_matches(&call.name, m)) {
                    hit = true;
                    if action.indicator == DOWNLOAD {
                        download_args.extend(call.args.iter().map(String::as_str));
                    }
                }
            }
            if a.created
                .iter()
                .any(|c| action.creates.iter().any(|want| type_matches(c, want)))
            {
                hit = true;
                if action.indicator == DOWNLOAD {
                    // A COM download's URL goes to a later .Open(): look at every
                    // call's arguments.
                    download_args.extend(
                        a.calls
                            .iter()
                            .flat_map(|c| c.args.iter().map(String::as_str)),
                    );
                }
            }
            if hit && !fired.contains(&action.indicator) {
                fired.push(action.indicator.clone());
            }
        }
        if fired.iter().any(|f| f == DOWNLOAD) {
            let to_folder = download_args.iter().any(|arg| self.payload_in_folder(arg));
            if to_folder {
                fired.push("payload_to_writable_folder".to_string());
            } else if self.all_on_admin_hosts(&download_args) {
                fired.retain(|f| f != DOWNLOAD);
                fired.push("download_known_host".to_string());
            }
        }
        fired
    }

    fn payload_in_folder(&self, arg: &str) -> bool {
        let lower = arg.trim().trim_matches(['"', '\'']).to_lowercase();
        let lower = lower.replace('/', "\\");
        let ext = lower.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
        self.download.payload_extensions.iter().any(|e| e == ext)
            && self
                .download
                .writable_folders()
                .as_ref()
                .is_ok_and(|s| s.is_match(&lower))
            && !lower.contains("://")
    }

    /// Every URL among the download's arguments is on an admin host (and there is
    /// at least one).
    fn all_on_admin_hosts(&self, args: &[&str]) -> bool {
        let hosts: Vec<String> = args.iter().filter_map(|a| url_host(a)).collect();
        !hosts.is_empty()
            && hosts.iter().all(|h| {
                self.download
                    .admin_hosts
                    .iter()
                    .any(|admin| h == admin || h.ends_with(&format!(".{admin}")))
            })
    }
}

/// The host of a URL argument (`http://host:port/…`), lower case.
fn url_host(arg: &str) -> Option<String> {
    let arg = arg.trim().trim_matches(['"', '\'']);
    let (scheme, rest) = arg.split_once("://")?;
    if !matches!(
        scheme.to_ascii_lowercase().as_str(),
        "http" | "https" | "ftp" | "ftps"
    ) {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    let host = host.split(':').next()?;
    (!host.is_empty()).then(|| host.to_lowercase())
}

/// `call` (`m` or `type::m`) is the method `want` (`m`, or `type::m` matched on the
/// type's last dotted parts).
fn method_matches(call: &str, want: &str) -> bool {
    match want.split_once("::") {
        Some(_) => call == want || call.ends_with(&format!(".{want}")),
        None => call.rsplit("::").next() == Some(want),
    }
}

/// A created type or COM class `created` is `want` (by its last dotted parts).
fn type_matches(created: &str, want: &str) -> bool {
    let created = created.trim().trim_matches(['"', '\'', '[', ']']);
    created == want || created.ends_with(&format!(".{want}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_types() {
        assert_eq!(
            url_host("https://user@Download.Microsoft.com:443/x").as_deref(),
            Some("download.microsoft.com")
        );
        assert_eq!(url_host("C:\\x"), None);
        assert!(method_matches(
            "net.webrequest::create",
            "webrequest::create"
        ));
        assert!(!method_matches(
            "notwebrequest::create",
            "webrequest::create"
        ));
        assert!(method_matches(
            "convert::frombase64string",
            "frombase64string"
        ));
        assert!(type_matches(
            "system.net.sockets.tcpclient",
            "net.sockets.tcpclient"
        ));
        assert!(!type_matches("net.webclient", "xmlhttp"));
    }
}
