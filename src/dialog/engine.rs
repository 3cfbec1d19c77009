use serde::{Deserialize, Serialize};

use chrono::NaiveDateTime;

use std::collections::HashMap;

use super::booking::{self, Draft};
use super::human;
use crate::knowledge::{Decision, Entry, Knowledge, MenuItem};
use crate::store::Appointment;
use crate::text::normalize;
use crate::wechat::{Body, Reply};

/// What the resident did, as far as the dialogue cares.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Text(String),
    Subscribe,
    Unsubscribe,
    Click(String),
    /// A location the resident sent (to find their town).
    Location {
        latitude: f64,
        longitude: f64,
    },
    /// A message the bot cannot read (image, video, link, voice without recognised text).
    Unreadable,
    /// Nothing to answer (menu link opened, location report, unknown event).
    Silent,
}

impl Input {
    pub fn from_body(body: &Body) -> Input {
        match body {
            Body::Text { content, .. } => Input::Text(content.clone()),
            Body::Voice { recognition: Some(text), .. } => Input::Text(text.clone()),
            Body::Subscribe { .. } | Body::Scan { .. } => Input::Subscribe,
            Body::Unsubscribe => Input::Unsubscribe,
            Body::Click { key } => Input::Click(key.clone()),
            Body::Voice { .. }
            | Body::Image { .. }
            | Body::Video { .. }
            | Body::Link { .. }
            | Body::Location { .. } => Input::Unreadable,
            Body::View { .. } | Body::LocationReport { .. } | Body::Other { .. } => Input::Silent,
        }
    }
}

/// One numbered option the resident may answer with a digit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Choice {
    Entry(String),
    MenuItem(usize),
    Guide(String),
    Village(String),
    Service(String),
    Point(String),
    /// Unix seconds of a slot's start.
    Slot(i64),
    Appointment(i64),
}

/// Who the conversation is with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Bot,
    /// Asking which village the resident lives in; `then` is the handoff to open once known.
    AskingVillage { then: Option<Reason> },
    /// A human adviser has the conversation: the bot stays silent but for commands.
    Human,
    /// An adviser closed the conversation; the next message may be a rating (asked once).
    AwaitingRating { handoff: i64 },
    /// Filling in a booking.
    Booking { draft: Draft },
}

/// Why a conversation went to a human.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The resident asked for a person.
    Asked,
    /// The bot did not know, and the resident accepted the offer.
    Unknown,
    /// The resident said the answer did not help, or asked again.
    Unhelpful,
    /// Words of danger or group conflict.
    Risk,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Asked => "asked",
            Reason::Unknown => "unknown",
            Reason::Unhelpful => "unhelpful",
            Reason::Risk => "risk",
        }
    }
}

/// What the shell must do besides replying.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Open a handoff (or, if one is open, mark it urgent when `urgent`).
    Handoff {
        reason: Reason,
        urgent: bool,
        town: Option<String>,
    },
    /// Remember the resident's village.
    SetVillage(String),
    /// The resident ended the conversation with the adviser.
    EndHandoff,
    /// The resident rated a closed handoff, 1 to 5.
    Rate {
        handoff: i64,
        score: i64,
    },
    /// Take a seat; on success the shell confirms, else it offers other times.
    Book {
        service: String,
        point: String,
        slot: i64,
        name: String,
        phone: String,
        matter: String,
        reschedule: Option<i64>,
    },
    CancelAppointment {
        id: i64,
    },
    JoinWaitlist {
        service: String,
        point: String,
    },
}

/// What the engine may read besides the conversation: all of it read-only.
pub struct Context<'a> {
    pub kb: &'a Knowledge,
    /// Local time (China Standard Time).
    pub now: NaiveDateTime,
    /// Handoffs waiting for an adviser now.
    pub waiting: usize,
    /// The resident's village, when known.
    pub village: Option<&'a str>,
    /// Seats taken per (point, service, slot start) from now on.
    pub taken: &'a HashMap<(String, String, i64), i64>,
    /// The resident's upcoming bookings.
    pub upcoming: &'a [Appointment],
}

/// The state kept between messages of one resident.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    /// Options last offered as a numbered list; a digit picks one.
    #[serde(default)]
    pub choices: Vec<Choice>,
    /// The entry last answered, for follow-ups and reports.
    #[serde(default)]
    pub last_entry: Option<String>,
    #[serde(default)]
    pub mode: Mode,
    /// The bot did not know and offered a human adviser: "好" accepts.
    #[serde(default)]
    pub offered_human: bool,
    /// The last question, normalised: asking the same again means the answer did not help.
    #[serde(default)]
    pub last_query: Option<String>,
}

