//! Service guides (办事指南): who, what to bring, steps, time limits, fees, where and when.
//! One file each under `faq/guides/`, front matter then `## ` sections. Residents ask for one
//! directly ("指南 法律援助") or follow the pointer under an entry's answer.

use serde::Deserialize;

use super::Problem;
use super::directory::Directory;

/// A guide is sent as several messages; more than this is a document, not a chat answer.
pub const MAX_GUIDE_CHARS: usize = 1500;

#[derive(Debug, Clone, PartialEq)]
pub struct Guide {
    pub id: String,
    /// The short name residents reply with ("指南 法律援助").
    pub name: String,
    pub title: String,
    pub aliases: Vec<String>,
    pub summary: String,
    /// Entries whose answers point to this guide.
    pub entries: Vec<String>,
    /// (heading, text) with directory placeholders filled.
    pub sections: Vec<(String, String)>,
    pub file: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    id: String,
    #[serde(default)]
    name: Option<String>,
    title: String,
    #[serde(default)]
    aliases: Vec<String>,
    summary: String,
    #[serde(default)]
    entries: Vec<String>,
}

impl Guide {
    pub fn parse(file: &str, source: &str, directory: &Directory) -> Result<Guide, Vec<Problem>> {
        let (front, body, body_line) = super::entry::split_front_matter(file, source)?;
        let fm: FrontMatter = toml::from_str(front).map_err(|e| vec![Problem::from_toml(file, front, 2, &e)])?;
        let mut problems = Vec::new();
        if fm.title.trim().is_empty() || fm.summary.trim().is_empty() {
            problems.push(Problem::new(file, 2, "`title` and `summary` are required"));
        }
        let name = fm
            .name
            .clone()
            .unwrap_or_else(|| fm.title.trim().trim_end_matches("办事指南").trim_end_matches("申请").to_owned());
        let mut sections = Vec::new();
        let mut current: Option<(String, String, usize)> = None;
        for (i, line) in body.lines().enumerate() {
            if let Some(heading) = line.strip_prefix("## ") {
                sections.extend(current.take());
                current = Some((heading.trim().to_owned(), String::new(), body_line + i));
            } else if let Some((_, text, _)) = current.as_mut() {
                text.push_str(line);
                text.push('\n');
            } else if !line.trim().is_empty() {
                problems.push(Problem::new(file, body_line + i, "text before the first `## ` section heading"));
            }
        }
        sections.extend(current);
        if sections.is_empty() {
            problems.push(Problem::new(file, body_line, "a guide needs `## ` sections"));
        }
        let mut rendered = Vec::new();
        for (heading, text, line) in sections {
            match directory.render(text.trim()) {
                Ok(t) if t.is_empty() => {
                    problems.push(Problem::new(file, line, format!("section {heading:?} is empty")))
                }
                Ok(t) => rendered.push((heading, t)),
                Err(keys) => problems.extend(
                    keys.into_iter()
                        .map(|k| Problem::new(file, line, format!("unknown directory reference {{{{{k}}}}}"))),
                ),
            }
        }
        let chars: usize = rendered.iter().map(|(h, t)| h.chars().count() + t.chars().count()).sum();
        if chars > MAX_GUIDE_CHARS {
            problems.push(Problem::new(
                file,
                body_line,
                format!("the guide is {chars} characters; at most {MAX_GUIDE_CHARS}"),
            ));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Guide {
            id: fm.id,
            name,
            title: fm.title.trim().to_owned(),
            aliases: fm.aliases,
            summary: fm.summary.trim().to_owned(),
            entries: fm.entries,
            sections: rendered,
            file: file.to_owned(),
        })
    }

    /// The whole guide as chat text; paragraphs split it into messages.
    pub fn text(&self) -> String {
        let mut out = self.title.clone();
        for (heading, text) in &self.sections {
            out.push_str(&format!("\n\n【{heading}】\n{text}"));
        }
        out
    }
}
