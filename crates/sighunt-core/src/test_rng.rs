//! One deterministic generator for the crate's random-input tests: xorshift64, so
//! every run (and every machine) tries the same inputs and a failure reproduces.

pub(crate) struct XorShift(u64);

impl XorShift {
    /// A generator from a non-zero `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        XorShift(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n` (`n` > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}
