//! The booking rules admins keep in `faq/booking.toml`: services, service points with their
//! opening hours and seats per slot, notice, how far ahead, and open bookings per resident.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};
use serde::Deserialize;

use crate::clock;
use crate::knowledge::{Directory, Problem};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub slot_minutes: i64,
    pub min_notice_hours: i64,
    pub max_days_ahead: i64,
    pub max_open_per_resident: i64,
    pub reminder_hour: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The service guide whose materials the confirmation lists.
    #[serde(default)]
    pub guide: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHours {
    weekdays: Vec<u32>,
    open: String,
    close: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Hours {
    pub weekdays: Vec<u32>,
    pub open: NaiveTime,
    pub close: NaiveTime,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPoint {
    id: String,
    #[serde(default)]
    town: Option<String>,
    name: String,
    address: String,
    phone: String,
    services: Vec<String>,
    hours: Vec<RawHours>,
    seats: BTreeMap<String, i64>,
}

#[derive(Debug, Clone)]
pub struct Point {
    pub id: String,
    pub town: Option<String>,
    pub name: String,
    pub address: String,
    pub phone: String,
    pub services: Vec<String>,
    pub hours: Vec<Hours>,
    pub seats: BTreeMap<String, i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    settings: Settings,
    #[serde(default)]
    service: Vec<Service>,
    #[serde(default)]
    point: Vec<RawPoint>,
}

#[derive(Debug, Clone)]
pub struct BookingConfig {
    pub settings: Settings,
    pub services: Vec<Service>,
    pub points: Vec<Point>,
}

/// One bookable time at a point for a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slot {
    pub start: NaiveDateTime,
}

impl Point {
    /// Opening hours as residents read them: "周一、二、三、四、五 08:30-11:30；…".
    pub fn hours_text(&self) -> String {
        const NAMES: [&str; 7] = ["一", "二", "三", "四", "五", "六", "日"];
        self.hours
            .iter()
            .map(|h| {
                let days: Vec<&str> = h.weekdays.iter().filter_map(|d| NAMES.get(*d as usize - 1).copied()).collect();
                format!("周{} {}-{}", days.join("、"), h.open.format("%H:%M"), h.close.format("%H:%M"))
            })
            .collect::<Vec<_>>()
            .join("；")
    }
}

impl BookingConfig {
    pub fn parse(file: &str, source: &str, directory: &Directory) -> Result<BookingConfig, Vec<Problem>> {
        let raw: RawConfig = toml::from_str(source).map_err(|e| vec![Problem::from_toml(file, source, 1, &e)])?;
        let mut problems = Vec::new();
        let mut problem = |needle: &str, msg: String| {
            let line = source.find(needle).map(|i| source[..i].matches('\n').count() + 1).unwrap_or(1);
            problems.push(Problem::new(file, line, msg));
        };
        let s = &raw.settings;
        if s.slot_minutes < 5 || s.slot_minutes > 240 || s.max_days_ahead < 1 || s.reminder_hour > 23 {
            problem("[settings]", "settings: slot_minutes 5-240, max_days_ahead >= 1, reminder_hour 0-23".into());
        }
        let mut points = Vec::new();
        for p in raw.point {
            let mut render = |what: &str, text: &str| match directory.render(text) {
                Ok(t) => t,
                Err(keys) => {
                    problem(text, format!("point {}: {what}: unknown directory reference {keys:?}", p.id));
                    String::new()
                }
            };
            let (name, address, phone) =
                (render("name", &p.name), render("address", &p.address), render("phone", &p.phone));
            for service in p.services.iter().chain(p.seats.keys()) {
                if !raw.service.iter().any(|s| &s.id == service) {
                    problem(&format!("id = \"{}\"", p.id), format!("point {}: unknown service {service:?}", p.id));
                }
            }
            if let Some(town) = &p.town
                && directory.town(town).is_none()
            {
                problem(&format!("id = \"{}\"", p.id), format!("point {}: unknown town {town:?}", p.id));
            }
            let mut hours = Vec::new();
            for h in &p.hours {
                let time = |t: &str| NaiveTime::parse_from_str(t, "%H:%M").ok();
                match (time(&h.open), time(&h.close)) {
                    (Some(open), Some(close)) if open < close && h.weekdays.iter().all(|d| (1..=7).contains(d)) => {
                        hours.push(Hours { weekdays: h.weekdays.clone(), open, close })
                    }
                    _ => problem(
                        &format!("id = \"{}\"", p.id),
                        format!("point {}: hours need weekdays 1-7 and open < close (HH:MM)", p.id),
                    ),
                }
            }
            points.push(Point {
                id: p.id,
                town: p.town,
                name,
                address,
                phone,
                services: p.services,
                hours,
                seats: p.seats,
            });
        }
        if problems.is_empty() {
            Ok(BookingConfig { settings: raw.settings, services: raw.service, points })
        } else {
            Err(problems)
        }
    }

    pub fn service(&self, id: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.id == id)
    }

    pub fn point(&self, id: &str) -> Option<&Point> {
        self.points.iter().find(|p| p.id == id)
    }

    /// Points offering a service.
    pub fn points_for(&self, service: &str) -> Vec<&Point> {
        self.points.iter().filter(|p| p.services.iter().any(|s| s == service)).collect()
    }

    /// Seats per slot for a service at a point.
    pub fn seats(&self, point: &str, service: &str) -> i64 {
        self.point(point).and_then(|p| p.seats.get(service)).copied().unwrap_or(0)
    }

    /// Every slot of a service at a point between `now` + notice and the booking horizon,
    /// skipping holidays and full slots; `taken` counts seats per (point, service, slot start).
    pub fn free_slots(
        &self,
        point: &str,
        service: &str,
        now: NaiveDateTime,
        directory: &Directory,
        taken: &HashMap<(String, String, i64), i64>,
    ) -> Vec<Slot> {
        let booked =
            |t: NaiveDateTime| taken.get(&(point.to_owned(), service.to_owned(), clock::unix(t))).copied().unwrap_or(0);
        let Some(p) = self.point(point) else { return vec![] };
        let seats = self.seats(point, service);
        if seats == 0 || !p.services.iter().any(|s| s == service) {
            return vec![];
        }
        let earliest = now + Duration::hours(self.settings.min_notice_hours);
        let step = Duration::minutes(self.settings.slot_minutes);
        let hours = directory.service_hours.as_ref();
        let mut slots = Vec::new();
        for day in 0..=self.settings.max_days_ahead {
            let date: NaiveDate = now.date() + Duration::days(day);
            if hours.is_some_and(|h| h.holidays.contains(&date)) {
                continue;
            }
            let made_up = hours.is_some_and(|h| h.workdays.contains(&date));
            for window in &p.hours {
                // A make-up working day follows the Monday timetable.
                let weekday = if made_up { 1 } else { date.weekday().number_from_monday() };
                if !window.weekdays.contains(&weekday) {
                    continue;
                }
                let mut start = date.and_time(window.open);
                while start + step <= date.and_time(window.close) {
                    if start >= earliest && booked(start) < seats {
                        slots.push(Slot { start });
                    }
                    start += step;
                }
            }
        }
        slots.sort();
        slots
    }
}
