//! The bot's own words (`faq/bot.toml`): welcome, menu, "I don't know", and the phrases that
//! mean hello, thanks or "show me the menu". Admins edit them; the dialogue engine uses them.

use serde::Deserialize;

use super::Problem;
use super::directory::Directory;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MenuItem {
    pub label: String,
    /// The CLICK key of the custom-menu button that leads here, if any.
    #[serde(default)]
    pub key: Option<String>,
    /// The entry answered when this item is chosen…
    #[serde(default)]
    pub entry: Option<String>,
    /// …or this text.
    #[serde(default)]
    pub reply: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Intents {
    #[serde(default)]
    pub greeting: Vec<String>,
    #[serde(default)]
    pub thanks: Vec<String>,
    #[serde(default)]
    pub menu: Vec<String>,
    /// Asking for a person: 人工, 转人工, 找律师…
    #[serde(default)]
    pub human: Vec<String>,
    /// Accepting the offer of a person after "I don't know".
    #[serde(default)]
    pub yes: Vec<String>,
    /// "That did not help": 没用, 答非所问…
    #[serde(default)]
    pub unhelpful: Vec<String>,
    /// Ending the conversation with the adviser: 结束, 返回机器人…
    #[serde(default)]
    pub end_human: Vec<String>,
    /// Not naming a village: 跳过, 不知道…
    #[serde(default)]
    pub skip: Vec<String>,
    /// Giving up what was started: 取消, 算了…
    #[serde(default)]
    pub cancel: Vec<String>,
    /// Changing the remembered village.
    #[serde(default)]
    pub change_village: Vec<String>,
    /// Starting a booking.
    #[serde(default)]
    pub booking: Vec<String>,
    /// Listing one's bookings.
    #[serde(default)]
    pub my_bookings: Vec<String>,
    #[serde(default)]
    pub confirm: Vec<String>,
    /// One step back in a booking.
    #[serde(default)]
    pub back: Vec<String>,
    /// Joining the waitlist when everything is full.
    #[serde(default)]
    pub waitlist: Vec<String>,
}

/// What the bot says while booking. `{…}` fields are filled in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookingTexts {
    pub choose_service: String,
    pub choose_point: String,
    pub choose_slot: String,
    pub no_slot_on_day: String,
    pub slot_taken: String,
    pub full: String,
    pub ask_name: String,
    pub bad_name: String,
    pub ask_phone: String,
    pub bad_phone: String,
    pub ask_matter: String,
    pub bad_matter: String,
    pub confirm: String,
    pub booked: String,
    pub materials_default: String,
    pub abandoned: String,
    pub too_many: String,
    pub mine_none: String,
    pub mine_list: String,
    pub cancelled: String,
    pub rescheduled: String,
    pub waitlisted: String,
    pub seat_freed: String,
    pub reminder: String,
    pub staff_cancelled: String,
    pub resume: String,
}

/// What the bot says around a human adviser. `{ahead}`, `{hours}` and `{village}` are filled in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HumanTexts {
    pub ask_village: String,
    pub village_which: String,
    pub village_not_found: String,
    pub village_set: String,
    pub queued: String,
    pub after_hours: String,
    pub ended: String,
    pub cancelled: String,
    /// Sent when an adviser hands the conversation back to the bot.
    pub returned: String,
    /// Sent when an adviser closes the conversation: asks for the rating.
    pub closed: String,
    pub rating_thanks: String,
}

/// Words that signal danger or group conflict, and the immediate replies.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskWords {
    pub danger: Vec<String>,
    pub group: Vec<String>,
    pub danger_reply: String,
    pub group_reply: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BotTexts {
    /// Sent on follow, before the numbered menu.
    pub welcome: String,
    /// Heads the numbered menu when a resident asks for it.
    pub menu_intro: String,
    /// Follows the numbered menu.
    pub menu_outro: String,
    pub greeting: String,
    pub thanks: String,
    /// When nothing in the knowledge base answers the question.
    pub unknown: String,
    /// Heads the numbered list of candidate entries.
    pub suggest_intro: String,
    pub suggest_outro: String,
    /// For images, video, links, and voice without recognised text.
    pub unsupported: String,
    /// Under an answer that has a service guide; `{name}` is the guide's name.
    #[serde(default)]
    pub guide_hint: String,
    /// Heads the numbered list of guides ("指南" alone).
    #[serde(default)]
    pub guides_intro: String,
    /// When something failed after WeChat's deadline: sent through the customer-service API.
    #[serde(default)]
    pub busy: String,
    /// Heads the numbered list of related questions under an answer; empty: no list.
    #[serde(default)]
    pub related_intro: String,
    /// After an answer, a short line inviting the next question.
    #[serde(default)]
    pub answer_footer: String,
    #[serde(default)]
    pub intents: Intents,
    pub menu: Vec<MenuItem>,
    pub human: HumanTexts,
    pub risk: RiskWords,
    pub booking: BookingTexts,
}

