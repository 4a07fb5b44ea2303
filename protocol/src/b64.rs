//! base64url without padding, as upstream uses for device keys, signatures and tokens.
//!
//! Decoding is lenient in the same way upstream's is: standard base64 (`+`, `/`) and trailing
//! `=` padding are accepted too.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// Encodes bytes as base64url without padding.
pub fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url or standard base64, with or without padding.
pub fn decode(s: &str) -> Option<Vec<u8>> {
    let normalized: String = s
        .trim()
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    URL_SAFE_NO_PAD.decode(normalized.as_bytes()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_accepts_standard_alphabet() {
        let bytes = [0xfbu8, 0xff, 0x00, 0x10, 0x3e];
        let url = encode(&bytes);
        assert!(!url.contains('='));
        assert_eq!(decode(&url).unwrap(), bytes);
        let std = base64::engine::general_purpose::STANDARD.encode(bytes);
        assert_eq!(decode(&std).unwrap(), bytes);
        assert!(decode("not base64 !!").is_none());
    }
}
