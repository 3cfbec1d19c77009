//! Booking through the chat, one question at a time: service, service point, time (from what
//! is actually free), name, mobile number, the matter, then a confirmation. The resident can
//! go back, change an answer, cancel at any step, or ask a question without losing the booking.

use serde::{Deserialize, Serialize};

use super::engine::{Action, Choice, Context, Conversation, Event, Mode, Outcome, matches_phrase};
use crate::booking::{BookingConfig, Slot, when};
use crate::clock;
use crate::domain::PhoneNumber;
use crate::knowledge::Decision;
use crate::store::Appointment;
use crate::text::normalize;

/// How many times are offered at once.
const SLOTS_SHOWN: usize = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Service,
    Point,
    Slot,
    Name,
    Phone,
    Matter,
    Confirm,
}

/// The booking being filled in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    pub service: Option<String>,
    pub point: Option<String>,
    /// Unix seconds of the slot's start.
    pub slot: Option<i64>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub matter: Option<String>,
    /// The booking this one replaces (改约).
    #[serde(default)]
    pub reschedule: Option<i64>,
}

impl Draft {
    fn step(&self) -> Step {
        match self {
            Draft { service: None, .. } => Step::Service,
            Draft { point: None, .. } => Step::Point,
            Draft { slot: None, .. } => Step::Slot,
            Draft { name: None, .. } => Step::Name,
            Draft { phone: None, .. } => Step::Phone,
            Draft { matter: None, .. } => Step::Matter,
            _ => Step::Confirm,
        }
    }

    /// Clears an answer so that its question is asked again.
    fn clear(&mut self, step: Step) {
        match step {
            Step::Service => *self = Draft { reschedule: self.reschedule, ..Draft::default() },
            Step::Point => (self.point, self.slot) = (None, None),
            Step::Slot => self.slot = None,
            Step::Name => self.name = None,
            Step::Phone => self.phone = None,
            Step::Matter => self.matter = None,
            Step::Confirm => {}
        }
    }
}

fn config<'a>(ctx: &'a Context) -> Option<&'a BookingConfig> {
    ctx.kb.booking.as_ref()
}

/// "预约公证", a CLICK on the booking button, "回复 预约 办理公证".
pub(super) fn start(base: Conversation, text: &str, ctx: &Context) -> Outcome {
    let Some(cfg) = config(ctx) else { return Outcome::new(base).say(ctx.kb.bot.unknown.clone()) };
    let texts = &ctx.kb.bot.booking;
    let open = ctx.upcoming.len() as i64;
    if open >= cfg.settings.max_open_per_resident {
        let reply = texts
            .too_many
            .replace("{count}", &open.to_string())
            .replace("{max}", &cfg.settings.max_open_per_resident.to_string());
        return Outcome::new(base).say(reply);
    }
    let norm = normalize(text).replace(' ', "");
    let service = cfg
        .services
        .iter()
        .find(|s| s.aliases.iter().chain([&s.name]).any(|a| norm.contains(&normalize(a).replace(' ', ""))))
        .map(|s| s.id.clone());
    ask(base, Draft { service, ..Draft::default() }, None, ctx)
}

/// Starts a reschedule of an existing booking: same service and point, a new time.
fn reschedule(base: Conversation, a: &Appointment, ctx: &Context) -> Outcome {
    let draft = Draft {
        service: Some(a.service.clone()),
        point: Some(a.point.clone()),
        name: Some(a.name.clone()),
        phone: Some(a.phone.clone()),
        matter: Some(a.matter.clone()),
        reschedule: Some(a.id),
        ..Draft::default()
    };
    ask(base, draft, None, ctx)
}

