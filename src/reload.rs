//! Hot reload of the knowledge base: `faq/` is polled for changes (and can be reloaded on
//! demand); a new index is built beside the old one and swapped in atomically. A broken edit
//! never takes the service down: the last good knowledge base keeps serving, and the problems
//! are logged and shown to admins.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;
use std::time::{Duration, SystemTime};

use actix_web::web;
use serde::Serialize;

use crate::knowledge::{Knowledge, LoadError, Problem};
use crate::startup::AppState;

/// What admins see of the knowledge base's state.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReloadStatus {
    pub entries: usize,
    pub guides: usize,
    /// Unix seconds of the last successful load.
    pub loaded_at: i64,
    /// The problems of the last failed attempt, if it came after the last success.
    pub problems: Vec<String>,
}

/// Changes whenever a file under `dir` is added, removed, resized or touched.
pub fn fingerprint(dir: &Path) -> u64 {
    let mut hasher = DefaultHasher::new();
    let mut stack = vec![dir.to_path_buf()];
    let mut files = Vec::new();
    while let Some(d) = stack.pop() {
        let Ok(read) = std::fs::read_dir(&d) else { continue };
        for item in read.flatten() {
            let path = item.path();
            match item.metadata() {
                Ok(m) if m.is_dir() => stack.push(path),
                Ok(m) => files.push((path, m.len(), m.modified().unwrap_or(SystemTime::UNIX_EPOCH))),
                Err(_) => {}
            }
        }
    }
    files.sort();
    files.hash(&mut hasher);
    hasher.finish()
}

/// Loads `faq/` afresh and swaps it in; on failure keeps the current knowledge base.
pub async fn reload(state: &web::Data<AppState>) -> Result<ReloadStatus, Vec<Problem>> {
    let (faq, index) = (state.settings.faq_dir.clone(), state.settings.index_dir.clone());
    let loaded = tokio::task::spawn_blocking(move || Knowledge::load(&faq, &index))
        .await
        .map_err(|e| vec![Problem::new("faq", 0, format!("reload task failed: {e}"))])?;
    match loaded {
        Ok(kb) => {
            let status = ReloadStatus {
                entries: kb.entries.len(),
                guides: kb.guides.len(),
                loaded_at: crate::store::now(),
                problems: vec![],
            };
            state.replace_knowledge(kb);
            *state.reload_status.lock().expect("status lock") = status.clone();
            tracing::info!(entries = status.entries, guides = status.guides, "knowledge base reloaded");
            Ok(status)
        }
        Err(e) => {
            let problems = match e {
                LoadError::Invalid(problems) => problems,
                LoadError::Index(e) => vec![Problem::new("index", 0, e.to_string())],
            };
            for p in &problems {
                tracing::error!(problem = %p, "knowledge base not reloaded; the last good one keeps serving");
            }
            state.reload_status.lock().expect("status lock").problems =
                problems.iter().map(ToString::to_string).collect();
            Err(problems)
        }
    }
}

/// Polls `faq/` and reloads when it changes; runs until the process ends.
pub async fn watch(state: web::Data<AppState>, every: Duration) {
    let dir = state.settings.faq_dir.clone();
    let mut last = fingerprint(&dir);
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let now = {
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || fingerprint(&dir)).await.unwrap_or(last)
        };
        if now != last {
            // Editors write in several steps; let the change settle before reading it.
            tokio::time::sleep(Duration::from_millis(300)).await;
            last = fingerprint(&dir);
            let _ = reload(&state).await;
        }
    }
}
