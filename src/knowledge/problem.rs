use std::fmt;

/// Something wrong in a file under `faq/`, with its place, as `lawline check` prints it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl Problem {
    pub fn new(file: impl Into<String>, line: usize, message: impl Into<String>) -> Self {
        Problem { file: file.into(), line, message: message.into() }
    }

    /// A TOML parse error, placed on its line; `first_line` is the file line the TOML starts on.
    pub fn from_toml(file: &str, source: &str, first_line: usize, err: &toml::de::Error) -> Self {
        let line = err.span().map(|span| source[..span.start.min(source.len())].matches('\n').count()).unwrap_or(0);
        Problem::new(file, first_line + line, err.message().trim().to_owned())
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}
