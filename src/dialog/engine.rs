use serde::{Deserialize, Serialize};

use crate::knowledge::{Decision, Knowledge, MenuItem};
use crate::text::normalize;
use crate::wechat::{Body, Reply};

/// What the resident did, as far as the dialogue cares.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Text(String),
    Subscribe,
    Unsubscribe,
    Click(String),
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
}

/// What happened, for the message log and later reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Answered { entry: String },
    Guide { guide: String },
    Suggested { entries: Vec<String> },
    NotKnown,
    Welcomed,
    Unsubscribed,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub conversation: Conversation,
    pub replies: Vec<Reply>,
    pub events: Vec<Event>,
}

impl Outcome {
    fn new(conversation: Conversation) -> Self {
        Outcome { conversation, replies: vec![], events: vec![] }
    }

    fn say(mut self, text: impl Into<String>) -> Self {
        self.replies.push(Reply::text(text));
        self
    }

    fn event(mut self, event: Event) -> Self {
        self.events.push(event);
        self
    }
}

/// Handles one input. Pure: the same arguments always give the same outcome.
pub fn handle(conversation: &Conversation, input: &Input, kb: &Knowledge) -> Outcome {
    let base = Conversation { choices: vec![], ..conversation.clone() };
    match input {
        Input::Subscribe => welcome(base, kb),
        Input::Unsubscribe => Outcome::new(Conversation::default()).event(Event::Unsubscribed),
        Input::Silent => Outcome::new(conversation.clone()),
        Input::Unreadable => Outcome::new(base).say(kb.bot.unsupported.clone()),
        Input::Click(key) => match kb.bot.menu.iter().position(|m| m.key.as_deref() == Some(key)) {
            Some(i) => menu_item(base, i, kb),
            None => menu(base, kb),
        },
        Input::Text(text) => on_text(conversation, base, text, kb),
    }
}

