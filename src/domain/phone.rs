use std::fmt;

/// A mainland China mobile number (11 digits, 1[3-9]…). Personal data: `Display` masks it.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

#[derive(Debug, thiserror::Error)]
#[error("a mobile number is 11 digits starting with 13 to 19")]
pub struct InvalidPhone;

impl PhoneNumber {
    /// Accepts spaces, dashes, full-width digits and a +86 prefix.
    pub fn parse(s: &str) -> Result<Self, InvalidPhone> {
        let digits: String = crate::text::normalize(s).chars().filter(char::is_ascii_digit).collect();
        let digits = digits.strip_prefix("86").filter(|d| d.len() == 11).unwrap_or(&digits);
        let b = digits.as_bytes();
        if b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) {
            Ok(PhoneNumber(digits.to_owned()))
        } else {
            Err(InvalidPhone)
        }
    }

    /// The full number, for the database and for staff; never for logs.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = InvalidPhone;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        PhoneNumber::parse(&s)
    }
}

impl From<PhoneNumber> for String {
    fn from(p: PhoneNumber) -> String {
        p.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&super::mask(&self.0))
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mobile_numbers() {
        assert_eq!(PhoneNumber::parse("138 1234 5678").unwrap().as_str(), "13812345678");
        assert_eq!(PhoneNumber::parse("+86-139-0000-1111").unwrap().as_str(), "13900001111");
        assert_eq!(PhoneNumber::parse("１５８１２３４５６７８").unwrap().as_str(), "15812345678");
        assert!(PhoneNumber::parse("12812345678").is_err());
        assert!(PhoneNumber::parse("1381234567").is_err());
        assert!(PhoneNumber::parse("0546-1234567").is_err());
        let p = PhoneNumber::parse("13812345678").unwrap();
        assert_eq!(p.to_string(), "138*****678");
        assert!(!format!("{p:?}").contains("12345"));
    }
}
