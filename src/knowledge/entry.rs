//! Knowledge-base entries: one file each, TOML front matter between `+++` lines, then the answer.

use serde::Deserialize;

use super::Problem;
use super::directory::Directory;

/// Longest answer, in characters, that fits one WeChat message comfortably.
pub const MAX_ANSWER_CHARS: usize = 600;
pub const MIN_SIMILAR: usize = 5;
/// Imported answers are sent as up to three messages.
pub const MAX_IMPORTED_ANSWER_CHARS: usize = 1800;

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: String,
    pub category: String,
    pub question: String,
    pub similar: Vec<String>,
    pub keywords: Vec<String>,
    /// The answer with directory placeholders filled in.
    pub answer: String,
    /// Where an imported entry came from; imported entries may lack similar questions and
    /// carry longer answers (sent as several messages).
    pub source: Option<String>,
    pub file: String,
    /// Line of the first similar question, for problem reports.
    pub similar_line: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    id: String,
    category: String,
    question: String,
    similar: Vec<String>,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    source: Option<String>,
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 80
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
}

impl Entry {
    /// Parses one entry file; every problem found is reported, not just the first.
    pub fn parse(file: &str, source: &str, directory: &Directory) -> Result<Entry, Vec<Problem>> {
        let problem = |line: usize, msg: String| vec![Problem::new(file, line, msg)];
        let source = source.strip_prefix('\u{feff}').unwrap_or(source);
        let Some(rest) = source.strip_prefix("+++\n").or_else(|| source.strip_prefix("+++\r\n")) else {
            return Err(problem(1, "the file must start with a `+++` line (front matter)".into()));
        };
        let Some(end) = rest.find("\n+++") else {
            return Err(problem(1, "the front matter is not closed by a `+++` line".into()));
        };
        let front = &rest[..end + 1];
        let body_line = 2 + front.matches('\n').count() + 1;
        let body = rest[end + 4..].trim_start_matches(['\r', '\n']).trim_end();
        let fm: FrontMatter = toml::from_str(front).map_err(|e| vec![Problem::from_toml(file, front, 2, &e)])?;

        let line_of = |needle: &str| 1 + super::directory::line_of(front, needle);
        let mut problems = Vec::new();
        if !valid_id(&fm.id) {
            problems.push(Problem::new(
                file,
                line_of("id"),
                format!("invalid id {:?}: use lower-case letters, digits, '.' and '-'", fm.id),
            ));
        }
        for (name, value) in [("category", &fm.category), ("question", &fm.question)] {
            if value.trim().is_empty() {
                problems.push(Problem::new(file, line_of(name), format!("`{name}` is empty")));
            }
        }
        let similar: Vec<String> = fm.similar.iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
        let imported = fm.source.is_some();
        let max_chars = if imported { MAX_IMPORTED_ANSWER_CHARS } else { MAX_ANSWER_CHARS };
        if similar.len() < MIN_SIMILAR && !imported {
            problems.push(Problem::new(
                file,
                line_of("similar"),
                format!("{} similar questions; at least {MIN_SIMILAR} are needed", similar.len()),
            ));
        }
        let answer = match directory.render(body) {
            Ok(a) => a,
            Err(missing) => {
                for key in missing {
                    problems.push(Problem::new(
                        file,
                        body_line + line_in(body, &key),
                        format!("unknown directory reference {{{{{key}}}}}"),
                    ));
                }
                String::new()
            }
        };
        if body.is_empty() {
            problems.push(Problem::new(file, body_line, "the answer is empty"));
        } else if answer.chars().count() > max_chars {
            problems.push(Problem::new(file, body_line, format!(
                "the answer is {} characters with placeholders filled; at most {max_chars} fit (move detail to a service guide)",
                answer.chars().count()
            )));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Entry {
            id: fm.id,
            category: fm.category.trim().to_owned(),
            question: fm.question.trim().to_owned(),
            similar,
            keywords: fm.keywords,
            answer,
            source: fm.source,
            file: file.to_owned(),
            similar_line: line_of("similar"),
        })
    }
}

/// (front matter, body, the body's first line number) of a `+++`-fronted file.
pub(crate) fn split_front_matter<'a>(file: &str, source: &'a str) -> Result<(&'a str, &'a str, usize), Vec<Problem>> {
    let problem = |msg: &str| vec![Problem::new(file, 1, msg)];
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    let Some(rest) = source.strip_prefix("+++\n").or_else(|| source.strip_prefix("+++\r\n")) else {
        return Err(problem("the file must start with a `+++` line (front matter)"));
    };
    let Some(end) = rest.find("\n+++") else {
        return Err(problem("the front matter is not closed by a `+++` line"));
    };
    let front = &rest[..end + 1];
    let after = &rest[end + 4..];
    let skipped = after.len() - after.trim_start_matches(['\r', '\n']).len();
    let body_line = 2 + front.matches('\n').count() + after[..skipped].matches('\n').count();
    Ok((front, after.trim_start_matches(['\r', '\n']).trim_end(), body_line))
}

fn line_in(text: &str, needle: &str) -> usize {
    text.find(needle).map(|i| text[..i].matches('\n').count()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> Directory {
        Directory::parse("d", "[hotline]\nnumber = \"12348\"\n").unwrap()
    }

    const GOOD: &str = "+++\nid = \"hotline.12348\"\ncategory = \"热线\"\nquestion = \"12348是什么\"\nsimilar = [\"a\", \"b\", \"c\", \"d\", \"e\"]\n+++\n拨打 {{hotline.number}}。\n";

    #[test]
    fn parses_and_renders() {
        let e = Entry::parse("f.md", GOOD, &dir()).unwrap();
        assert_eq!(e.id, "hotline.12348");
        assert_eq!(e.answer, "拨打 12348。");
        assert_eq!(e.similar.len(), 5);
        assert_eq!(e.similar_line, 5);
    }

    #[test]
    fn reports_each_problem_with_its_line() {
        let bad = GOOD
            .replace("hotline.12348", "Hotline 12348")
            .replace(", \"e\"", "")
            .replace("{{hotline.number}}", "{{hotline.fax}}");
        let problems = Entry::parse("f.md", &bad, &dir()).unwrap_err();
        let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![2, 5, 7], "{problems:?}");
        assert!(problems[2].message.contains("hotline.fax"));
    }

    #[test]
    fn empty_long_and_unparseable() {
        let empty = GOOD.replace("拨打 {{hotline.number}}。\n", "");
        assert!(Entry::parse("f.md", &empty, &dir()).unwrap_err()[0].message.contains("empty"));
        let long = GOOD.replace("拨打", &"很长".repeat(400));
        assert!(Entry::parse("f.md", &long, &dir()).unwrap_err()[0].message.contains("characters"));
        let broken = GOOD.replace("question = ", "question ");
        assert_eq!(Entry::parse("f.md", &broken, &dir()).unwrap_err()[0].line, 4);
        let missing = GOOD.replace("category = \"热线\"\n", "");
        assert!(Entry::parse("f.md", &missing, &dir()).unwrap_err()[0].message.contains("category"));
        assert!(Entry::parse("f.md", "no front matter", &dir()).is_err());
    }
}