/// Asks the next missing answer (with `lead` before it, e.g. a re-ask reason).
fn ask(base: Conversation, mut draft: Draft, lead: Option<&str>, ctx: &Context) -> Outcome {
    let Some(cfg) = config(ctx) else { return Outcome::new(base).say(ctx.kb.bot.unknown.clone()) };
    let texts = &ctx.kb.bot.booking;
    // A single choice is no choice: fill it in.
    if draft.point.is_none()
        && let Some(service) = &draft.service
        && let [only] = cfg.points_for(service).as_slice()
    {
        draft.point = Some(only.id.clone());
    }
    let (question, choices) = match draft.step() {
        Step::Service => {
            let list = numbered(cfg.services.iter().map(|s| s.name.clone()));
            (
                format!("{}\n{list}", texts.choose_service),
                cfg.services.iter().map(|s| Choice::Service(s.id.clone())).collect(),
            )
        }
        Step::Point => {
            let mut points = cfg.points_for(draft.service.as_deref().unwrap_or_default());
            // The resident's own town first.
            let town = ctx.village.and_then(|v| ctx.kb.directory.village(v)).map(|v| v.town.as_str());
            points.sort_by_key(|p| p.town.as_deref() != town);
            let list = numbered(points.iter().map(|p| format!("{}（{}）", p.name, p.address)));
            (format!("{}\n{list}", texts.choose_point), points.iter().map(|p| Choice::Point(p.id.clone())).collect())
        }
        Step::Slot => {
            let slots = free(&draft, ctx, None);
            if slots.is_empty() {
                let o = Outcome::new(Conversation { mode: Mode::Booking { draft }, choices: vec![], ..base });
                return o.say(texts.full.clone());
            }
            let shown: Vec<Slot> = slots.into_iter().take(SLOTS_SHOWN).collect();
            (slot_list(&texts.choose_slot, &shown), shown.iter().map(|s| Choice::Slot(clock::unix(s.start))).collect())
        }
        Step::Name => (texts.ask_name.clone(), vec![]),
        Step::Phone => (texts.ask_phone.clone(), vec![]),
        Step::Matter => (texts.ask_matter.clone(), vec![]),
        Step::Confirm => (texts.confirm.replace("{summary}", &summary(&draft, ctx)), vec![]),
    };
    let text = match lead {
        Some(lead) => format!("{lead}\n{question}"),
        None => question,
    };
    Outcome::new(Conversation { mode: Mode::Booking { draft }, choices, ..base }).say(text)
}

fn numbered(items: impl Iterator<Item = String>) -> String {
    items.enumerate().map(|(i, s)| format!("{}. {s}", i + 1)).collect::<Vec<_>>().join("\n")
}

const WEEKDAY_NAMES: [&str; 7] = ["一", "二", "三", "四", "五", "六", "日"];

/// "11月30日（周一）09:00".
pub fn slot_label(start: chrono::NaiveDateTime) -> String {
    use chrono::Datelike;
    let weekday = WEEKDAY_NAMES[start.weekday().num_days_from_monday() as usize];
    format!("{}月{}日（周{weekday}）{}", start.month(), start.day(), start.format("%H:%M"))
}

fn slot_list(head: &str, slots: &[Slot]) -> String {
    format!("{head}\n{}", numbered(slots.iter().map(|s| slot_label(s.start))))
}

/// Free slots of the draft's service and point, optionally on the day/half-day named.
fn free(draft: &Draft, ctx: &Context, when: Option<when::When>) -> Vec<Slot> {
    let (Some(cfg), Some(service), Some(point)) = (config(ctx), &draft.service, &draft.point) else { return vec![] };
    cfg.free_slots(point, service, ctx.now, &ctx.kb.directory, ctx.taken)
        .into_iter()
        .filter(|s| {
            when.is_none_or(|w| {
                w.date.is_none_or(|d| s.start.date() == d) && w.half.is_none_or(|h| h.contains(s.start.time()))
            })
        })
        .collect()
}

fn summary(draft: &Draft, ctx: &Context) -> String {
    let cfg = config(ctx);
    let service = draft.service.as_deref().and_then(|s| cfg?.service(s)).map(|s| s.name.clone()).unwrap_or_default();
    let point = draft.point.as_deref().and_then(|p| cfg?.point(p)).map(|p| p.name.clone()).unwrap_or_default();
    let slot = draft.slot.map(|t| slot_label(clock::local(t))).unwrap_or_default();
    let phone = draft
        .phone
        .as_deref()
        .and_then(|p| PhoneNumber::parse(p).ok())
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    format!(
        "服务：{service}\n地点：{point}\n时间：{slot}\n姓名：{}\n电话：{phone}\n事项：{}",
        draft.name.as_deref().unwrap_or_default(),
        draft.matter.as_deref().unwrap_or_default()
    )
}

