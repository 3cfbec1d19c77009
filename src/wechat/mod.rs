//! The WeChat official-account protocol: signatures, safe-mode crypto, inbound messages,
//! passive replies, and the API client. Knows nothing of lawline's dialogue.

pub mod client;
pub mod crypto;
pub mod message;
pub mod reply;
pub mod signature;
pub mod split;

pub use client::{ApiClient, ApiError};
pub use message::{Body, Inbound, ParseError};
pub use reply::Reply;
