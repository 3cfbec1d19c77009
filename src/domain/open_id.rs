use std::fmt;

/// A resident's OpenID for this official account. Personal data: `Display` masks it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OpenId(String);

#[derive(Debug, thiserror::Error)]
#[error("an OpenID is 1 to 64 characters of [A-Za-z0-9_-]")]
pub struct InvalidOpenId;

impl OpenId {
    pub fn parse(s: &str) -> Result<Self, InvalidOpenId> {
        let s = s.trim();
        let ok =
            !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok { Ok(OpenId(s.to_owned())) } else { Err(InvalidOpenId) }
    }

    /// The full value, for the database and the WeChat API only; never for logs.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for OpenId {
    type Error = InvalidOpenId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        OpenId::parse(&s)
    }
}

impl From<OpenId> for String {
    fn from(id: OpenId) -> String {
        id.0
    }
}

impl fmt::Display for OpenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&super::mask(&self.0))
    }
}

impl fmt::Debug for OpenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OpenId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_masks() {
        let id = OpenId::parse("oyORnuP8q7ou2gfYjqLzSIWZf0rs").unwrap();
        assert_eq!(id.as_str(), "oyORnuP8q7ou2gfYjqLzSIWZf0rs");
        assert!(!id.to_string().contains("q7ou2gfYjqLz"));
        assert!(!format!("{id:?}").contains("q7ou2gfYjqLz"));
        assert!(OpenId::parse("").is_err());
        assert!(OpenId::parse("a b").is_err());
        assert!(OpenId::parse("<script>").is_err());
        assert!(OpenId::parse(&"a".repeat(65)).is_err());
    }
}