/// One message while booking.
pub(super) fn on_text(
    previous: &Conversation,
    base: Conversation,
    mut draft: Draft,
    text: &str,
    ctx: &Context,
) -> Outcome {
    let texts = &ctx.kb.bot.booking;
    let intents = &ctx.kb.bot.intents;
    let norm = normalize(text);
    let compact = norm.replace(' ', "");
    let step = draft.step();
    if matches_phrase(&norm, &intents.cancel) || compact == "不约了" {
        return Outcome::new(Conversation { mode: Mode::Bot, ..base }).say(texts.abandoned.clone());
    }
    if matches_phrase(&norm, &intents.back) {
        let back = match step {
            Step::Service | Step::Point => Step::Service,
            Step::Slot => Step::Point,
            Step::Name => Step::Slot,
            Step::Phone => Step::Name,
            Step::Matter => Step::Phone,
            Step::Confirm => Step::Matter,
        };
        draft.clear(back);
        return ask(base, draft, None, ctx);
    }
    // A name or a matter may well contain 改, 电话 or 怎么; only other steps read commands there.
    let free_text = matches!(step, Step::Name | Step::Matter);
    for (words, field) in [
        ("时间", Step::Slot),
        ("日期", Step::Slot),
        ("姓名", Step::Name),
        ("名字", Step::Name),
        ("电话", Step::Phone),
        ("手机", Step::Phone),
        ("事项", Step::Matter),
        ("地点", Step::Point),
        ("服务", Step::Service),
    ] {
        if (compact.starts_with("修改") || compact.starts_with("改") || compact.starts_with("换"))
            && compact.contains(words)
        {
            draft.clear(field);
            return ask(base, draft, None, ctx);
        }
    }
    if step == Step::Slot && config(ctx).is_some() && matches_phrase(&norm, &intents.waitlist) {
        let (Some(service), Some(point)) = (draft.service.clone(), draft.point.clone()) else {
            return ask(base, draft, None, ctx);
        };
        return Outcome::new(Conversation { mode: Mode::Bot, ..base })
            .say(texts.waitlisted.clone())
            .act(Action::JoinWaitlist { service, point });
    }
    let picked =
        compact.parse::<usize>().ok().and_then(|n| n.checked_sub(1)).and_then(|i| previous.choices.get(i)).cloned();
    if picked.is_none() && !free_text && looks_like_question(&compact) {
        return answer_in_passing(previous, base, draft, text, None, ctx);
    }
    let parsed: Result<(), &str> = match (step, picked) {
        (Step::Service, Some(Choice::Service(id))) => {
            draft.service = Some(id);
            Ok(())
        }
        (Step::Point, Some(Choice::Point(id))) => {
            draft.point = Some(id);
            Ok(())
        }
        (Step::Slot, Some(Choice::Slot(t))) => {
            draft.slot = Some(t);
            Ok(())
        }
        (Step::Slot, _) => {
            // A day or half-day named: offer what is free then.
            if let Some(w) = when::parse(&compact, ctx.now.date()) {
                let on_day: Vec<Slot> = free(&draft, ctx, Some(w)).into_iter().take(SLOTS_SHOWN).collect();
                let (head, shown) = if on_day.is_empty() {
                    (
                        texts.no_slot_on_day.clone(),
                        free(&draft, ctx, None).into_iter().take(SLOTS_SHOWN).collect::<Vec<_>>(),
                    )
                } else {
                    (texts.choose_slot.clone(), on_day)
                };
                if shown.is_empty() {
                    return ask(base, draft, None, ctx);
                }
                let choices = shown.iter().map(|s| Choice::Slot(clock::unix(s.start))).collect();
                return Outcome::new(Conversation { mode: Mode::Booking { draft }, choices, ..base })
                    .say(slot_list(&head, &shown));
            }
            Err("")
        }
        (Step::Service, _) => {
            let cfg = config(ctx);
            match cfg.and_then(|c| {
                c.services.iter().find(|s| {
                    s.aliases.iter().chain([&s.name]).any(|a| compact.contains(&normalize(a).replace(' ', "")))
                })
            }) {
                Some(s) => {
                    draft.service = Some(s.id.clone());
                    Ok(())
                }
                None => Err(""),
            }
        }
        (Step::Name, _) => {
            let name = text.trim().trim_start_matches("我叫").trim_start_matches("俺叫").trim();
            let n = name.chars().count();
            if (2..=20).contains(&n) && name.chars().all(|c| c.is_alphabetic() || c == '·' || c == ' ') {
                draft.name = Some(name.to_owned());
                Ok(())
            } else {
                Err(texts.bad_name.as_str())
            }
        }
        (Step::Phone, _) => match PhoneNumber::parse(text) {
            Ok(p) => {
                draft.phone = Some(p.as_str().to_owned());
                Ok(())
            }
            Err(_) => Err(texts.bad_phone.as_str()),
        },
        (Step::Matter, _) => {
            let n = text.trim().chars().count();
            if (2..=200).contains(&n) {
                draft.matter = Some(text.trim().to_owned());
                Ok(())
            } else {
                Err(texts.bad_matter.as_str())
            }
        }
        (Step::Confirm, _) if matches_phrase(&norm, &intents.confirm) => {
            let (Some(service), Some(point), Some(slot), Some(name), Some(phone), Some(matter)) = (
                draft.service.clone(),
                draft.point.clone(),
                draft.slot,
                draft.name.clone(),
                draft.phone.clone(),
                draft.matter.clone(),
            ) else {
                return ask(base, draft, None, ctx);
            };
            let reschedule = draft.reschedule;
            // The reply comes from the shell, once the seat is really taken.
            return Outcome::new(Conversation { mode: Mode::Booking { draft }, choices: vec![], ..base })
                .act(Action::Book { service, point, slot, name, phone, matter, reschedule });
        }
        _ => Err(""),
    };
    match parsed {
        Ok(()) => ask(base, draft, None, ctx),
        Err(reason) => answer_in_passing(previous, base, draft, text, Some(reason), ctx),
    }
}

