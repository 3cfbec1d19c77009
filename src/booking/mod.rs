//! Appointments at service points: the rules admins keep in `faq/booking.toml`, free slots
//! computed from them and the seats already taken, and residents' words for dates.

mod config;
pub mod when;

pub use config::{BookingConfig, Hours, Point, Service, Settings, Slot};
