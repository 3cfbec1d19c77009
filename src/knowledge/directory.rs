//! The district directory (`faq/directory.toml`): local facts that answers refer to by
//! `{{table.key}}` placeholders: offices, addresses, phone numbers, hours, towns, villages.

use std::collections::{BTreeMap, HashSet};

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime};

use serde::Deserialize;

use super::Problem;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Town {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub lat: Option<f64>,
    #[serde(default)]
    pub lon: Option<f64>,
    #[serde(flatten)]
    pub details: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Village {
    pub id: String,
    pub name: String,
    pub town: String,
    /// Console username of the village's legal adviser.
    #[serde(default)]
    pub adviser_account: Option<String>,
    #[serde(flatten)]
    pub details: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Clone, Default)]
pub struct Directory {
    /// Every scalar value by its dotted path (`hall.phone`), for placeholders.
    values: BTreeMap<String, String>,
    pub towns: Vec<Town>,
    pub villages: Vec<Village>,
    /// When advisers work; None: always.
    pub service_hours: Option<ServiceHours>,
    pub routing: Routing,
}

/// When advisers answer, in local time (China Standard Time).
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceHours {
    /// 1 = Monday … 7 = Sunday.
    pub weekdays: Vec<u32>,
    pub open: NaiveTime,
    pub close: NaiveTime,
    pub holidays: HashSet<NaiveDate>,
    /// Weekend days worked in exchange for a holiday (调休).
    pub workdays: HashSet<NaiveDate>,
    pub description: String,
}

impl ServiceHours {
    pub fn is_open(&self, now: NaiveDateTime) -> bool {
        let date = now.date();
        let working_day = self.workdays.contains(&date)
            || (!self.holidays.contains(&date) && self.weekdays.contains(&now.weekday().number_from_monday()));
        working_day && now.time() >= self.open && now.time() < self.close
    }
}

/// How long a handoff waits at each level before it goes to the next.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Routing {
    pub village_minutes: i64,
    pub town_minutes: i64,
}

impl Default for Routing {
    fn default() -> Self {
        Routing { village_minutes: 10, town_minutes: 20 }
    }
}

#[derive(Deserialize)]
struct RawHours {
    weekdays: Vec<u32>,
    open: String,
    close: String,
    #[serde(default)]
    holidays: Vec<String>,
    #[serde(default)]
    workdays: Vec<String>,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
struct Lists {
    #[serde(default)]
    towns: Vec<Town>,
    #[serde(default)]
    villages: Vec<Village>,
    #[serde(default)]
    service_hours: Option<RawHours>,
    #[serde(default)]
    routing: Option<Routing>,
}

fn parse_hours(raw: RawHours) -> Result<ServiceHours, String> {
    let time = |s: &str| NaiveTime::parse_from_str(s, "%H:%M").map_err(|_| format!("{s:?} is not a time like 08:30"));
    let dates = |list: &[String]| {
        list.iter()
            .map(|d| {
                NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| format!("{d:?} is not a date like 2026-10-01"))
            })
            .collect::<Result<HashSet<_>, _>>()
    };
    if raw.weekdays.iter().any(|d| !(1..=7).contains(d)) {
        return Err("weekdays are numbers 1 (Monday) to 7 (Sunday)".into());
    }
    let (open, close) = (time(&raw.open)?, time(&raw.close)?);
    if open >= close {
        return Err("`open` must be before `close`".into());
    }
    Ok(ServiceHours {
        weekdays: raw.weekdays,
        open,
        close,
        holidays: dates(&raw.holidays)?,
        workdays: dates(&raw.workdays)?,
        description: raw.description,
    })
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
        let service_hours = match lists.service_hours.map(parse_hours).transpose() {
            Ok(h) => h,
            Err(e) => {
                problems.push(Problem::new(file, line_of(source, "[service_hours]"), format!("service_hours: {e}")));
                None
            }
        };
        if problems.is_empty() {
            Ok(Directory {
                values,
                towns: lists.towns,
                villages: lists.villages,
                service_hours,
                routing: lists.routing.unwrap_or_default(),
            })
        } else {
            Err(problems)
        }
    }

    pub fn village(&self, id: &str) -> Option<&Village> {
        self.villages.iter().find(|v| v.id == id)
    }

    pub fn town(&self, id: &str) -> Option<&Town> {
        self.towns.iter().find(|t| t.id == id)
    }

    /// True when advisers are at work at `now` (local time); always without service hours.
    pub fn is_open(&self, now: NaiveDateTime) -> bool {
        self.service_hours.as_ref().is_none_or(|h| h.is_open(now))
    }

    /// The town nearest to a point, among those with coordinates.
    pub fn nearest_town(&self, lat: f64, lon: f64) -> Option<&Town> {
        self.nearest(self.towns.iter(), lat, lon, |t| Some(t))
    }

    /// The item whose town is nearest to a point, among items whose town has coordinates.
    pub fn nearest<'a, T>(
        &'a self,
        items: impl Iterator<Item = T>,
        lat: f64,
        lon: f64,
        town_of: impl Fn(&T) -> Option<&'a Town>,
    ) -> Option<T> {
        // Degrees, with longitude shrunk by latitude: enough to compare towns of one district.
        let distance = |t: &Town| Some((t.lat? - lat).powi(2) + ((t.lon? - lon) * lat.to_radians().cos()).powi(2));
        items
            .filter_map(|i| town_of(&i).and_then(distance).map(|d| (d, i)))
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, i)| i)
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
    fn service_hours_holidays_and_make_up_days() {
        let src = format!(
            "{SAMPLE}\n[service_hours]\nweekdays = [1, 2, 3, 4, 5]\nopen = \"08:30\"\nclose = \"17:30\"\nholidays = [\"2026-10-01\"]\nworkdays = [\"2026-10-10\"]\n"
        );
        let d = Directory::parse("d.toml", &src).unwrap();
        let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        assert!(d.is_open(at("2026-11-27 09:00")), "a Friday morning");
        assert!(!d.is_open(at("2026-11-27 08:00")), "before opening");
        assert!(!d.is_open(at("2026-11-27 17:30")), "closing time");
        assert!(!d.is_open(at("2026-11-28 10:00")), "Saturday");
        assert!(!d.is_open(at("2026-10-01 10:00")), "a holiday on a Thursday");
        assert!(d.is_open(at("2026-10-10 10:00")), "a Saturday worked in exchange");
        let bad = src.replace("\"17:30\"", "\"5pm\"");
        assert!(Directory::parse("d.toml", &bad).unwrap_err()[0].message.contains("5pm"));
        assert!(Directory::parse("d.toml", SAMPLE).unwrap().is_open(at("2026-11-28 03:00")), "no hours: always open");
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
