//! Request signatures: SHA-1 over the sorted, concatenated parts, compared in constant time.

use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

/// `sha1_hex(sort(parts).join(""))`, the scheme of both `signature` and `msg_signature`.
pub fn sign(parts: &[&str]) -> String {
    let mut sorted = parts.to_vec();
    sorted.sort_unstable();
    let mut hasher = Sha1::new();
    for part in sorted {
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// True when `given` is the signature of `parts`. Case-insensitive hex, constant-time.
pub fn verify(given: &str, parts: &[&str]) -> bool {
    let expected = sign(parts);
    let given = given.to_ascii_lowercase();
    given.len() == expected.len() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wechatpy_vector() {
        assert_eq!(sign(&["test", "1410685589", "test"]), "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff");
    }

    #[test]
    fn silenceper_vector() {
        assert_eq!(sign(&["c", "a", "b"]), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }

    #[test]
    fn official_doc_vector() {
        assert_eq!(sign(&["AAAAA", "1714037059", "486452656"]), "899cf89e464efb63f54ddac96b0a0a235f53aa78");
    }

    #[test]
    fn verify_rejects_a_changed_signature() {
        let good = "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff";
        assert!(verify(good, &["test", "1410685589", "test"]));
        assert!(verify(&good.to_uppercase(), &["test", "1410685589", "test"]));
        assert!(!verify(good, &["test", "1410685590", "test"]));
        assert!(!verify(&good[..39], &["test", "1410685589", "test"]));
        assert!(!verify("", &["test", "1410685589", "test"]));
    }
}
