//! Import of an existing question/answer set (a spreadsheet saved as CSV, or JSON lines) into
//! entry files, for districts that already keep their questions somewhere.

use std::path::{Path, PathBuf};

use serde::Serialize;

/// One question and its answer as read from the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: Option<String>,
    pub question: String,
    pub answer: String,
    pub similar: Vec<String>,
    pub category: Option<String>,
}

const QUESTION: [&str; 5] = ["question", "q", "问题", "标准问题", "问"];
const ANSWER: [&str; 5] = ["answer", "a", "答案", "回答", "答"];
const SIMILAR: [&str; 3] = ["similar", "相似问题", "相似问法"];
const CATEGORY: [&str; 3] = ["category", "分类", "类别"];
const ID: [&str; 2] = ["id", "编号"];

fn column(headers: &[String], names: &[&str]) -> Option<usize> {
    headers.iter().position(|h| names.iter().any(|n| h.trim().trim_start_matches('\u{feff}').eq_ignore_ascii_case(n)))
}

/// Similar questions in one cell are separated by `|`, `；` or new lines.
fn split_similar(cell: &str) -> Vec<String> {
    cell.split(['|', '；', ';', '\n']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// Reads CSV with a header row naming the question and answer columns (English or Chinese).
pub fn read_csv(text: &str) -> Result<Vec<Row>, String> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    let headers: Vec<String> = reader.headers().map_err(|e| e.to_string())?.iter().map(str::to_owned).collect();
    let q = column(&headers, &QUESTION).ok_or("no question column (question / 问题)")?;
    let a = column(&headers, &ANSWER).ok_or("no answer column (answer / 答案)")?;
    let (s, c, i) = (column(&headers, &SIMILAR), column(&headers, &CATEGORY), column(&headers, &ID));
    let mut rows = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let record = record.map_err(|e| format!("row {}: {e}", n + 2))?;
        let cell = |k: Option<usize>| k.and_then(|k| record.get(k)).map(str::trim).unwrap_or_default().to_owned();
        rows.push(Row {
            id: Some(cell(i)).filter(|s| !s.is_empty()),
            question: cell(Some(q)),
            answer: cell(Some(a)),
            similar: split_similar(&cell(s)),
            category: Some(cell(c)).filter(|s| !s.is_empty()),
        });
    }
    Ok(rows)
}

/// Reads JSON lines: `{"question"|"q"|"问题": …, "answer"|"a"|"答案": …, "similar": [...]}`.
pub fn read_jsonl(text: &str) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| format!("line {}: {e}", n + 1))?;
        let get =
            |names: &[&str]| names.iter().find_map(|k| v.get(*k).and_then(|x| x.as_str())).map(|s| s.trim().to_owned());
        let similar = SIMILAR.iter().find_map(|k| v.get(*k)).map(|x| match x {
            serde_json::Value::Array(items) => items.iter().filter_map(|i| i.as_str()).map(str::to_owned).collect(),
            serde_json::Value::String(s) => split_similar(s),
            _ => vec![],
        });
        rows.push(Row {
            id: get(&ID),
            question: get(&QUESTION).unwrap_or_default(),
            answer: get(&ANSWER).unwrap_or_default(),
            similar: similar.unwrap_or_default(),
            category: get(&CATEGORY),
        });
    }
    Ok(rows)
}

#[derive(Serialize)]
struct FrontMatter<'a> {
    id: &'a str,
    category: &'a str,
    question: &'a str,
    similar: &'a [String],
    source: &'a str,
}

/// What an import did.
#[derive(Debug, Default)]
pub struct Imported {
    pub written: Vec<PathBuf>,
    /// (row number, reason) of rows left out.
    pub skipped: Vec<(usize, String)>,
}

/// Writes one entry file per usable row into `out`, ids `<prefix>.<id or row number>`.
/// Rows without a question or an answer are reported, not written; nothing is overwritten.
pub fn write_entries(
    rows: &[Row],
    out: &Path,
    prefix: &str,
    category: &str,
    source: &str,
) -> std::io::Result<Imported> {
    std::fs::create_dir_all(out)?;
    let mut done = Imported::default();
    for (n, row) in rows.iter().enumerate() {
        if row.question.is_empty() || row.answer.is_empty() {
            done.skipped.push((n + 1, "empty question or answer".into()));
            continue;
        }
        let local: String = row
            .id
            .clone()
            .unwrap_or_else(|| format!("{:05}", n + 1))
            .to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' })
            .collect();
        let id = format!("{prefix}.{local}");
        let path = out.join(format!("{id}.md"));
        if path.exists() {
            done.skipped.push((n + 1, format!("{} exists", path.display())));
            continue;
        }
        let fm = FrontMatter {
            id: &id,
            category: row.category.as_deref().unwrap_or(category),
            question: &row.question,
            similar: &row.similar,
            source,
        };
        let front = toml::to_string(&fm).map_err(std::io::Error::other)?;
        // `{{` would read as a directory placeholder.
        let answer = row.answer.replace("{{", "{ {").replace("\r\n", "\n");
        std::fs::write(&path, format!("+++\n{front}+++\n{answer}\n"))?;
        done.written.push(path);
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::{Directory, Entry};

    #[test]
    fn csv_with_chinese_headers_round_trips_into_valid_entries() {
        let csv = "问题,答案,相似问题,分类\n\"欠钱不还怎么办\",\"可以起诉，注意三年诉讼时效。\",\"借钱不还|老赖\",借贷\n没有答案的问题,,,\n";
        let rows = read_csv(csv).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].similar, vec!["借钱不还", "老赖"]);
        let dir = tempfile::tempdir().unwrap();
        let done = write_entries(&rows, dir.path(), "imported", "常见问题", "import:test.csv").unwrap();
        assert_eq!(done.written.len(), 1);
        assert_eq!(done.skipped, vec![(2, "empty question or answer".to_owned())]);
        let text = std::fs::read_to_string(&done.written[0]).unwrap();
        let e = Entry::parse("x.md", &text, &Directory::default()).unwrap();
        assert_eq!((e.id.as_str(), e.category.as_str()), ("imported.00001", "借贷"));
        assert_eq!(e.answer, "可以起诉，注意三年诉讼时效。");
        assert_eq!(e.source.as_deref(), Some("import:test.csv"));
        // A second import does not overwrite.
        let again = write_entries(&rows, dir.path(), "imported", "常见问题", "import:test.csv").unwrap();
        assert!(again.written.is_empty());
    }

    #[test]
    fn jsonl_with_various_keys() {
        let rows = read_jsonl("{\"q\": \"离婚冷静期多久\", \"a\": \"30日。{{不是占位符}}\"}\n\n{\"问题\": \"x\", \"答案\": \"y\", \"similar\": [\"z\"]}\n").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].similar, vec!["z"]);
        let dir = tempfile::tempdir().unwrap();
        let done = write_entries(&rows, dir.path(), "qa", "常见问题", "import").unwrap();
        let e =
            Entry::parse("x.md", &std::fs::read_to_string(&done.written[0]).unwrap(), &Directory::default()).unwrap();
        assert!(e.answer.contains("{ {不是占位符}}"));
        assert!(read_jsonl("{broken").is_err());
        assert!(read_csv("foo,bar\n1,2\n").is_err());
    }
}
