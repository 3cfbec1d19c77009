//! Appointments at service points: the rules admins keep in `faq/booking.toml`, free slots
//! computed from them and the seats already taken, and residents' words for dates.

mod config;
pub mod when;

pub use config::{BookingConfig, Hours, Point, Service, Settings, Slot};

/// A booking number residents can read out: the local date and five unambiguous characters.
pub fn new_number(now: chrono::NaiveDateTime) -> String {
    const ALPHABET: &[u8] = b"ACDEFGHJKLMNPQRSTUVWXYZ23456789";
    let tail: String = (0..5).map(|_| ALPHABET[rand::random::<usize>() % ALPHABET.len()] as char).collect();
    format!("{}{tail}", now.format("%m%d"))
}