/// Question words: a message with one is a question, not an answer to ours.
pub(super) fn looks_like_question(compact: &str) -> bool {
    compact.ends_with('吗')
        || compact.ends_with('呢')
        || ["?", "怎么", "咋", "多久", "多少", "什么", "啥", "哪", "能不能", "可不可以", "是不是", "要不要"]
            .iter()
            .any(|w| compact.contains(w))
}

/// A message that does not answer the booking's question: answer it if the knowledge base
/// can, then ask the booking's question again; the draft is kept.
fn answer_in_passing(
    previous: &Conversation,
    base: Conversation,
    draft: Draft,
    text: &str,
    reason: Option<&str>,
    ctx: &Context,
) -> Outcome {
    let texts = &ctx.kb.bot.booking;
    let found = ctx.kb.search(text, 3);
    if found.decision == Decision::Answer {
        let id = ctx.kb.entries[found.hits[0].entry].id.clone();
        let answer = ctx.kb.entry(&id).map(|e| e.answer.clone()).unwrap_or_default();
        let mut o = ask(base, draft, Some(&texts.resume), ctx);
        o.replies.insert(0, crate::wechat::Reply::text(answer));
        return o.event(Event::Answered { entry: id });
    }
    let lead = reason.filter(|r| !r.is_empty());
    let mut o = ask(base, draft, lead, ctx);
    if previous.choices.len() > o.conversation.choices.len() {
        o.conversation.choices = previous.choices.clone();
    }
    o
}

/// A location while choosing the service point: the point in the nearest town that offers
/// the service (or the question again if none is near).
pub(super) fn on_location(base: Conversation, mut draft: Draft, lat: f64, lon: f64, ctx: &Context) -> Outcome {
    if let (Some(cfg), Some(service), None) = (config(ctx), &draft.service, &draft.point) {
        let dir = &ctx.kb.directory;
        let nearest =
            dir.nearest(cfg.points_for(service).into_iter(), lat, lon, |p| p.town.as_deref().and_then(|t| dir.town(t)));
        if let Some(p) = nearest {
            draft.point = Some(p.id.clone());
        }
    }
    ask(base, draft, None, ctx)
}