fn on_text(previous: &Conversation, base: Conversation, text: &str, kb: &Knowledge) -> Outcome {
    let norm = normalize(text);
    if norm.is_empty() {
        return menu(base, kb);
    }
    if let Ok(n) = norm.parse::<usize>() {
        // A digit answers the list just offered, or else picks from the main menu.
        let choice = if previous.choices.is_empty() {
            (1..=kb.bot.menu.len()).contains(&n).then_some(Choice::MenuItem(n - 1))
        } else {
            n.checked_sub(1).and_then(|i| previous.choices.get(i)).cloned()
        };
        return match choice {
            Some(Choice::Entry(id)) => answer(base, &id, kb),
            Some(Choice::MenuItem(i)) => menu_item(base, i, kb),
            Some(Choice::Guide(id)) => guide(base, &id, kb),
            None if previous.choices.is_empty() => menu(base, kb),
            None => {
                let n = previous.choices.len();
                Outcome::new(Conversation { choices: previous.choices.clone(), ..base })
                    .say(format!("请回复 1 到 {n} 之间的数字。"))
            }
        };
    }
    let compact: String = norm.chars().filter(|c| !c.is_whitespace()).collect();
    if let Some(rest) = compact.strip_prefix("办事指南").or_else(|| compact.strip_prefix("指南")) {
        return match kb.guide_mentioned(rest) {
            Some(g) => guide(base, &g.id.clone(), kb),
            None => guide_list(base, kb),
        };
    }
    if let Some(g) = kb.guide_named(&compact) {
        return guide(base, &g.id.clone(), kb);
    }
    let intents = &kb.bot.intents;
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
    let found = kb.search(text, 5);
    match found.decision {
        Decision::Answer => {
            let id = kb.entries[found.hits[0].entry].id.clone();
            answer(base, &id, kb)
        }
        Decision::Suggest => {
            let ids: Vec<String> = kb.index().suggestions(&found).map(|h| kb.entries[h.entry].id.clone()).collect();
            if ids.len() == 1 {
                return answer(base, &ids[0], kb);
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
        Decision::Unknown => Outcome::new(base).say(kb.bot.unknown.clone()).event(Event::NotKnown),
    }
}

/// True when the message is one of the phrases, or a phrase with a little around it
/// ("你好啊", "谢谢你"), but not a question that merely contains one.
fn matches_phrase(norm: &str, phrases: &[String]) -> bool {
    let compact: String = norm.chars().filter(|c| !c.is_whitespace()).collect();
    phrases.iter().map(|p| normalize(p).replace(' ', "")).filter(|p| !p.is_empty()).any(|p| {
        compact == p
            || (compact.starts_with(&p) || compact.ends_with(&p)) && compact.chars().count() <= p.chars().count() + 2
    })
}

fn answer(base: Conversation, id: &str, kb: &Knowledge) -> Outcome {
    let Some(entry) = kb.entry(id) else {
        return Outcome::new(base).say(kb.bot.unknown.clone()).event(Event::NotKnown);
    };
    let mut text = entry.answer.clone();
    if let Some(g) = kb.guide_for_entry(&entry.id).filter(|_| !kb.bot.guide_hint.is_empty()) {
        text = format!("{text}\n\n{}", kb.bot.guide_hint.replace("{name}", &g.name));
    }
    if !kb.bot.answer_footer.is_empty() {
        text = format!("{text}\n\n{}", kb.bot.answer_footer);
    }
    Outcome::new(Conversation { last_entry: Some(entry.id.clone()), ..base })
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
        Some(MenuItem { entry: Some(id), .. }) => answer(base, id, kb),
        Some(MenuItem { reply: Some(text), .. }) => Outcome::new(base).say(text.clone()),
        _ => menu(base, kb),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use super::*;

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

    fn say(conversation: &Conversation, text: &str) -> Outcome {
        handle(conversation, &Input::Text(text.into()), kb())
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
        let o = handle(&Conversation::default(), &Input::Subscribe, kb());
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
    fn a_clear_question_is_answered_with_the_entry_and_footer() {
        let o = say(&Conversation::default(), "我想申请法律援助，要带什么材料");
        let entry = kb().entry("legal-aid.materials").unwrap();
        let hint = kb().bot.guide_hint.replace("{name}", "法律援助");
        assert_eq!(only_text(&o), format!("{}\n\n{hint}\n\n{}", entry.answer, kb().bot.answer_footer));
        assert_eq!(o.events, vec![Event::Answered { entry: entry.id.clone() }]);
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
        let click = handle(&c, &Input::Click("NOTARY".into()), kb());
        assert_eq!(click.events, vec![Event::Answered { entry: "notary.appointment".into() }]);
        let unknown_click = handle(&c, &Input::Click("NOPE".into()), kb());
        assert!(only_text(&unknown_click).starts_with(&kb().bot.menu_intro));
        assert_eq!(only_text(&handle(&c, &Input::Unreadable, kb())), kb().bot.unsupported);
        let busy = Conversation { choices: vec![Choice::MenuItem(0)], last_entry: Some("x".into()) };
        let silent = handle(&busy, &Input::Silent, kb());
        assert!(silent.replies.is_empty());
        assert_eq!(silent.conversation, busy);
        let gone = handle(&busy, &Input::Unsubscribe, kb());
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
    fn voice_text_and_inputs_from_bodies() {
        let voice = Body::Voice { recognition: Some("离婚".into()), msg_id: 1 };
        assert_eq!(Input::from_body(&voice), Input::Text("离婚".into()));
        assert_eq!(Input::from_body(&Body::Voice { recognition: None, msg_id: 1 }), Input::Unreadable);
        assert_eq!(Input::from_body(&Body::Scan { scene: "1".into() }), Input::Subscribe);
        assert_eq!(Input::from_body(&Body::View { url: "u".into() }), Input::Silent);
    }
}
