//! Timed mutations from a schedule, run in paused tokio time.

use std::time::Duration;

use xapi::{Schedule, XApi};

use crate::helpers::{config, fixture};

#[tokio::test(start_paused = true)]
async fn scheduled_changes_apply_at_their_time_and_failures_do_not_stop_the_rest() {
    let app = XApi::new(&fixture(), config()).unwrap();
    let schedule = Schedule::parse(
        r#"[
            {"after_secs": 30, "post": "targon-1", "set": {"metrics": {"likes": 5000}}},
            {"after_secs": 40, "post": "no-such-post", "set": {"delete": true}},
            {"after_secs": 60, "post": "chutes-new", "set": {"delete": true}},
            {"after_secs": 90, "add": {"key": "late", "lang": "en", "text": "SN45 late",
              "author": {"username": "late", "name": "Late", "account_age_days": 1, "followers": 0}}}
        ]"#,
    )
    .unwrap();
    let runner = tokio::spawn(xapi::schedule::run(app.clone(), schedule));

    tokio::time::sleep(Duration::from_secs(29)).await;
    assert_eq!(app.post("targon-1").unwrap().metrics.likes, 10);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(app.post("targon-1").unwrap().metrics.likes, 5000);
    assert!(!app.post("chutes-new").unwrap().deleted);
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(app.post("chutes-new").unwrap().deleted);
    assert!(app.post("late").is_none());
    runner.await.unwrap();
    assert!(app.post("late").is_some());
}

#[test]
fn a_schedule_file_loads_from_disk() {
    let path = std::env::temp_dir().join(format!("xapi-schedule-{}.json", std::process::id()));
    std::fs::write(
        &path,
        r#"[{"after_secs": 1, "post": "a", "set": {"text": "b"}}]"#,
    )
    .unwrap();
    let schedule = Schedule::load(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(schedule.entries().len(), 1);
    assert!(Schedule::load(&path).is_err());
}
