//! The advisers' desk: who sees which waiting conversation, and the live events the console
//! listens to. Routing follows the district: the resident's village adviser first, then the
//! town's workstation, then the district pool, with the waits set in the directory.

use serde::Serialize;
use tokio::sync::broadcast;

use crate::knowledge::Directory;
use crate::store::Handoff;

/// Something the open consoles should know at once.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum DeskEvent {
    /// The queue changed (a new handoff, a claim, a transfer, a close).
    Queue,
    /// A resident wrote in a handoff.
    Message { handoff_id: i64 },
}

/// Fan-out of desk events to the consoles connected to this instance.
#[derive(Clone)]
pub struct Notifier(broadcast::Sender<DeskEvent>);

impl Default for Notifier {
    fn default() -> Self {
        Notifier(broadcast::channel(256).0)
    }
}

impl Notifier {
    pub fn send(&self, event: DeskEvent) {
        // No listener is fine: nobody has the console open.
        let _ = self.0.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<DeskEvent> {
        self.0.subscribe()
    }
}

/// The adviser looking at the queue.
#[derive(Debug, Clone)]
pub struct Viewer<'a> {
    pub id: i64,
    pub username: &'a str,
    pub town_id: Option<&'a str>,
    pub admin: bool,
}

/// How a waiting handoff relates to the viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Mine,
    Town,
    Pool,
}

/// Where a waiting handoff stands now: "village" (its adviser), "town" or "district".
pub fn level(h: &Handoff, dir: &Directory, now: i64) -> &'static str {
    let waited_min = (now - h.routed_at) / 60;
    match h.target_level.as_deref() {
        // A named adviser who does not come goes to their colleagues like a village adviser.
        Some("adviser") if waited_min < dir.routing.village_minutes => "adviser",
        Some("adviser")
            if waited_min < dir.routing.village_minutes + dir.routing.town_minutes && town_of(h, dir).is_some() =>
        {
            "town"
        }
        Some("adviser") => "district",
        Some("district") => "district",
        Some("town") if waited_min >= dir.routing.town_minutes => "district",
        Some("town") => "town",
        _ => {
            let village_adviser =
                h.village_id.as_deref().and_then(|v| dir.village(v)).and_then(|v| v.adviser_account.as_ref());
            let town = town_of(h, dir);
            if village_adviser.is_some() && waited_min < dir.routing.village_minutes {
                "village"
            } else if town.is_some() && waited_min < dir.routing.village_minutes + dir.routing.town_minutes {
                "town"
            } else {
                "district"
            }
        }
    }
}

/// The handoff's town: its own, or its village's.
pub fn town_of<'a>(h: &'a Handoff, dir: &'a Directory) -> Option<&'a str> {
    h.town_id.as_deref().or_else(|| h.village_id.as_deref().and_then(|v| dir.village(v)).map(|v| v.town.as_str()))
}

/// Whether (and how) the viewer sees a waiting handoff. Everyone sees the district pool and
/// urgent handoffs; an admin sees everything.
pub fn scope(h: &Handoff, viewer: &Viewer, dir: &Directory, now: i64) -> Option<Scope> {
    let town = town_of(h, dir);
    let mine = match level(h, dir, now) {
        "adviser" => h.target_adviser == Some(viewer.id),
        "village" => {
            let account =
                h.village_id.as_deref().and_then(|v| dir.village(v)).and_then(|v| v.adviser_account.as_deref());
            account == Some(viewer.username)
        }
        _ => false,
    };
    let level = level(h, dir, now);
    if mine {
        Some(Scope::Mine)
    } else if level == "town" && town.is_some() && town == viewer.town_id {
        Some(Scope::Town)
    } else if level == "district" || h.urgent || viewer.admin {
        Some(Scope::Pool)
    } else {
        None
    }
}
