//! Integration tests: the real server on a random port, a real database (SQLite and
//! PostgreSQL), the real index built from `faq/`, and a local server playing WeChat's API.

mod helpers;
mod mock_wechat;

mod admin;
mod booking;
mod handoff;
mod health;
mod knowledge;
mod outbox;
mod webhook;
mod wechat_client;
