//! The dialogue engine: pure logic, no I/O. Given a resident's conversation state, what they
//! sent, and the read-only knowledge base, it returns the new state and what to say. The web
//! shell stores the state, logs the messages and sends the replies.

pub mod booking;
mod engine;
mod human;

pub use engine::{Action, Choice, Context, Conversation, Event, Input, Mode, Outcome, Reason, handle};
