use std::time::Duration;

use chrono::{Duration as Days, NaiveTime};
use lawline::clock;
use lawline::domain::OpenId;
use lawline::store::NewAppointment;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    a_full_booking_through_the_chat_then_listed_and_cancelled,
    residents_racing_for_the_last_seat_get_exactly_its_capacity,
    a_cancelled_seat_goes_to_the_first_on_the_waitlist,
    a_reminder_is_sent_once_even_after_a_restart,
    staff_see_the_day_mark_arrivals_cancel_with_a_reason_and_export,
);

/// Walks a resident through to the confirmation; returns the last reply.
async fn fill_in(app: &TestApp, openid: &str, first_id: i64) -> String {
    let mut last = String::new();
    for (i, text) in ["预约公证", "1", "李四", "13912345678", "继承房产的公证"].iter().enumerate() {
        let (status, reply) = app.say(openid, text, first_id + i as i64).await;
        assert_eq!(status, 200);
        last = reply.unwrap_or_default();
    }
    last
}

async fn a_full_booking_through_the_chat_then_listed_and_cancelled(b: Backend) {
    let app = spawn_app(b).await;
    let confirm = fill_in(&app, "oResidentT1", 30001).await;
    assert!(confirm.contains("李四") && confirm.contains("13912345678") && confirm.contains("确认"), "{confirm}");
    let (_, booked) = app.say("oResidentT1", "确认", 30010).await;
    let booked = booked.unwrap();
    assert!(booked.starts_with("预约成功"), "{booked}");
    assert!(booked.contains("请带上"), "what to bring, from the notary guide: {booked}");
    let number: String = sqlx::query_scalar("SELECT number FROM appointments WHERE status = 'booked'")
        .fetch_one(app.state.store.pool())
        .await
        .unwrap();
    assert!(booked.contains(&number));
    let (_, mine) = app.say("oResidentT1", "我的预约", 30011).await;
    assert!(mine.unwrap().contains(&number));
    let (_, cancelled) = app.say("oResidentT1", "取消预约 1", 30012).await;
    assert!(cancelled.unwrap().contains(&number));
    assert_eq!(app.count("SELECT COUNT(*) FROM appointments WHERE status = 'cancelled'").await, 1);
    let (_, none) = app.say("oResidentT1", "我的预约", 30013).await;
    assert_eq!(none.unwrap(), app.state.knowledge().bot.booking.mine_none);
}

async fn residents_racing_for_the_last_seat_get_exactly_its_capacity(b: Backend) {
    let app = spawn_app(b).await;
    let residents: Vec<String> = (0..8).map(|i| format!("oRacer{i}")).collect();
    for (i, r) in residents.iter().enumerate() {
        fill_in(&app, r, 31000 + 100 * i as i64).await;
    }
    // All confirm the same first slot at once.
    let confirms = residents.iter().enumerate().map(|(i, r)| {
        let (http, address) = (app.http.clone(), app.address.clone());
        let body = text_xml(r, "确认", 31090 + 100 * i as i64);
        tokio::spawn(async move {
            let resp = http
                .post(format!("{address}/wechat"))
                .query(&signed_query("1700000000", "nonce1"))
                .body(body)
                .send()
                .await
                .unwrap();
            reply_content(&resp.text().await.unwrap()).unwrap_or_default()
        })
    });
    let mut replies = vec![];
    for c in confirms {
        replies.push(c.await.unwrap());
    }
    let capacity = app.state.knowledge().booking.as_ref().unwrap().seats("hall", "notary");
    assert_eq!(app.count("SELECT COUNT(*) FROM appointments WHERE status = 'booked'").await, capacity);
    let won = replies.iter().filter(|r| r.starts_with("预约成功")).count() as i64;
    assert_eq!(won, capacity, "{replies:?}");
    let offered =
        replies.iter().filter(|r| r.starts_with(&app.state.knowledge().bot.booking.slot_taken)).count() as i64;
    assert_eq!(offered, 8 - capacity, "the others are offered the next free times: {replies:?}");
}

async fn a_cancelled_seat_goes_to_the_first_on_the_waitlist(b: Backend) {
    let app = spawn_app(b).await;
    let store = &app.state.store;
    let t = lawline::store::now();
    let waiting = OpenId::parse("oWaiting1").unwrap();
    store.touch_resident(&waiting, true, t).await.unwrap();
    store.join_waitlist(&waiting, "notary", "hall", t).await.unwrap();
    // The seat is really freed: a full slot takes a booking again after a cancellation.
    let slot = clock::unix(clock::local(t).date().and_time(NaiveTime::from_hms_opt(9, 0, 0).unwrap()) + Days::days(3));
    let book = |who: &'static str, n: &'static str| {
        let store = store.clone();
        async move {
            let openid = OpenId::parse(who).unwrap();
            let new = NewAppointment {
                openid: &openid,
                service: "notary",
                point: "hall",
                slot_start: slot,
                name: "王五",
                phone: "13700000000",
                matter: "公证",
            };
            store.book(&new, 2, n, t).await.unwrap()
        }
    };
    assert!(book("oA", "N1").await.is_some());
    assert!(book("oB", "N2").await.is_some());
    assert!(book("oC", "N3").await.is_none(), "full");

    fill_in(&app, "oResidentU1", 32001).await;
    app.say("oResidentU1", "确认", 32010).await;
    app.say("oResidentU1", "我的预约", 32011).await;
    app.say("oResidentU1", "取消预约 1", 32012).await;
    let sent = app.wechat.wait_for_texts(1).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, "oWaiting1");
    assert!(sent[0].1.contains("有空位了"), "{}", sent[0].1);
    assert_eq!(app.count("SELECT COUNT(*) FROM waitlist WHERE status = 'offered'").await, 1);
    // And a cancelled seat of the full slot can be booked again.
    let a: i64 =
        sqlx::query_scalar("SELECT id FROM appointments WHERE number = 'N1'").fetch_one(store.pool()).await.unwrap();
    store.set_appointment_status(a, "cancelled", Some("test"), t).await.unwrap();
    assert!(book("oC", "N4").await.is_some());
}

