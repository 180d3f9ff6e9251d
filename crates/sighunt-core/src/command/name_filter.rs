//! A quick, exact "cannot be one of these names" test: most words of most process
//! starts are compared against a few lists of program names, and nearly all of them
//! fail on their first byte or their length, which two table lookups tell.

/// The first bytes and longest length of a set of program names.
#[derive(Debug, Clone)]
pub struct NameFilter {
    first: [bool; 256],
    longest: usize,
    /// An empty name is in the set (it equals, and prefixes, anything).
    empty: bool,
}

impl NameFilter {
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut filter = NameFilter {
            first: [false; 256],
            longest: 0,
            empty: false,
        };
        for name in names {
            match name.as_bytes().first() {
                Some(&b) => filter.first[usize::from(b)] = true,
                None => filter.empty = true,
            }
            filter.longest = filter.longest.max(name.len());
        }
        filter
    }

    /// False only when `word` equals none of the names.
    #[inline]
    pub fn may_equal(&self, word: &str) -> bool {
        self.empty || (word.len() <= self.longest && self.may_start(word))
    }

    /// False only when no name is a prefix of `word`.
    #[inline]
    pub fn may_start_with_one(&self, word: &str) -> bool {
        self.empty || self.may_start(word)
    }

    fn may_start(&self, word: &str) -> bool {
        word.as_bytes()
            .first()
            .is_some_and(|&b| self.first[usize::from(b)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_rejects_a_listed_name_or_a_name_it_prefixes() {
        let names = ["chmod", "curl", "sh", "python", "wget", "tee"];
        let filter = NameFilter::new(names);
        let words = [
            "chmod",
            "curl",
            "sh",
            "python3.11",
            "wget",
            "tee",
            "",
            "s",
            "shx",
            "c",
            "chmodx",
            "ls",
            "/bin/sh",
            "Python",
            "t",
            "teee",
            "é",
            "-c",
        ];
        for word in words {
            let equal = names.contains(&word);
            let prefixed = names.iter().any(|n| word.starts_with(n));
            assert!(!equal || filter.may_equal(word), "{word}");
            assert!(!prefixed || filter.may_start_with_one(word), "{word}");
        }
        // It does reject: wrong first byte, or longer than every name.
        assert!(!filter.may_equal("ls"));
        assert!(!filter.may_equal("chmodxyz"));
        assert!(!filter.may_start_with_one("-c"));
        assert!(!filter.may_equal(""));
        // An empty name in the set admits everything.
        let with_empty = NameFilter::new(["", "sh"]);
        assert!(with_empty.may_equal("ls") && with_empty.may_start_with_one(""));
    }
}