/// What happened, for the message log and later reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Answered {
        entry: String,
    },
    Guide {
        guide: String,
    },
    /// Words of danger or group conflict: for urgent attention and the public-opinion report.
    Risk {
        kind: String,
        words: Vec<String>,
    },
    HandoffRequested {
        reason: Reason,
    },
    Suggested {
        entries: Vec<String>,
    },
    NotKnown,
    Welcomed,
    Unsubscribed,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub conversation: Conversation,
    pub replies: Vec<Reply>,
    pub events: Vec<Event>,
    pub actions: Vec<Action>,
}

impl Outcome {
    pub(super) fn new(conversation: Conversation) -> Self {
        Outcome { conversation, replies: vec![], events: vec![], actions: vec![] }
    }

    pub(super) fn act(mut self, action: Action) -> Self {
        self.actions.push(action);
        self
    }

    pub(super) fn say(mut self, text: impl Into<String>) -> Self {
        self.replies.push(Reply::text(text));
        self
    }

    pub(super) fn event(mut self, event: Event) -> Self {
        self.events.push(event);
        self
    }
}

/// The CLICK key of the custom-menu button that starts a booking.
pub const BOOK_KEY: &str = "BOOK";

/// Handles one input. Pure: the same arguments always give the same outcome.
pub fn handle(conversation: &Conversation, input: &Input, ctx: &Context) -> Outcome {
    let kb = ctx.kb;
    let base = Conversation { choices: vec![], ..conversation.clone() };
    match (&conversation.mode, input) {
        (_, Input::Unsubscribe) => return Outcome::new(Conversation::default()).event(Event::Unsubscribed),
        (_, Input::Silent) => return Outcome::new(conversation.clone()),
        (Mode::Human, Input::Text(text)) => return human::while_with_adviser(base, text, ctx),
        // The adviser sees images and the like; the bot says nothing.
        (Mode::Human, _) => return Outcome::new(conversation.clone()),
        (Mode::AskingVillage { then }, Input::Location { latitude, longitude }) => {
            return human::village_by_location(base, *then, *latitude, *longitude, ctx);
        }
        (Mode::AskingVillage { then }, Input::Text(text)) => {
            if let Some(outcome) = human::risk(base.clone(), &normalize(text), ctx) {
                return outcome;
            }
            if let Some(outcome) = human::village_answer(conversation, base.clone(), *then, text, ctx) {
                return outcome;
            }
        }
        (Mode::Booking { draft }, Input::Text(text)) => {
            let norm = normalize(text);
            if let Some(outcome) = human::risk(base.clone(), &norm, ctx) {
                return outcome;
            }
            return booking::on_text(conversation, base, draft.clone(), text, ctx);
        }
        (Mode::Booking { draft }, Input::Location { latitude, longitude }) => {
            return booking::on_location(base, draft.clone(), *latitude, *longitude, ctx);
        }
        (Mode::AwaitingRating { handoff }, Input::Text(text)) => {
            if let Some(outcome) = human::rating(base.clone(), *handoff, text, ctx) {
                return outcome;
            }
        }
        _ => {}
    }
    let base = Conversation { mode: Mode::Bot, offered_human: false, ..base };
    match input {
        Input::Subscribe => welcome(base, kb),
        Input::Unsubscribe | Input::Silent => Outcome::new(base),
        Input::Unreadable | Input::Location { .. } => Outcome::new(base).say(kb.bot.unsupported.clone()),
        Input::Click(key) if key == BOOK_KEY => booking::start(base, "", ctx),
        Input::Click(key) => match kb.bot.menu.iter().position(|m| m.key.as_deref() == Some(key)) {
            Some(i) => menu_item(base, i, kb),
            None => menu(base, kb),
        },
        Input::Text(text) => on_text(conversation, base, text, ctx),
    }
}

