//! Appointments and the waitlist. A booking takes a numbered seat of its slot; the partial
//! unique index on (point, service, slot, seat) lets exactly `capacity` bookings exist, however
//! many residents race for the last one, on SQLite or on PostgreSQL with many instances.

use std::collections::HashMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::Store;
use crate::domain::OpenId;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Appointment {
    pub id: i64,
    pub number: String,
    pub openid: String,
    pub service: String,
    pub point: String,
    pub slot_start: i64,
    pub name: String,
    pub phone: String,
    pub matter: String,
    pub status: String,
    pub cancel_reason: Option<String>,
}

/// What a booking needs.
#[derive(Debug, Clone)]
pub struct NewAppointment<'a> {
    pub openid: &'a OpenId,
    pub service: &'a str,
    pub point: &'a str,
    pub slot_start: i64,
    pub name: &'a str,
    pub phone: &'a str,
    pub matter: &'a str,
}

const COLUMNS: &str = "id, number, openid, service, point, slot_start, name, phone, matter, status, cancel_reason";

fn appointment(r: &AnyRow) -> sqlx::Result<Appointment> {
    Ok(Appointment {
        id: r.try_get("id")?,
        number: r.try_get("number")?,
        openid: r.try_get("openid")?,
        service: r.try_get("service")?,
        point: r.try_get("point")?,
        slot_start: r.try_get("slot_start")?,
        name: r.try_get("name")?,
        phone: r.try_get("phone")?,
        matter: r.try_get("matter")?,
        status: r.try_get("status")?,
        cancel_reason: r.try_get("cancel_reason")?,
    })
}

impl Store {
    /// Books a seat if one is free; None when the slot is full. `number` is the booking number
    /// residents quote; make it random enough never to repeat (see `booking::new_number`).
    pub async fn book(
        &self,
        new: &NewAppointment<'_>,
        capacity: i64,
        number: &str,
        now: i64,
    ) -> sqlx::Result<Option<Appointment>> {
        for seat in 1..=capacity {
            let inserted = sqlx::query(
                "INSERT INTO appointments (number, openid, service, point, slot_start, seat, name, phone, matter, status, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'booked', $10, $10)",
            )
            .bind(number)
            .bind(new.openid.as_str())
            .bind(new.service)
            .bind(new.point)
            .bind(new.slot_start)
            .bind(seat)
            .bind(new.name)
            .bind(new.phone)
            .bind(new.matter)
            .bind(now)
            .execute(&self.pool)
            .await;
            match inserted {
                Ok(_) => {
                    let sql = format!(
                        "SELECT {COLUMNS} FROM appointments WHERE point = $1 AND service = $2 AND slot_start = $3 AND seat = $4 AND status <> 'cancelled'"
                    );
                    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(new.point)
                        .bind(new.service)
                        .bind(new.slot_start)
                        .bind(seat)
                        .fetch_one(&self.pool)
                        .await?;
                    return appointment(&row).map(Some);
                }
                // That seat is taken: try the next.
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    /// Seats taken per (point, service, slot start) from `from` on.
    pub async fn taken_seats(&self, from: i64) -> sqlx::Result<HashMap<(String, String, i64), i64>> {
        let rows = sqlx::query(
            "SELECT point, service, slot_start, COUNT(*) AS n FROM appointments
             WHERE slot_start >= $1 AND status <> 'cancelled' GROUP BY point, service, slot_start",
        )
        .bind(from)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok(((r.try_get("point")?, r.try_get("service")?, r.try_get("slot_start")?), r.try_get("n")?)))
            .collect()
    }

    /// A resident's bookings from `from` on that are still to come.
    pub async fn upcoming(&self, openid: &OpenId, from: i64) -> sqlx::Result<Vec<Appointment>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM appointments WHERE openid = $1 AND status = 'booked' AND slot_start >= $2 ORDER BY slot_start"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(openid.as_str()).bind(from).fetch_all(&self.pool).await?;
        rows.iter().map(appointment).collect()
    }

    pub async fn appointment(&self, id: i64) -> sqlx::Result<Option<Appointment>> {
        let sql = format!("SELECT {COLUMNS} FROM appointments WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(appointment).transpose()
    }

    /// Sets a booking's status (cancelled frees its seat); false when it was not 'booked'
    /// (or, for arrival outcomes, already settled).
    pub async fn set_appointment_status(
        &self,
        id: i64,
        status: &str,
        reason: Option<&str>,
        now: i64,
    ) -> sqlx::Result<bool> {
        let from = if status == "cancelled" { "status = 'booked'" } else { "status IN ('booked', 'arrived')" };
        let sql = format!(
            "UPDATE appointments SET status = $1, cancel_reason = $2, updated_at = $3 WHERE id = $4 AND {from}"
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(status)
            .bind(reason)
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Bookings (any status) at a point, or all points, between two times.
    pub async fn appointments_between(
        &self,
        point: Option<&str>,
        from: i64,
        to: i64,
    ) -> sqlx::Result<Vec<Appointment>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM appointments WHERE slot_start >= $1 AND slot_start < $2 AND ($3 = '' OR point = $3) ORDER BY slot_start, point, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(from)
            .bind(to)
            .bind(point.unwrap_or(""))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(appointment).collect()
    }

    /// Booked appointments starting between `from` and `to` with no reminder sent yet.
    pub async fn due_reminders(&self, from: i64, to: i64) -> sqlx::Result<Vec<Appointment>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM appointments WHERE status = 'booked' AND reminded_at IS NULL AND slot_start >= $1 AND slot_start < $2 ORDER BY id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(from).bind(to).fetch_all(&self.pool).await?;
        rows.iter().map(appointment).collect()
    }

    /// Marks a reminder as sent; false when another instance was first (it sends, not us).
    pub async fn mark_reminded(&self, id: i64, now: i64) -> sqlx::Result<bool> {
        let done = sqlx::query("UPDATE appointments SET reminded_at = $1 WHERE id = $2 AND reminded_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn join_waitlist(&self, openid: &OpenId, service: &str, point: &str, now: i64) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO waitlist (openid, service, point, status, created_at) VALUES ($1, $2, $3, 'waiting', $4)",
        )
        .bind(openid.as_str())
        .bind(service)
        .bind(point)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes the first resident waiting for a service at a point (marking them offered).
    pub async fn next_on_waitlist(&self, service: &str, point: &str, now: i64) -> sqlx::Result<Option<String>> {
        let row = sqlx::query(
            "UPDATE waitlist SET status = 'offered', offered_at = $1
             WHERE id = (SELECT id FROM waitlist WHERE service = $2 AND point = $3 AND status = 'waiting' ORDER BY id LIMIT 1)
               AND status = 'waiting'
             RETURNING openid",
        )
        .bind(now)
        .bind(service)
        .bind(point)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| r.try_get("openid")).transpose()
    }
}
