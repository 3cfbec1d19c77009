//! HTTP routes: the WeChat webhook, health checks, and the admin JSON API.

pub mod admin;
pub mod bookings;
pub mod console;
pub mod health;
pub mod wechat;
