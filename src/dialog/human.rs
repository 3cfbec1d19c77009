//! The human side of the dialogue: asking for a person, finding the resident's village,
//! silence while an adviser has the conversation, the rating afterwards, and risk words.

use super::engine::{Action, Choice, Context, Conversation, Event, Mode, Outcome, Reason, matches_phrase};
use crate::text::normalize;
use crate::wechat::Reply;

/// Words of danger or group conflict: an immediate answer with 110/120 and 12348, and an
/// urgent handoff that jumps the queue. Checked in every mode.
pub(super) fn risk(base: Conversation, norm: &str, ctx: &Context) -> Option<Outcome> {
    let compact = norm.replace(' ', "");
    let kb = ctx.kb;
    let found = |words: &[String]| -> Vec<String> {
        words.iter().filter(|w| !w.is_empty() && compact.contains(w.as_str())).cloned().collect()
    };
    let (kind, words) = [("danger", found(&kb.bot.risk.danger)), ("group", found(&kb.bot.risk.group))]
        .into_iter()
        .find(|(_, w)| !w.is_empty())?;
    let reply = if kind == "danger" { &kb.bot.risk.danger_reply } else { &kb.bot.risk.group_reply };
    Some(
        Outcome::new(Conversation { mode: Mode::Human, ..base })
            .say(reply.clone())
            .event(Event::Risk { kind: kind.into(), words })
            .event(Event::HandoffRequested { reason: Reason::Risk })
            .act(Action::Handoff { reason: Reason::Risk, urgent: true, town: None }),
    )
}

/// The resident wants a person: find their village first (once), then open the handoff.
pub(super) fn start(base: Conversation, reason: Reason, ctx: &Context) -> Outcome {
    if ctx.village.is_none() {
        return ask_village(base, Some(reason), ctx);
    }
    open(base, reason, None, ctx)
}

pub(super) fn ask_village(base: Conversation, then: Option<Reason>, ctx: &Context) -> Outcome {
    Outcome::new(Conversation { mode: Mode::AskingVillage { then }, ..base }).say(ctx.kb.bot.human.ask_village.clone())
}

fn open(base: Conversation, reason: Reason, town: Option<String>, ctx: &Context) -> Outcome {
    let texts = &ctx.kb.bot.human;
    let reply = if ctx.kb.directory.is_open(ctx.now) {
        texts.queued.replace("{ahead}", &ctx.waiting.to_string())
    } else {
        let hours = ctx.kb.directory.service_hours.as_ref().map(|h| h.description.clone()).unwrap_or_default();
        texts.after_hours.replace("{hours}", &hours)
    };
    Outcome::new(Conversation { mode: Mode::Human, ..base })
        .say(reply)
        .event(Event::HandoffRequested { reason })
        .act(Action::Handoff { reason, urgent: false, town })
}

/// With an adviser: silent, except for ending it and for risk words.
pub(super) fn while_with_adviser(base: Conversation, text: &str, ctx: &Context) -> Outcome {
    let norm = normalize(text);
    if let Some(outcome) = risk(base.clone(), &norm, ctx) {
        return outcome;
    }
    if matches_phrase(&norm, &ctx.kb.bot.intents.end_human) {
        return Outcome::new(Conversation { mode: Mode::Bot, ..base })
            .say(ctx.kb.bot.human.ended.clone())
            .act(Action::EndHandoff);
    }
    Outcome::new(base)
}

