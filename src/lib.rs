//! lawline: the server behind a district's public-legal-service WeChat official account.

pub mod domain;
pub mod text;
pub mod wechat;