fn on_text(previous: &Conversation, base: Conversation, text: &str, ctx: &Context) -> Outcome {
    let kb = ctx.kb;
    let norm = normalize(text);
    if norm.is_empty() {
        return menu(base, kb);
    }
    if let Some(outcome) = human::risk(base.clone(), &norm, ctx) {
        return outcome;
    }
    let intents = &kb.bot.intents;
    if matches_phrase(&norm, &intents.human) {
        return human::start(base, Reason::Asked, ctx);
    }
    if previous.offered_human && matches_phrase(&norm, &intents.yes) {
        return human::start(base, Reason::Unknown, ctx);
    }
    let repeated = previous.last_query.as_deref() == Some(norm.as_str()) && previous.last_entry.is_some();
    if matches_phrase(&norm, &intents.unhelpful) || repeated {
        return human::start(base, Reason::Unhelpful, ctx);
    }
    if matches_phrase(&norm, &intents.change_village) {
        return human::ask_village(base, None, ctx);
    }
    let compact: String = norm.chars().filter(|c| !c.is_whitespace()).collect();
    if matches_phrase(&norm, &intents.my_bookings) {
        return booking::mine(base, ctx);
    }
    if let Some(outcome) = booking::manage(previous, base.clone(), &compact, ctx) {
        return outcome;
    }
    let wants_booking = intents.booking.iter().any(|p| !p.is_empty() && compact.contains(p.as_str()));
    if compact.starts_with("预约") || wants_booking && !booking::looks_like_question(&compact) {
        return booking::start(base, text, ctx);
    }
    if let Ok(n) = norm.parse::<usize>() {
        // A digit answers the list just offered, or else picks from the main menu.
        let choice = if previous.choices.is_empty() {
            (1..=kb.bot.menu.len()).contains(&n).then_some(Choice::MenuItem(n - 1))
        } else {
            n.checked_sub(1).and_then(|i| previous.choices.get(i)).cloned()
        };
        return match choice {
            Some(Choice::Entry(id)) => answer(base, &id, &[], kb),
            Some(Choice::MenuItem(i)) => menu_item(base, i, kb),
            Some(Choice::Guide(id)) => guide(base, &id, kb),
            Some(
                Choice::Village(_) | Choice::Service(_) | Choice::Point(_) | Choice::Slot(_) | Choice::Appointment(_),
            ) => menu(base, kb),
            None if previous.choices.is_empty() => menu(base, kb),
            None => {
                let n = previous.choices.len();
                Outcome::new(Conversation { choices: previous.choices.clone(), ..base })
                    .say(format!("请回复 1 到 {n} 之间的数字。"))
            }
        };
    }
    if let Some(rest) = compact.strip_prefix("办事指南").or_else(|| compact.strip_prefix("指南")) {
        return match kb.guide_mentioned(rest) {
            Some(g) => guide(base, &g.id.clone(), kb),
            None => guide_list(base, kb),
        };
    }
    if let Some(g) = kb.guide_named(&compact) {
        return guide(base, &g.id.clone(), kb);
    }
    if matches_phrase(&norm, &intents.menu) {
        return menu(base, kb);
    }
    if matches_phrase(&norm, &intents.greeting) {
        return Outcome::new(base).say(format!(
            "{}\n{}\n{}",
            kb.bot.greeting,
            kb.bot.numbered_menu(),
            kb.bot.menu_outro
        ));
    }
    if matches_phrase(&norm, &intents.thanks) {
        return Outcome::new(base).say(kb.bot.thanks.clone());
    }
    let base = Conversation { last_query: Some(norm.clone()), ..base };
    let found = kb.search(text, 5);
    match found.decision {
        Decision::Answer => {
            let id = kb.entries[found.hits[0].entry].id.clone();
            // The runners-up the resident would have been offered follow as related questions.
            let related: Vec<String> = kb
                .index()
                .suggestions(&found)
                .map(|h| kb.entries[h.entry].id.clone())
                .filter(|other| *other != id)
                .collect();
            answer(base, &id, &related, kb)
        }
        Decision::Suggest => {
            let ids: Vec<String> = kb.index().suggestions(&found).map(|h| kb.entries[h.entry].id.clone()).collect();
            if ids.len() == 1 {
                return answer(base, &ids[0], &[], kb);
            }
            let list = ids
                .iter()
                .enumerate()
                .filter_map(|(i, id)| kb.entry(id).map(|e| format!("{}. {}", i + 1, e.question)))
                .collect::<Vec<_>>()
                .join("\n");
            let conversation = Conversation { choices: ids.iter().cloned().map(Choice::Entry).collect(), ..base };
            Outcome::new(conversation)
                .say(format!("{}\n{list}\n{}", kb.bot.suggest_intro, kb.bot.suggest_outro))
                .event(Event::Suggested { entries: ids })
        }
        Decision::Unknown => Outcome::new(Conversation { offered_human: true, ..base })
            .say(kb.bot.unknown.clone())
            .event(Event::NotKnown),
    }
}

