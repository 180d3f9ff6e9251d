//! Which decoding a command performs on its standard input.
//!
//! One recogniser serves two readers: the detectors ask whether a command decodes
//! at all (`base64 -d` beside a `| sh` is a staged payload, whatever the
//! encoding), and [`super::piped`] asks which decoding, to follow a literal
//! through it. Keeping both on one table means a flag spelling learned for one
//! (`base64 -di`, `xxd -rp`, `openssl base64 -d`) is learned for both.

/// What a decoding command turns its input into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoding {
    /// RFC 4648 base64 (standard or URL-safe, padding optional).
    Base64,
    /// RFC 4648 base32.
    Base32,
    /// Plain hex digits (`xxd -r -p`, `basenc --base16 -d`).
    Hex,
    /// A decoding of a text encoding this crate does not reproduce: `xxd -r` of a
    /// dump with offsets, `basenc -d` without a known encoding flag, an `openssl
    /// enc -d` cipher. It still decodes: its output is not what went in.
    Other,
    /// gzip decompression (`gunzip`, `zcat`, `gzip -d`).
    Gunzip,
    /// Bytes reversed (`rev` with no file).
    Reverse,
}

impl Decoding {
    /// A decoding of a text encoding: the stage that turns an encoded literal back
    /// into a script (gzip and `rev` are transforms but not text decoders).
    pub fn is_text_decoder(self) -> bool {
        matches!(self, Self::Base64 | Self::Base32 | Self::Hex | Self::Other)
    }
}

/// The decoding `program` (a basename) with `args` performs, if any.
pub fn decoding_of(program: &str, args: &[String]) -> Option<Decoding> {
    let has = |flags: &[&str]| args.iter().any(|a| flags.contains(&a.as_str()));
    let short = |c: char| args.iter().any(|a| is_short_cluster(a) && a.contains(c));
    let decodes = || has(&["--decode"]) || short('d');
    match program {
        "base64" if decodes() || short('D') => Some(Decoding::Base64),
        "base32" if decodes() => Some(Decoding::Base32),
        "basenc" if decodes() => Some(if has(&["--base64", "--base64url"]) {
            Decoding::Base64
        } else if has(&["--base32"]) {
            Decoding::Base32
        } else if has(&["--base16"]) {
            Decoding::Hex
        } else {
            Decoding::Other
        }),
        // `-revert` is xxd's long spelling of `-r`, written with one dash.
        "xxd" if short('r') || args.iter().any(|a| a.starts_with("-r")) => {
            Some(if short('p') || has(&["-ps", "-postscript", "-plain"]) {
                Decoding::Hex
            } else {
                Decoding::Other
            })
        }
        "openssl" if has(&["-d"]) && has(&["base64"]) => Some(Decoding::Base64),
        "openssl" if has(&["-d"]) && has(&["enc"]) => Some(if has(&["-a", "-base64"]) {
            Decoding::Base64
        } else {
            Decoding::Other
        }),
        "gunzip" | "zcat" => Some(Decoding::Gunzip),
        "gzip" if has(&["--decompress"]) || short('d') => Some(Decoding::Gunzip),
        "rev" if args.is_empty() => Some(Decoding::Reverse),
        _ => None,
    }
}

/// A cluster of one-letter options (`-d`, `-di`, `-rp`): a dash and at most three
/// letters. Longer single-dash words are named options (`-groupsize`, `-wrap`)
/// whose letters are not flags.
fn is_short_cluster(arg: &str) -> bool {
    let Some(rest) = arg.strip_prefix('-') else {
        return false;
    };
    (1..=3).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(line: &str) -> Option<Decoding> {
        let mut words = line.split_whitespace().map(str::to_string);
        let program = words.next().unwrap_or_default();
        decoding_of(&program, &words.collect::<Vec<_>>())
    }

    #[test]
    fn decoders_and_their_encodings() {
        use Decoding::*;
        for (line, want) in [
            ("base64 -d", Base64),
            ("base64 --decode", Base64),
            ("base64 -D", Base64),
            ("base64 -di", Base64),
            ("base64 -id", Base64),
            ("base64 -w0 -d", Base64),
            ("base32 -d", Base32),
            ("basenc --base64url -d", Base64),
            ("basenc --base32 --decode", Base32),
            ("basenc --base16 -d", Hex),
            ("basenc --z85 -d", Other),
            ("basenc --base32hex -d", Other),
            ("xxd -r -p", Hex),
            ("xxd -rp", Hex),
            ("xxd -ps -r", Hex),
            ("xxd -r", Other),
            ("xxd -revert", Other),
            ("openssl base64 -d", Base64),
            ("openssl enc -base64 -d", Base64),
            ("openssl enc -d -a", Base64),
            ("openssl enc -d -aes-256-cbc -k x", Other),
            ("gunzip", Gunzip),
            ("zcat", Gunzip),
            ("gzip -dc", Gunzip),
            ("gzip --decompress", Gunzip),
            ("rev", Reverse),
        ] {
            assert_eq!(of(line), Some(want), "{line}");
        }
    }

    #[test]
    fn encoders_and_other_commands_decode_nothing() {
        for line in [
            "base64",
            "base64 -w0",
            "base64 --wrap=0 file",
            "base32",
            "basenc --base64",
            "xxd -p",
            "xxd -groupsize 4",
            "xxd -c 16",
            "openssl base64",
            "openssl enc -aes-256-cbc -k x",
            "openssl dgst -d",
            "gzip -c",
            "gzip",
            "rev file.txt",
            "cat",
            "sh -d",
        ] {
            assert_eq!(of(line), None, "{line}");
        }
    }

    #[test]
    fn text_decoders_exclude_transforms() {
        assert!(Decoding::Base64.is_text_decoder());
        assert!(Decoding::Other.is_text_decoder());
        assert!(!Decoding::Gunzip.is_text_decoder());
        assert!(!Decoding::Reverse.is_text_decoder());
    }
}