/// "我的预约", and "取消预约 2" / "改约 2" after it.
pub(super) fn mine(base: Conversation, ctx: &Context) -> Outcome {
    let texts = &ctx.kb.bot.booking;
    if ctx.upcoming.is_empty() {
        return Outcome::new(base).say(texts.mine_none.clone());
    }
    let list = numbered(ctx.upcoming.iter().map(|a| describe(a, ctx)));
    let choices = ctx.upcoming.iter().map(|a| Choice::Appointment(a.id)).collect();
    Outcome::new(Conversation { choices, ..base }).say(texts.mine_list.replace("{list}", &list))
}

/// "公证办理 · 11月30日（周一）09:00 · 大厅 · 预约号 ABC123".
pub fn describe(a: &Appointment, ctx: &Context) -> String {
    let cfg = config(ctx);
    let service = cfg.and_then(|c| c.service(&a.service)).map(|s| s.name.as_str()).unwrap_or(&a.service);
    let point = cfg.and_then(|c| c.point(&a.point)).map(|p| p.name.as_str()).unwrap_or(&a.point);
    format!("{service} · {} · {point} · 预约号 {}", slot_label(clock::local(a.slot_start)), a.number)
}

/// "取消预约 1", "取消1", "改约 1" while the list of one's bookings is on screen.
pub(super) fn manage(previous: &Conversation, base: Conversation, compact: &str, ctx: &Context) -> Option<Outcome> {
    let (cancel, rest) = if let Some(rest) = compact.strip_prefix("取消预约").or_else(|| compact.strip_prefix("取消"))
    {
        (true, rest)
    } else if let Some(rest) = compact.strip_prefix("改约").or_else(|| compact.strip_prefix("改时间")) {
        (false, rest)
    } else {
        return None;
    };
    let index = rest.trim_start_matches('第').trim_end_matches('个').parse::<usize>().ok()?.checked_sub(1)?;
    let Some(Choice::Appointment(id)) = previous.choices.get(index) else { return None };
    let a = ctx.upcoming.iter().find(|a| a.id == *id)?;
    Some(if cancel {
        Outcome::new(base)
            .say(ctx.kb.bot.booking.cancelled.replace("{number}", &a.number))
            .act(Action::CancelAppointment { id: a.id })
    } else {
        reschedule(base, a, ctx)
    })
}

/// The slot was taken by someone else at the last moment: offer the next free ones.
pub fn slot_taken(conversation: &Conversation, ctx: &Context) -> Outcome {
    let Mode::Booking { draft } = &conversation.mode else { return Outcome::new(conversation.clone()) };
    let draft = Draft { slot: None, ..draft.clone() };
    ask(conversation.clone(), draft, Some(&ctx.kb.bot.booking.slot_taken), ctx)
}

/// The confirmation after a successful booking, with what to bring from the service guide.
pub fn booked(conversation: &Conversation, a: &Appointment, ctx: &Context) -> Outcome {
    let texts = &ctx.kb.bot.booking;
    let cfg = config(ctx);
    let point = cfg.and_then(|c| c.point(&a.point));
    let guide = cfg
        .and_then(|c| c.service(&a.service))
        .and_then(|s| s.guide.as_deref())
        .and_then(|g| ctx.kb.guides.iter().find(|x| x.id == g));
    let materials = guide
        .and_then(|g| g.sections.iter().find(|(h, _)| h.contains("材料")))
        .map(|(_, t)| t.clone())
        .unwrap_or_else(|| texts.materials_default.clone());
    let draft = match &conversation.mode {
        Mode::Booking { draft } => draft.clone(),
        _ => Draft::default(),
    };
    let reply = texts
        .booked
        .replace("{number}", &a.number)
        .replace("{summary}", &summary(&draft, ctx))
        .replace("{address}", point.map(|p| p.address.as_str()).unwrap_or_default())
        .replace("{phone}", point.map(|p| p.phone.as_str()).unwrap_or_default())
        .replace("{hours}", &point.map(|p| p.hours_text()).unwrap_or_default())
        .replace("{materials}", &materials);
    Outcome::new(Conversation { mode: Mode::Bot, choices: vec![], ..conversation.clone() }).say(reply)
}