/// True when the message is one of the phrases, or a phrase with a little around it
/// ("你好啊", "谢谢你"), but not a question that merely contains one.
/// `phrases` are normalised without spaces when `bot.toml` is loaded.
pub(super) fn matches_phrase(norm: &str, phrases: &[String]) -> bool {
    let compact: String = norm.chars().filter(|c| !c.is_whitespace()).collect();
    let len = compact.chars().count();
    phrases.iter().filter(|p| !p.is_empty()).any(|p| {
        compact == *p
            || (compact.starts_with(p.as_str()) || compact.ends_with(p.as_str())) && len <= p.chars().count() + 2
    })
}

/// An entry's answer, with its guide's hint, the `related` entries as a numbered list (a digit
/// then opens one), and the footer.
fn answer(base: Conversation, id: &str, related: &[String], kb: &Knowledge) -> Outcome {
    let Some(entry) = kb.entry(id) else {
        return Outcome::new(base).say(kb.bot.unknown.clone()).event(Event::NotKnown);
    };
    let mut text = entry.answer.clone();
    if let Some(g) = kb.guide_for_entry(&entry.id).filter(|_| !kb.bot.guide_hint.is_empty()) {
        text = format!("{text}\n\n{}", kb.bot.guide_hint.replace("{name}", &g.name));
    }
    let related: Vec<&Entry> =
        related.iter().filter_map(|id| kb.entry(id)).filter(|_| kb.bot.lists_related()).collect();
    if !related.is_empty() {
        let list: Vec<String> = related.iter().enumerate().map(|(i, e)| format!("{}. {}", i + 1, e.question)).collect();
        text = format!("{text}\n\n{}\n{}", kb.bot.related_intro, list.join("\n"));
    }
    if !kb.bot.answer_footer.is_empty() {
        text = format!("{text}\n\n{}", kb.bot.answer_footer);
    }
    let choices = related.iter().map(|e| Choice::Entry(e.id.clone())).collect();
    Outcome::new(Conversation { last_entry: Some(entry.id.clone()), choices, ..base })
        .say(text)
        .event(Event::Answered { entry: entry.id.clone() })
}

fn guide(base: Conversation, id: &str, kb: &Knowledge) -> Outcome {
    match kb.guides.iter().find(|g| g.id == id) {
        Some(g) => Outcome::new(base).say(g.text()).event(Event::Guide { guide: g.id.clone() }),
        None => guide_list(base, kb),
    }
}

fn guide_list(base: Conversation, kb: &Knowledge) -> Outcome {
    let list: Vec<String> = kb.guides.iter().enumerate().map(|(i, g)| format!("{}. {}", i + 1, g.title)).collect();
    let choices = kb.guides.iter().map(|g| Choice::Guide(g.id.clone())).collect();
    Outcome::new(Conversation { choices, ..base }).say(format!("{}\n{}", kb.bot.guides_intro, list.join("\n")))
}

fn menu_choices(kb: &Knowledge) -> Vec<Choice> {
    (0..kb.bot.menu.len()).map(Choice::MenuItem).collect()
}

fn menu(base: Conversation, kb: &Knowledge) -> Outcome {
    Outcome::new(Conversation { choices: menu_choices(kb), ..base }).say(format!(
        "{}\n{}\n{}",
        kb.bot.menu_intro,
        kb.bot.numbered_menu(),
        kb.bot.menu_outro
    ))
}

fn welcome(base: Conversation, kb: &Knowledge) -> Outcome {
    Outcome::new(Conversation { choices: menu_choices(kb), ..base })
        .say(format!("{}\n{}\n{}", kb.bot.welcome, kb.bot.numbered_menu(), kb.bot.menu_outro))
        .event(Event::Welcomed)
}