impl BotTexts {
    /// Whether an answer lists the related questions under it.
    pub fn lists_related(&self) -> bool {
        !self.related_intro.is_empty()
    }

    /// Parses `bot.toml` and fills directory placeholders in every text.
    pub fn parse(file: &str, source: &str, directory: &Directory) -> Result<BotTexts, Vec<Problem>> {
        let mut bot: BotTexts = toml::from_str(source).map_err(|e| vec![Problem::from_toml(file, source, 1, &e)])?;
        let mut problems = Vec::new();
        let mut render = |name: &str, text: &mut String| match directory.render(text) {
            Ok(t) => *text = t,
            Err(keys) => {
                for key in keys {
                    let line = super::directory::line_of(source, &format!("{{{{{key}"));
                    problems.push(Problem::new(
                        file,
                        line,
                        format!("{name}: unknown directory reference {{{{{key}}}}}"),
                    ));
                }
            }
        };
        render("welcome", &mut bot.welcome);
        render("menu_intro", &mut bot.menu_intro);
        render("menu_outro", &mut bot.menu_outro);
        render("greeting", &mut bot.greeting);
        render("thanks", &mut bot.thanks);
        render("unknown", &mut bot.unknown);
        render("suggest_intro", &mut bot.suggest_intro);
        render("suggest_outro", &mut bot.suggest_outro);
        render("unsupported", &mut bot.unsupported);
        render("answer_footer", &mut bot.answer_footer);
        render("related_intro", &mut bot.related_intro);
        render("busy", &mut bot.busy);
        render("guide_hint", &mut bot.guide_hint);
        render("guides_intro", &mut bot.guides_intro);
        let h = &mut bot.human;
        for (name, text) in [
            ("human.ask_village", &mut h.ask_village),
            ("human.village_which", &mut h.village_which),
            ("human.village_not_found", &mut h.village_not_found),
            ("human.village_set", &mut h.village_set),
            ("human.queued", &mut h.queued),
            ("human.after_hours", &mut h.after_hours),
            ("human.ended", &mut h.ended),
            ("human.cancelled", &mut h.cancelled),
            ("human.returned", &mut h.returned),
            ("human.closed", &mut h.closed),
            ("human.rating_thanks", &mut h.rating_thanks),
            ("risk.danger_reply", &mut bot.risk.danger_reply),
            ("risk.group_reply", &mut bot.risk.group_reply),
        ] {
            render(name, text);
        }
        for item in &mut bot.menu {
            if let Some(reply) = item.reply.as_mut() {
                render("menu reply", reply);
            }
        }
        // Phrases and risk words are compared normalised and without spaces; do it once here.
        let compact = |list: &mut Vec<String>| {
            for w in list.iter_mut() {
                *w = crate::text::normalize(w).replace(' ', "");
            }
        };
        let i = &mut bot.intents;
        for list in [
            &mut i.greeting,
            &mut i.thanks,
            &mut i.menu,
            &mut i.human,
            &mut i.yes,
            &mut i.unhelpful,
            &mut i.end_human,
            &mut i.skip,
            &mut i.cancel,
            &mut i.change_village,
            &mut i.booking,
            &mut i.my_bookings,
            &mut i.confirm,
            &mut i.back,
            &mut i.waitlist,
            &mut bot.risk.danger,
            &mut bot.risk.group,
        ] {
            compact(list);
        }
        for item in &bot.menu {
            if item.entry.is_some() == item.reply.is_some() {
                let line = super::directory::line_of(source, &format!("\"{}\"", item.label));
                problems.push(Problem::new(
                    file,
                    line,
                    format!("menu item {:?} needs exactly one of `entry` and `reply`", item.label),
                ));
            }
        }
        if bot.menu.is_empty() || bot.menu.len() > 9 {
            problems.push(Problem::new(file, 1, "the menu needs 1 to 9 items (residents answer with one digit)"));
        }
        if problems.is_empty() { Ok(bot) } else { Err(problems) }
    }

    /// The numbered menu: "1. 法律援助" …
    pub fn numbered_menu(&self) -> String {
        self.menu
            .iter()
            .enumerate()
            .map(|(i, item)| format!("{}. {}", i + 1, item.label))
            .collect::<Vec<_>>()
            .join("\n")
    }
}
