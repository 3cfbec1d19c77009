//! Domain values, parsed once at the edge and trusted everywhere past it.

mod msg_key;
mod open_id;
mod phone;

pub use msg_key::MsgKey;
pub use open_id::OpenId;
pub use phone::PhoneNumber;

/// Masks a personal value for logs: keeps a short prefix and suffix, hides the middle.
pub fn mask(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len();
    let keep = match n {
        0..=4 => 0,
        5..=10 => 1,
        _ => 3,
    };
    let head: String = chars[..keep].iter().collect();
    let tail: String = chars[n - keep..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(n - 2 * keep))
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn masks_phone_numbers_and_names() {
        assert_eq!(mask("13812345678"), "138*****678");
        assert_eq!(mask("张三"), "**");
        assert_eq!(mask("oAbcdefgh"), "o*******h");
        assert!(!mask("oUser1234567890abcdef").contains("1234567890"));
    }
}
