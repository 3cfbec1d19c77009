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
    /// After an answer, a short line inviting the next question.
    #[serde(default)]
    pub answer_footer: String,
    #[serde(default)]
    pub intents: Intents,
    pub menu: Vec<MenuItem>,
}

impl BotTexts {
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
        render("guide_hint", &mut bot.guide_hint);
        render("guides_intro", &mut bot.guides_intro);
        for item in &mut bot.menu {
            if let Some(reply) = item.reply.as_mut() {
                render("menu reply", reply);
            }
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
