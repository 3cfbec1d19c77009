//! lawline: the server behind a district's public-legal-service WeChat official account.

pub mod auth;
pub mod booking;
pub mod chat;
pub mod cli;
pub mod clock;
pub mod configuration;
pub mod desk;
pub mod dialog;
pub mod domain;
pub mod evaluation;
pub mod knowledge;
pub mod outbox;
pub mod reload;
pub mod reminders;
pub mod routes;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod text;
pub mod wechat;