async fn a_reminder_is_sent_once_even_after_a_restart(b: Backend) {
    let first = spawn_app(b).await;
    let store = &first.state.store;
    let t = lawline::store::now();
    let who = OpenId::parse("oResidentV1").unwrap();
    store.touch_resident(&who, true, t).await.unwrap();
    let today = clock::local(t).date();
    let tomorrow_9 = clock::unix((today + Days::days(1)).and_time(NaiveTime::from_hms_opt(9, 0, 0).unwrap()));
    let new = NewAppointment {
        openid: &who,
        service: "notary",
        point: "hall",
        slot_start: tomorrow_9,
        name: "赵六",
        phone: "13600000000",
        matter: "公证",
    };
    store.book(&new, 2, "R1", t).await.unwrap().unwrap();
    // Before the reminder hour nothing goes; at 19:00 it does.
    let morning = clock::unix(today.and_time(NaiveTime::from_hms_opt(9, 0, 0).unwrap()));
    let evening = clock::unix(today.and_time(NaiveTime::from_hms_opt(19, 0, 0).unwrap()));
    assert_eq!(lawline::reminders::send_due(&first.state, morning).await.unwrap(), 0);
    assert_eq!(lawline::reminders::send_due(&first.state, evening).await.unwrap(), 1);
    let sent = first.wechat.wait_for_texts(1).await;
    assert!(sent[0].1.contains("R1") && sent[0].1.contains("09:00"), "{}", sent[0].1);
    first.server.stop(true).await;

    let url = first.state.settings.database_url.clone();
    let second = spawn_app_with(b, |s| s.database_url = url).await;
    assert_eq!(
        lawline::reminders::send_due(&second.state, evening + 60).await.unwrap(),
        0,
        "not twice after a restart"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(second.wechat.sent_texts().is_empty());
}

async fn staff_see_the_day_mark_arrivals_cancel_with_a_reason_and_export(b: Backend) {
    let app = spawn_app(b).await;
    app.add_adviser("boss", "admin", None).await;
    app.add_adviser("hall-staff", "adviser", None).await;
    app.add_adviser("adviser-a", "adviser", Some("hekou-jd")).await;
    // A matter that would run as a formula in a spreadsheet.
    for (i, text) in ["预约公证", "1", "李四", "13912345678", "=HYPERLINK(\"x\")"].iter().enumerate() {
        app.say("oResidentW1", text, 33001 + i as i64).await;
    }
    app.say("oResidentW1", "确认", 33010).await;
    let (id, slot): (i64, i64) =
        sqlx::query_as("SELECT id, slot_start FROM appointments").fetch_one(app.state.store.pool()).await.unwrap();
    let date = clock::local(slot).date().format("%Y-%m-%d").to_string();

    // A town's adviser sees neither the district hall's bookings nor acts on them.
    let town = app.login("adviser-a").await;
    let none: Value = town.get(&format!("/api/console/bookings?date={date}")).await.json().await.unwrap();
    assert!(none.as_array().unwrap().is_empty());
    assert_eq!(
        town.post(&format!("/api/console/bookings/{id}/status"), json!({"status": "arrived"})).await.status(),
        403
    );
    let staff = app.login("hall-staff").await;
    let day: Value = staff.get(&format!("/api/console/bookings?date={date}&point=hall")).await.json().await.unwrap();
    assert_eq!(day[0]["name"], "李四");
    assert_eq!(day[0]["status"], "booked");
    let arrived = staff.post(&format!("/api/console/bookings/{id}/status"), json!({"status": "arrived"})).await;
    assert_eq!(arrived.status(), 200);
    let bad = staff.post(&format!("/api/console/bookings/{id}/status"), json!({"status": "teleported"})).await;
    assert_eq!(bad.status(), 400);
    assert_eq!(staff.get(&format!("/api/console/bookings.csv?date={date}")).await.status(), 403, "admins only");

    // Another booking, cancelled by staff with a reason the resident receives.
    fill_in(&app, "oResidentW2", 33101).await;
    app.say("oResidentW2", "确认", 33110).await;
    let other: i64 = sqlx::query_scalar("SELECT id FROM appointments WHERE openid = 'oResidentW2'")
        .fetch_one(app.state.store.pool())
        .await
        .unwrap();
    let no_reason = staff.post(&format!("/api/console/bookings/{other}/cancel"), json!({"reason": " "})).await;
    assert_eq!(no_reason.status(), 400);
    let cancelled =
        staff.post(&format!("/api/console/bookings/{other}/cancel"), json!({"reason": "公证员临时外出"})).await;
    assert_eq!(cancelled.status(), 200);
    let sent = app.wechat.wait_for_texts(1).await;
    assert!(sent.iter().any(|(to, t)| to == "oResidentW2" && t.contains("公证员临时外出")), "{sent:?}");

    let csv = app.login("boss").await.get(&format!("/api/console/bookings.csv?date={date}")).await;
    assert_eq!(csv.status(), 200);
    let text = csv.text().await.unwrap();
    assert!(text.contains("预约号") && text.contains("李四") && text.contains("arrived"), "{text}");
    assert!(text.contains("'=HYPERLINK"), "formulas are defused: {text}");
}
