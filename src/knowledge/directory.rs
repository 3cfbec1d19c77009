//! The district directory (`faq/directory.toml`): local facts that answers refer to by
//! `{{table.key}}` placeholders: offices, addresses, phone numbers, hours, towns, villages.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::Problem;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Town {
    pub id: String,
    pub name: String,
    #[serde(flatten)]
    pub details: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Village {
    pub id: String,
    pub name: String,
    pub town: String,
    #[serde(flatten)]
    pub details: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Clone, Default)]
pub struct Directory {
    /// Every scalar value by its dotted path (`hall.phone`), for placeholders.
    values: BTreeMap<String, String>,
    pub towns: Vec<Town>,
    pub villages: Vec<Village>,
}

#[derive(Deserialize)]
struct Lists {
    #[serde(default)]
    towns: Vec<Town>,
    #[serde(default)]
    villages: Vec<Village>,
}

impl Directory {
    pub fn parse(file: &str, source: &str) -> Result<Directory, Vec<Problem>> {
        let table: toml::Table = toml::from_str(source).map_err(|e| vec![Problem::from_toml(file, source, 1, &e)])?;
        let lists: Lists = toml::from_str(source).map_err(|e| vec![Problem::from_toml(file, source, 1, &e)])?;
        let mut values = BTreeMap::new();
        flatten("", &table, &mut values);
        let mut problems = Vec::new();
        for v in &lists.villages {
            if !lists.towns.iter().any(|t| t.id == v.town) {
                let line = line_of(source, &format!("\"{}\"", v.id));
                problems.push(Problem::new(file, line, format!("village {} names unknown town {:?}", v.id, v.town)));
            }
        }
        if problems.is_empty() {
            Ok(Directory { values, towns: lists.towns, villages: lists.villages })
        } else {
            Err(problems)
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// Replaces each `{{key}}` in `text`; returns the keys that do not exist.
    pub fn render(&self, text: &str) -> Result<String, Vec<String>> {
        let mut out = String::with_capacity(text.len());
        let mut missing = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                missing.push(format!("unclosed placeholder {:?}", &rest[start..]));
                rest = "";
                break;
            };
            let key = after[..end].trim();
            match self.get(key) {
                Some(v) => out.push_str(v),
                None => missing.push(key.to_owned()),
            }
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        if missing.is_empty() { Ok(out) } else { Err(missing) }
    }
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut BTreeMap<String, String>) {
    for (k, v) in table {
        let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_) => {
                out.insert(key, v.to_string());
            }
            toml::Value::Array(_) | toml::Value::Datetime(_) => {}
        }
    }
}

/// The 1-based line of the first occurrence of `needle`, or 1.
pub(crate) fn line_of(source: &str, needle: &str) -> usize {
    source.find(needle).map(|i| source[..i].matches('\n').count() + 1).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
[hall]
name = "公共法律服务中心"
phone = "0546-0000000" # SAMPLE

[[towns]]
id = "xinhu"
name = "新户镇"

[[villages]]
id = "v1"
name = "示例村"
town = "xinhu"
"#;

    #[test]
    fn renders_placeholders() {
        let d = Directory::parse("directory.toml", SAMPLE).unwrap();
        assert_eq!(d.render("电话 {{hall.phone}}，{{ hall.name }}").unwrap(), "电话 0546-0000000，公共法律服务中心");
        assert_eq!(d.render("{{hall.fax}} {{x}}").unwrap_err(), vec!["hall.fax", "x"]);
        assert_eq!(d.towns[0].name, "新户镇");
        assert_eq!(d.villages[0].town, "xinhu");
    }

    #[test]
    fn reports_bad_toml_and_unknown_towns() {
        let err = Directory::parse("d.toml", "[hall]\nname = \n").unwrap_err();
        assert_eq!(err[0].line, 2);
        let err = Directory::parse("d.toml", &SAMPLE.replace("town = \"xinhu\"", "town = \"nowhere\"")).unwrap_err();
        assert!(err[0].message.contains("nowhere"));
        assert_eq!(err[0].line, 11);
    }
}
