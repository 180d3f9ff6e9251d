//! A quick, exact "cannot be one of these names" test: most words of most process
//! starts are compared against a few lists of program names, and nearly all of them
//! fail on their first byte or their length, which two table lookups tell.

/// The lengths of a set of program names, by first byte.
#[derive(Debug, Clone)]
pub struct NameFilter {
    /// Per first byte, a bit per length of the names starting with it (bit `n`
    /// for length `n`, bit 63 for 63 or more); zero when no name starts with it.
    /// The lengths rule out more than a longest length did: `sleep` starts like
    /// `sh` and `sudo`, but is as long as none of them.
    lengths: [u64; 256],
    /// An empty name is in the set (it equals, and prefixes, anything).
    empty: bool,
}

/// The bit of a name's length in [`NameFilter::lengths`].
#[inline]
fn length_bit(len: usize) -> u64 {
    1 << len.min(63)
}

impl NameFilter {
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut filter = NameFilter {
            lengths: [0; 256],
            empty: false,
        };
        for name in names {
            match name.as_bytes().first() {
                Some(&b) => filter.lengths[usize::from(b)] |= length_bit(name.len()),
                None => filter.empty = true,
            }
        }
        filter
    }

    /// False only when `word` equals none of the names.
    #[inline]
    pub fn may_equal(&self, word: &str) -> bool {
        self.empty || self.starting(word) & length_bit(word.len()) != 0
    }

    /// False only when no name is a prefix of `word`.
    #[inline]
    pub fn may_start_with_one(&self, word: &str) -> bool {
        self.empty || self.starting(word) != 0
    }

    /// The length bits of the names that start with `word`'s first byte.
    fn starting(&self, word: &str) -> u64 {
        word.as_bytes()
            .first()
            .map_or(0, |&b| self.lengths[usize::from(b)])
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
        // It does reject: wrong first byte, or a length no name of that first byte has.
        assert!(!filter.may_equal("ls"));
        assert!(!filter.may_equal("chmodxyz"));
        assert!(!filter.may_equal("sleep"));
        assert!(!filter.may_equal("cat"));
        // Lengths from 63 on share a bit: never rejected for their length.
        let long = "x".repeat(70);
        let long_filter = NameFilter::new([long.as_str()]);
        assert!(long_filter.may_equal(&long) && long_filter.may_equal(&"x".repeat(64)));
        assert!(!filter.may_start_with_one("-c"));
        assert!(!filter.may_equal(""));
        // An empty name in the set admits everything.
        let with_empty = NameFilter::new(["", "sh"]);
        assert!(with_empty.may_equal("ls") && with_empty.may_start_with_one(""));
    }
}