/// The resident names their village (or a number from the list offered, or skips).
/// None: not about the village at all; the caller answers it as a question.
pub(super) fn village_answer(
    previous: &Conversation,
    base: Conversation,
    then: Option<Reason>,
    text: &str,
    ctx: &Context,
) -> Option<Outcome> {
    let kb = ctx.kb;
    let norm = normalize(text);
    let compact = norm.replace(' ', "");
    let texts = &kb.bot.human;
    let intents = &kb.bot.intents;
    if matches_phrase(&norm, &intents.cancel) {
        return Some(Outcome::new(Conversation { mode: Mode::Bot, ..base }).say(texts.cancelled.clone()));
    }
    if matches_phrase(&norm, &intents.skip) {
        return Some(match then {
            Some(reason) => open(base, reason, None, ctx),
            None => Outcome::new(Conversation { mode: Mode::Bot, ..base }).say(texts.cancelled.clone()),
        });
    }
    let picked = compact.parse::<usize>().ok().and_then(|n| n.checked_sub(1)).and_then(|i| previous.choices.get(i));
    let candidates: Vec<&crate::knowledge::Village> = match picked {
        Some(Choice::Village(id)) => kb.directory.village(id).into_iter().collect(),
        _ => kb
            .directory
            .villages
            .iter()
            .filter(|v| {
                let name = normalize(&v.name).replace(' ', "");
                let short = name.trim_end_matches("社区").trim_end_matches('村');
                compact.contains(&name) || (short.chars().count() >= 2 && compact.contains(short))
            })
            .collect(),
    };
    match candidates.as_slice() {
        [village] => {
            let set = Action::SetVillage(village.id.clone());
            let noted = texts.village_set.replace("{village}", &village.name);
            Some(match then {
                Some(reason) => {
                    // One message: "remembered your village" and where the resident stands.
                    let mut o = open(base, reason, None, ctx);
                    o.replies = o.replies.iter().map(|r| Reply::text(format!("{noted}\n{}", r.summary()))).collect();
                    o.actions.insert(0, set);
                    o
                }
                None => Outcome::new(Conversation { mode: Mode::Bot, ..base }).say(noted).act(set),
            })
        }
        [] => {
            // A town name routes to that town's workstation.
            if let Some(town) =
                kb.directory.towns.iter().find(|t| compact.contains(&normalize(&t.name).replace(' ', "")))
            {
                return Some(match then {
                    Some(reason) => open(base, reason, Some(town.id.clone()), ctx),
                    None => Outcome::new(Conversation { mode: Mode::Bot, ..base }).say(texts.cancelled.clone()),
                });
            }
            // A question instead of a village: answer it, and stop asking.
            if compact.chars().count() > 12 {
                return None;
            }
            Some(
                Outcome::new(Conversation { choices: previous.choices.clone(), ..base })
                    .say(texts.village_not_found.clone()),
            )
        }
        many => {
            let list: Vec<String> = many.iter().enumerate().map(|(i, v)| format!("{}. {}", i + 1, v.name)).collect();
            let choices = many.iter().map(|v| Choice::Village(v.id.clone())).collect();
            Some(Outcome::new(Conversation { choices, ..base }).say(format!(
                "{}\n{}",
                texts.village_which,
                list.join("\n")
            )))
        }
    }
}

/// A location while asking for the village: route to the nearest town's workstation.
pub(super) fn village_by_location(
    base: Conversation,
    then: Option<Reason>,
    lat: f64,
    lon: f64,
    ctx: &Context,
) -> Outcome {
    let town = ctx.kb.directory.nearest_town(lat, lon).map(|t| t.id.clone());
    match (then, town) {
        (Some(reason), town) => open(base, reason, town, ctx),
        (None, _) => Outcome::new(Conversation { mode: Mode::Bot, ..base }).say(ctx.kb.bot.human.cancelled.clone()),
    }
}

/// The rating asked for once after an adviser closed the conversation.
/// None: not a rating; the caller treats it as a new message.
pub(super) fn rating(base: Conversation, handoff: i64, text: &str, ctx: &Context) -> Option<Outcome> {
    let compact = normalize(text).replace(' ', "");
    let score = match compact.as_str() {
        "1" | "2" | "3" | "4" | "5" => compact.parse().ok(),
        "非常满意" | "满意" | "很满意" => Some(5),
        "一般" | "还行" | "还可以" => Some(3),
        "不满意" | "很不满意" | "差" => Some(1),
        _ => None,
    }?;
    Some(
        Outcome::new(Conversation { mode: Mode::Bot, ..base })
            .say(ctx.kb.bot.human.rating_thanks.clone())
            .act(Action::Rate { handoff, score }),
    )
}
