//! Where a program lives: staging areas (world-writable or attacker-typical
//! places), hidden paths, and `~` expanded to a home directory.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use crate::rules::RulesError;

/// `[staging]` in the rule data (rules/nohup.toml).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StagingRules {
    /// Directories where a program is a dropped payload: a path ending in `/`
    /// covers everything below; `*` is one path component (`/run/user/*/`), a
    /// leading `**/` any number (`**/wp-content/uploads/`).
    pub areas: Vec<String>,
    /// Dot-directories directly under a home that hold per-user tools
    /// (`.local`, `.cargo` …): not hidden evidence by themselves.
    pub tool_dirs: Vec<String>,
    /// Home directory prefixes (`/home/`, `/Users/`) and `root`'s home.
    pub homes: Vec<String>,
}

/// The staging areas and tool directories, compiled.
#[derive(Debug, Clone)]
pub struct Places {
    areas: GlobSet,
    tool_dirs: Vec<String>,
    homes: Vec<String>,
}

impl Places {
    pub fn new(rules: &StagingRules) -> Result<Places, RulesError> {
        let mut set = GlobSetBuilder::new();
        for area in &rules.areas {
            let pattern = if area.ends_with('/') {
                format!("{area}**")
            } else {
                area.clone()
            };
            let glob = GlobBuilder::new(&pattern)
                .literal_separator(true)
                .build()
                .map_err(|e| RulesError::Section {
                    section: "staging".into(),
                    message: format!("areas: {area:?}: {e}"),
                })?;
            set.add(glob);
        }
        let areas = set.build().map_err(|e| RulesError::Section {
            section: "staging".into(),
            message: format!("areas: {e}"),
        })?;
        Ok(Places {
            areas,
            tool_dirs: rules.tool_dirs.clone(),
            homes: rules.homes.clone(),
        })
    }

    /// The path lies in a staging area.
    pub fn is_staging(&self, path: &str) -> bool {
        path.starts_with('/') && self.areas.is_match(path)
    }

    /// A directory or file of the path starts with a dot, other than a per-user tool
    /// directory directly under a home (`~/.local/bin/x`, `~/.cargo/bin/x`).
    pub fn is_hidden(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.split('/').collect();
        parts.iter().enumerate().any(|(i, c)| {
            c.len() > 1
                && c.starts_with('.')
                && *c != ".."
                && !(self.tool_dirs.iter().any(|t| t == c) && self.is_home(&parts[..i]))
        })
    }

    /// The components `parts` (a path up to some point) name a home directory.
    fn is_home(&self, parts: &[&str]) -> bool {
        let dir = parts.join("/");
        dir == "~"
            || self.homes.iter().any(|h| {
                let h = h.trim_end_matches('/');
                dir == h
                    || dir
                        .strip_prefix(h)
                        .and_then(|rest| rest.strip_prefix('/'))
                        .is_some_and(|user| !user.is_empty() && !user.contains('/'))
            })
    }
}

/// `~/x` and `~user/x` with the home directory: `root`'s (uid 0) is `/root`, a named
/// user's `/home/NAME`; a numeric uid other than 0 cannot be resolved, and the path
/// stays as it is (never joined to the working directory).
pub fn expand_home(path: &str, user: Option<&str>) -> Option<String> {
    let rest = path.strip_prefix('~')?;
    let (name, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let name = if name.is_empty() { user? } else { name };
    let home = match name {
        "root" | "0" => "/root".to_string(),
        n if n.chars().all(|c| c.is_ascii_digit()) => return None,
        n => format!("/home/{n}"),
    };
    Some(format!("{home}{tail}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Rules;

    fn places() -> Places {
        Places::new(&Rules::embedded().section("staging").unwrap()).unwrap()
    }

    #[test]
    fn staging_areas_beyond_tmp() {
        let p = places();
        for path in [
            "/tmp/x",
            "/var/tmp/.a/b",
            "/dev/shm/x",
            "/run/lock/x",
            "/var/crash/x",
            "/dev/mqueue/x",
            "/run/user/1000/x",
            "/var/lib/php/sessions/sess_x",
            "/srv/www/wp-content/uploads/2024/x.php",
            "/home/alice/.cache/.fc/x",
            "/root/.config/.sys/x",
            "/private/tmp/x",
            "/Users/Shared/x",
        ] {
            assert!(p.is_staging(path), "{path}");
        }
        for path in [
            "/usr/bin/x",
            "/opt/app/x",
            "/home/alice/bin/x",
            "/home/alice/.cache/pip/x",
            "/run/user/1000",
            "tmp/x",
        ] {
            assert!(!p.is_staging(path), "{path}");
        }
    }

    #[test]
    fn tool_directories_are_not_hidden_evidence() {
        let p = places();
        assert!(!p.is_hidden("/home/alice/.local/bin/jupyter"));
        assert!(!p.is_hidden("/root/.cargo/bin/mdbook"));
        assert!(!p.is_hidden("/Users/bob/.pyenv/versions/3.12/bin/python"));
        assert!(!p.is_hidden("~/.npm/_npx/x"));
        assert!(p.is_hidden("/tmp/.local/x"), "not under a home");
        assert!(p.is_hidden("/home/alice/.local/.x/y"));
        assert!(p.is_hidden("/home/alice/.ssh/agent"));
        assert!(p.is_hidden("/tmp/.X11-cache/x"));
        assert!(!p.is_hidden("/opt/app/../x"));
    }

    #[test]
    fn tilde_is_a_home_never_the_working_directory() {
        assert_eq!(
            expand_home("~/.x/m", Some("root")).as_deref(),
            Some("/root/.x/m")
        );
        assert_eq!(
            expand_home("~/.x/m", Some("alice")).as_deref(),
            Some("/home/alice/.x/m")
        );
        assert_eq!(expand_home("~bob/x", None).as_deref(), Some("/home/bob/x"));
        assert_eq!(expand_home("~/x", Some("1000")), None);
        assert_eq!(expand_home("/tmp/x", Some("root")), None);
    }
}