fn menu_item(base: Conversation, i: usize, kb: &Knowledge) -> Outcome {
    match kb.bot.menu.get(i) {
        Some(MenuItem { entry: Some(id), .. }) => answer(base, id, &[], kb),
        Some(MenuItem { reply: Some(text), .. }) => Outcome::new(base).say(text.clone()),
        _ => menu(base, kb),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use super::*;
    use crate::clock;

    /// The product's own knowledge base, loaded once for all tests.
    fn kb() -> &'static Knowledge {
        static KB: OnceLock<(Knowledge, tempfile::TempDir)> = OnceLock::new();
        let (kb, _) = KB.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let faq = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("faq");
            (Knowledge::load(&faq, dir.path()).unwrap(), dir)
        });
        kb
    }

    /// A Friday morning in office hours, two residents waiting, village unknown.
    fn ctx() -> Context<'static> {
        at("2026-11-27 10:00", None)
    }

    fn at(time: &str, village: Option<&'static str>) -> Context<'static> {
        let now = NaiveDateTime::parse_from_str(time, "%Y-%m-%d %H:%M").unwrap();
        let taken: &'static HashMap<(String, String, i64), i64> = Box::leak(Box::default());
        Context { kb: kb(), now, waiting: 2, village, taken, upcoming: &[] }
    }

    fn say(conversation: &Conversation, text: &str) -> Outcome {
        handle(conversation, &Input::Text(text.into()), &ctx())
    }

    fn only_text(o: &Outcome) -> &str {
        assert_eq!(o.replies.len(), 1, "{o:?}");
        match &o.replies[0] {
            Reply::Text { content } => content,
            other => panic!("not text: {other:?}"),
        }
    }

    #[test]
    fn subscribe_welcomes_with_the_numbered_menu_and_a_digit_picks() {
        let o = handle(&Conversation::default(), &Input::Subscribe, &ctx());
        let text = only_text(&o);
        assert!(text.starts_with(&kb().bot.welcome));
        assert!(text.contains(&format!("1. {}", kb().bot.menu[0].label)));
        assert_eq!(o.events, vec![Event::Welcomed]);
        let picked = say(&o.conversation, "2");
        let id = kb().bot.menu[1].entry.clone().unwrap();
        assert_eq!(picked.events, vec![Event::Answered { entry: id.clone() }]);
        assert_eq!(picked.conversation.last_entry, Some(id));
        assert!(picked.conversation.choices.is_empty());
    }

    #[test]
    fn a_clear_question_is_answered_with_related_questions_that_a_digit_opens() {
        let o = say(&Conversation::default(), "我想申请法律援助，要带什么材料");
        let entry = kb().entry("legal-aid.materials").unwrap();
        assert_eq!(o.events, vec![Event::Answered { entry: entry.id.clone() }]);
        let related: Vec<&Entry> = o
            .conversation
            .choices
            .iter()
            .map(|c| match c {
                Choice::Entry(id) => kb().entry(id).unwrap(),
                other => panic!("not an entry: {other:?}"),
            })
            .collect();
        assert!(!related.is_empty() && related.len() <= 2, "{related:?}");
        assert!(related.iter().all(|e| e.id != entry.id));
        let list: Vec<String> = related.iter().enumerate().map(|(i, e)| format!("{}. {}", i + 1, e.question)).collect();
        let hint = kb().bot.guide_hint.replace("{name}", "法律援助");
        assert_eq!(
            only_text(&o),
            format!(
                "{}\n\n{hint}\n\n{}\n{}\n\n{}",
                entry.answer,
                kb().bot.related_intro,
                list.join("\n"),
                kb().bot.answer_footer
            )
        );
        let opened = say(&o.conversation, "1");
        assert_eq!(opened.events, vec![Event::Answered { entry: related[0].id.clone() }]);
    }

    #[test]
    fn an_unclear_question_offers_numbered_choices_that_a_digit_answers() {
        let o = say(&Conversation::default(), "法援");
        let Event::Suggested { entries } = &o.events[0] else { panic!("{o:?}") };
        assert!(entries.len() >= 2 && entries.iter().all(|e| e.starts_with("legal-aid.")), "{entries:?}");
        assert!(only_text(&o).contains("1. ") && only_text(&o).contains("2. "));
        let second = say(&o.conversation, "2");
        assert_eq!(second.events, vec![Event::Answered { entry: entries[1].clone() }]);
        // A number outside the list re-asks and keeps the list.
        let wrong = say(&o.conversation, "9");
        assert!(only_text(&wrong).contains("1 到"));
        assert_eq!(wrong.conversation.choices, o.conversation.choices);
    }

    #[test]
    fn out_of_scope_gets_the_honest_unknown() {
        for q in ["今天天气怎么样", "给我讲个笑话", "asdfgh"] {
            let o = say(&Conversation::default(), q);
            assert_eq!(only_text(&o), kb().bot.unknown, "{q}");
            assert_eq!(o.events, vec![Event::NotKnown]);
            assert!(only_text(&o).contains("12348"));
        }
    }

    #[test]
    fn greetings_thanks_and_menu_words() {
        let c = Conversation::default();
        assert!(only_text(&say(&c, "你好")).starts_with(&kb().bot.greeting));
        assert!(only_text(&say(&c, "您好！！")).starts_with(&kb().bot.greeting));
        assert_eq!(only_text(&say(&c, "谢谢")), kb().bot.thanks);
        let menu = say(&c, "菜单");
        assert!(only_text(&menu).starts_with(&kb().bot.menu_intro));
        assert_eq!(menu.conversation.choices.len(), kb().bot.menu.len());
        // A question that merely starts with a greeting is still a question.
        let q = say(&c, "你好，离婚后孩子抚养费怎么算");
        assert!(!only_text(&q).starts_with(&kb().bot.greeting));
    }

    #[test]
    fn clicks_unreadable_media_silence_and_unsubscribe() {
        let c = Conversation::default();
        let click = handle(&c, &Input::Click("NOTARY".into()), &ctx());
        assert_eq!(click.events, vec![Event::Answered { entry: "notary.appointment".into() }]);
        let unknown_click = handle(&c, &Input::Click("NOPE".into()), &ctx());
        assert!(only_text(&unknown_click).starts_with(&kb().bot.menu_intro));
        assert_eq!(only_text(&handle(&c, &Input::Unreadable, &ctx())), kb().bot.unsupported);
        let busy =
            Conversation { choices: vec![Choice::MenuItem(0)], last_entry: Some("x".into()), ..Default::default() };
        let silent = handle(&busy, &Input::Silent, &ctx());
        assert!(silent.replies.is_empty());
        assert_eq!(silent.conversation, busy);
        let gone = handle(&busy, &Input::Unsubscribe, &ctx());
        assert!(gone.replies.is_empty());
        assert_eq!(gone.conversation, Conversation::default());
    }

    #[test]
    fn guides_by_name_by_list_and_from_an_answer() {
        let c = Conversation::default();
        let g = say(&c, "指南 法律援助");
        assert_eq!(g.events, vec![Event::Guide { guide: "legal-aid".into() }]);
        let text = only_text(&g);
        assert!(text.starts_with("法律援助申请办事指南") && text.contains("【申请材料】"), "{text}");
        assert_eq!(say(&c, "法援指南").events, g.events, "an alias names the guide");
        let list = say(&c, "指南");
        assert_eq!(list.conversation.choices.len(), kb().guides.len());
        let second = say(&list.conversation, "2");
        assert_eq!(second.events, vec![Event::Guide { guide: kb().guides[1].id.clone() }]);
        let answer = say(&c, "我想申请法律援助，要带什么材料");
        assert!(only_text(&answer).contains("回复“指南 法律援助”"), "{}", only_text(&answer));
    }

    #[test]
    fn typed_pinyin_and_voice_typos_find_the_entry() {
        let c = Conversation::default();
        for (q, id) in [
            ("gongsi bu fa gongzi zenme ban", "labour.wage-arrears"),
            ("我想申请法律援组要带啥材料", "legal-aid.materials"),
        ] {
            let o = say(&c, q);
            let ok = o.events.iter().any(|e| match e {
                Event::Answered { entry } => entry == id,
                Event::Suggested { entries } => entries.iter().any(|e| e == id),
                _ => false,
            });
            assert!(ok, "{q}: {:?}", o.events);
        }
    }

    #[test]
    fn asking_for_a_person_finds_the_village_then_queues() {
        let c = Conversation::default();
        let asked = say(&c, "转人工");
        assert_eq!(only_text(&asked), kb().bot.human.ask_village);
        assert!(asked.actions.is_empty());
        let village = &kb().directory.villages[4];
        let named = say(&asked.conversation, &format!("俺是{}的", village.name));
        assert_eq!(
            named.actions,
            vec![
                Action::SetVillage(village.id.clone()),
                Action::Handoff { reason: Reason::Asked, urgent: false, town: None }
            ]
        );
        assert_eq!(named.conversation.mode, Mode::Human);
        let text = only_text(&named);
        assert!(text.contains(&village.name) && text.contains("前面还有 2 位"), "{text}");
        // With the adviser: the bot is silent, and "结束" hands back.
        let silent = say(&named.conversation, "我家的地被人占了");
        assert!(silent.replies.is_empty() && silent.actions.is_empty());
        assert_eq!(silent.conversation.mode, Mode::Human);
        let ended = say(&named.conversation, "结束");
        assert_eq!(ended.actions, vec![Action::EndHandoff]);
        assert_eq!(ended.conversation.mode, Mode::Bot);
    }

    #[test]
    fn a_known_village_goes_straight_to_the_queue_and_after_hours_says_so() {
        let c = Conversation::default();
        let evening = at("2026-11-27 20:00", Some("xinhu-v1"));
        let o = handle(&c, &Input::Text("我要咨询律师".into()), &evening);
        assert_eq!(o.actions, vec![Action::Handoff { reason: Reason::Asked, urgent: false, town: None }]);
        let text = only_text(&o);
        assert!(text.contains("下班时间") && text.contains("12348"), "{text}");
        let hours = kb().directory.service_hours.as_ref().unwrap().description.clone();
        assert!(text.contains(&hours));
    }

    #[test]
    fn skipping_the_village_or_sending_a_location_still_routes() {
        let asked = say(&Conversation::default(), "人工");
        let skipped = say(&asked.conversation, "跳过");
        assert_eq!(skipped.actions, vec![Action::Handoff { reason: Reason::Asked, urgent: false, town: None }]);
        let town = &kb().directory.towns[3];
        let located = handle(
            &asked.conversation,
            &Input::Location { latitude: town.lat.unwrap(), longitude: town.lon.unwrap() },
            &ctx(),
        );
        assert_eq!(
            located.actions,
            vec![Action::Handoff { reason: Reason::Asked, urgent: false, town: Some(town.id.clone()) }]
        );
        let unknown = say(&asked.conversation, "火星村");
        assert_eq!(only_text(&unknown), kb().bot.human.village_not_found);
        let danger = say(&asked.conversation, "有人威胁我");
        assert_eq!(danger.actions, vec![Action::Handoff { reason: Reason::Risk, urgent: true, town: None }]);
        let cancelled = say(&asked.conversation, "算了");
        assert_eq!(cancelled.conversation.mode, Mode::Bot);
    }

    #[test]
    fn an_unknown_answer_offers_a_person_and_yes_accepts() {
        let o = say(&Conversation::default(), "今天天气怎么样");
        assert!(o.conversation.offered_human);
        let yes = say(&o.conversation, "好的");
        assert_eq!(only_text(&yes), kb().bot.human.ask_village);
        assert_eq!(yes.conversation.mode, Mode::AskingVillage { then: Some(Reason::Unknown) });
        // Without the offer, "好的" is only thanks.
        assert_eq!(only_text(&say(&Conversation::default(), "好的")), kb().bot.thanks);
    }

    #[test]
    fn an_unhelpful_answer_or_the_same_question_again_goes_to_a_person() {
        let first = say(&Conversation::default(), "离婚冷静期是多久");
        assert!(matches!(first.events[0], Event::Answered { .. }), "{:?}", first.events);
        let again = say(&first.conversation, "离婚冷静期是多久");
        assert_eq!(again.conversation.mode, Mode::AskingVillage { then: Some(Reason::Unhelpful) });
        let useless = say(&first.conversation, "没用");
        assert_eq!(useless.conversation.mode, Mode::AskingVillage { then: Some(Reason::Unhelpful) });
    }

    #[test]
    fn risk_words_reply_at_once_and_open_an_urgent_handoff_in_any_mode() {
        for c in [Conversation::default(), Conversation { mode: Mode::Human, ..Default::default() }] {
            let o = say(&c, "我不想活了");
            assert!(only_text(&o).contains("110") && only_text(&o).contains("120"));
            assert_eq!(o.actions, vec![Action::Handoff { reason: Reason::Risk, urgent: true, town: None }]);
            assert!(matches!(&o.events[0], Event::Risk { kind, .. } if kind == "danger"));
        }
        let group = say(&Conversation::default(), "明天我们几十个人要去集体上访");
        assert!(matches!(&group.events[0], Event::Risk { kind, .. } if kind == "group"));
    }

    #[test]
    fn a_rating_is_taken_once_after_closing() {
        let closed = Conversation { mode: Mode::AwaitingRating { handoff: 7 }, ..Default::default() };
        let rated = say(&closed, "满意");
        assert_eq!(rated.actions, vec![Action::Rate { handoff: 7, score: 5 }]);
        assert_eq!(rated.conversation.mode, Mode::Bot);
        assert_eq!(say(&closed, "4").actions, vec![Action::Rate { handoff: 7, score: 4 }]);
        let question = say(&closed, "离婚冷静期是多久");
        assert!(question.actions.is_empty());
        assert_eq!(question.conversation.mode, Mode::Bot);
    }

    fn booking_draft(o: &Outcome) -> booking::Draft {
        match &o.conversation.mode {
            Mode::Booking { draft } => draft.clone(),
            other => panic!("not booking: {other:?}"),
        }
    }

    #[test]
    fn a_booking_one_question_at_a_time_with_re_asks_and_changes() {
        let start = say(&Conversation::default(), "我想预约办公证");
        let text = only_text(&start);
        assert!(text.contains("可以预约的时间"), "{text}");
        assert_eq!(booking_draft(&start).service.as_deref(), Some("notary"));
        assert_eq!(booking_draft(&start).point.as_deref(), Some("hall"), "the only point is filled in");
        // Friday 10:00 with two hours' notice: the first slot is this afternoon.
        assert!(text.contains("1. 11月27日（周五）13:30"), "{text}");
        let Choice::Slot(first) = start.conversation.choices[0] else { panic!() };

        let slot = say(&start.conversation, "1");
        assert_eq!(booking_draft(&slot).slot, Some(first));
        assert_eq!(only_text(&slot), kb().bot.booking.ask_name);
        let name = say(&slot.conversation, "张三");
        assert_eq!(only_text(&name), kb().bot.booking.ask_phone);
        let bad = say(&name.conversation, "123");
        assert!(only_text(&bad).starts_with(&kb().bot.booking.bad_phone));
        assert_eq!(booking_draft(&bad).phone, None);
        let phone = say(&bad.conversation, "138 1234 5678");
        assert_eq!(booking_draft(&phone).phone.as_deref(), Some("13812345678"));
        let matter = say(&phone.conversation, "父亲房产的继承公证");
        let confirm = only_text(&matter);
        assert!(
            confirm.contains("张三") && confirm.contains("13812345678") && confirm.contains("公证办理"),
            "{confirm}"
        );

        // Change of mind: another time, then confirm.
        let change = say(&matter.conversation, "修改时间");
        assert_eq!(booking_draft(&change).slot, None);
        let monday = say(&change.conversation, "下周一上午");
        assert!(only_text(&monday).contains("11月30日（周一）08:30"), "{}", only_text(&monday));
        let picked = say(&monday.conversation, "2");
        let done = say(&picked.conversation, "确认");
        assert!(done.replies.is_empty(), "the shell confirms once the seat is taken");
        let Action::Book { slot, name, phone, reschedule, .. } = &done.actions[0] else { panic!("{:?}", done.actions) };
        assert_eq!(clock::local(*slot).to_string(), "2026-11-30 09:00:00");
        assert_eq!((name.as_str(), phone.as_str(), *reschedule), ("张三", "13812345678", None));
    }

    #[test]
    fn booking_can_go_back_be_cancelled_and_survives_a_question() {
        let start = say(&Conversation::default(), "预约");
        assert!(only_text(&start).starts_with(&kb().bot.booking.choose_service));
        let aid = say(&start.conversation, "2");
        assert_eq!(booking_draft(&aid).service.as_deref(), Some("legal-aid"));
        assert!(only_text(&aid).starts_with(&kb().bot.booking.choose_point));
        let back = say(&aid.conversation, "上一步");
        assert_eq!(booking_draft(&back).service, None);
        let question = say(&aid.conversation, "申请法律援助要带什么材料？");
        assert_eq!(question.replies.len(), 2, "the answer, then the booking's question again");
        assert!(question.replies[1].summary().contains(&kb().bot.booking.resume));
        assert_eq!(booking_draft(&question), booking_draft(&aid), "the booking is kept");
        let quit = say(&aid.conversation, "不约了");
        assert_eq!(only_text(&quit), kb().bot.booking.abandoned);
        assert_eq!(quit.conversation.mode, Mode::Bot);
    }

    #[test]
    fn a_location_picks_the_nearest_point() {
        let start = say(&Conversation::default(), "预约法律援助");
        assert!(only_text(&start).starts_with(&kb().bot.booking.choose_point));
        let yihe = kb().directory.town("yihe").unwrap();
        let located = handle(
            &start.conversation,
            &Input::Location { latitude: yihe.lat.unwrap(), longitude: yihe.lon.unwrap() },
            &ctx(),
        );
        assert_eq!(booking_draft(&located).point.as_deref(), Some("yihe-station"));
    }

    #[test]
    fn holidays_are_not_offered_and_my_bookings_are_listed() {
        // 2026-10-01 is a holiday in the directory.
        let c = at("2026-09-30 16:00", None);
        let o = handle(&Conversation::default(), &Input::Text("预约公证".into()), &c);
        assert!(!only_text(&o).contains("10月1日"), "{}", only_text(&o));
        let mine = say(&Conversation::default(), "我的预约");
        assert_eq!(only_text(&mine), kb().bot.booking.mine_none);
    }

    #[test]
    fn voice_text_and_inputs_from_bodies() {
        let voice = Body::Voice { recognition: Some("离婚".into()), msg_id: 1 };
        assert_eq!(Input::from_body(&voice), Input::Text("离婚".into()));
        assert_eq!(Input::from_body(&Body::Voice { recognition: None, msg_id: 1 }), Input::Unreadable);
        assert_eq!(Input::from_body(&Body::Scan { scene: "1".into() }), Input::Subscribe);
        assert_eq!(Input::from_body(&Body::View { url: "u".into() }), Input::Silent);
    }
}
