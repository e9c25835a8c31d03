//! The Wazzup client's five endpoints against the loopback fake: both list shapes, paging,
//! lookups, deletions, and what it refuses to send.

mod common;

use common::*;
use secrecy::SecretString;
use serde_json::json;
use wazzup_testkit::fake::{FakeUser, Fault, ListShape, WazzupFake};
use wazzup_user_sync::domain::{User, UserId, UserName};
use wazzup_user_sync::wazzup::{DeleteOutcome, InvalidItem, ListedUser, RemoteUser, WazzupError};

fn key() -> SecretString {
    SecretString::from(API_KEY.to_string())
}

fn user(id: &str, name: &str) -> User {
    User {
        id: UserId::parse(id).unwrap(),
        name: UserName::parse(name).unwrap(),
        phone: None,
    }
}

async fn seeded(n: usize) -> WazzupFake {
    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    for i in 0..n {
        fake.insert_user(FakeUser {
            id: format!("id-{i:03}"),
            name: format!("Name {i:03}"),
            phone: None,
        });
    }
    fake
}

#[tokio::test]
async fn list_reads_the_bare_array_shape() {
    let fake = seeded(3).await;
    let client = client(&fake.url(), fast_retry());
    let users = client.list_users(&key(), None).await.unwrap();
    assert_eq!(
        users,
        (0..3)
            .map(|i| ListedUser {
                id: format!("id-{i:03}"),
                name: format!("Name {i:03}")
            })
            .collect::<Vec<_>>()
    );
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn list_follows_every_page_of_the_paged_shape() {
    let fake = seeded(250).await;
    fake.set_list_shape(ListShape::Paged);
    let client = client(&fake.url(), fast_retry());
    let users = client.list_users(&key(), None).await.unwrap();
    assert_eq!(users.len(), 250);
    let mut ids: Vec<_> = users.iter().map(|u| u.id.clone()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 250);
    let queries: Vec<_> = fake.requests().iter().map(|r| r.query.clone()).collect();
    assert_eq!(
        queries,
        [
            None,
            Some("offset=100".to_string()),
            Some("offset=200".to_string())
        ]
    );
}

#[tokio::test]
async fn get_returns_the_user_or_none() {
    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    fake.insert_user(FakeUser {
        id: "a/b c".into(),
        name: "Odd Id".into(),
        phone: Some("79261234567".into()),
    });
    let client = client(&fake.url(), fast_retry());
    assert_eq!(
        client.get_user(&key(), "a/b c", None).await.unwrap(),
        Some(RemoteUser {
            id: "a/b c".into(),
            name: "Odd Id".into(),
            phone: Some("79261234567".into())
        })
    );
    assert_eq!(client.get_user(&key(), "nobody", None).await.unwrap(), None);
    // The id is one path segment, percent-encoded.
    assert_eq!(fake.requests()[0].path, "/v3/users/a%2Fb%20c");
}

#[tokio::test]
async fn delete_and_bulk_delete_tell_deleted_from_already_absent() {
    let fake = seeded(3).await;
    let client = client(&fake.url(), fast_retry());
    assert_eq!(
        client.delete_user(&key(), "id-000", None).await.unwrap(),
        DeleteOutcome::Deleted
    );
    assert_eq!(
        client.delete_user(&key(), "id-000", None).await.unwrap(),
        DeleteOutcome::AlreadyAbsent
    );
    let absent = client
        .bulk_delete(&key(), &["id-001", "ghost", "id-002"], None)
        .await
        .unwrap();
    assert_eq!(absent, ["ghost"]);
    assert!(fake.users().is_empty());
}

#[tokio::test]
async fn upsert_refuses_what_wazzup_would_refuse_without_sending_it() {
    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    let client = client(&fake.url(), fast_retry());
    let many: Vec<User> = (0..101).map(|i| user(&format!("u{i}"), "N")).collect();
    assert_eq!(
        client.upsert_users(&key(), &many, None).await,
        Err(WazzupError::TooManyEntities {
            count: 101,
            limit: 100
        })
    );
    let twice = [user("same", "A"), user("same", "B")];
    assert!(matches!(
        client.upsert_users(&key(), &twice, None).await,
        Err(WazzupError::InvalidRequest(_))
    ));
    let ids: Vec<String> = (0..101).map(|i| format!("d{i}")).collect();
    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert!(matches!(
        client.bulk_delete(&key(), &id_refs, None).await,
        Err(WazzupError::TooManyEntities { .. })
    ));
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn documented_refusals_come_back_typed() {
    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    let client = client(&fake.url(), fast_retry());
    fake.push_fault(Fault::Json {
        status: 400,
        body: json!({"error": "INVALID_USERS_DATA", "description": "bad", "data": [{"index": 1, "fields": ["name"]}]}),
    });
    assert_eq!(
        client
            .upsert_users(&key(), &[user("a", "A"), user("b", "B")], None)
            .await,
        Err(WazzupError::InvalidUsersData {
            items: vec![InvalidItem {
                index: 1,
                fields: vec!["name".into()]
            }],
            description: "bad".into()
        })
    );
    fake.push_fault(Fault::Json {
        status: 403,
        body: json!({"error": "FORBIDDEN", "description": "sidecar key"}),
    });
    assert!(matches!(
        client.list_users(&key(), None).await,
        Err(WazzupError::Forbidden { .. })
    ));
    let wrong = SecretString::from("wrong".to_string());
    assert_eq!(
        client.list_users(&wrong, None).await,
        Err(WazzupError::Unauthorized)
    );
    // None of these were retried.
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test]
async fn a_dropped_connection_is_retried() {
    let fake = seeded(1).await;
    fake.push_fault(Fault::Disconnect);
    let client = client(&fake.url(), fast_retry());
    assert_eq!(client.list_users(&key(), None).await.unwrap().len(), 1);
    let statuses: Vec<u16> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [0, 200]);
}

#[tokio::test]
async fn every_id_reaches_wazzup_as_exactly_one_path_segment() {
    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    let client = client(&fake.url(), fast_retry());
    let ids = [
        "a/b",
        "%2e%2e",
        "a%2Fb",
        "?x=1",
        "#frag",
        "ид с пробелом",
        "...",
        "a.b",
        ".a",
        "+7 926",
    ];
    for id in ids {
        fake.insert_user(FakeUser {
            id: id.into(),
            name: "N".into(),
            phone: None,
        });
    }
    fake.insert_user(FakeUser {
        id: "bystander".into(),
        name: "B".into(),
        phone: None,
    });
    for id in ids {
        let found = client.get_user(&key(), id, None).await.unwrap();
        assert_eq!(found.map(|u| u.id).as_deref(), Some(id), "{id}");
        assert_eq!(
            client.delete_user(&key(), id, None).await.unwrap(),
            DeleteOutcome::Deleted,
            "{id}"
        );
        assert!(fake.user(id).is_none(), "{id} is still there");
    }
    assert!(fake.user("bystander").is_some());
    // What a path resolves away is never sent: it could not name one user.
    fake.clear_requests();
    for id in [".", "..", ""] {
        let error = client.delete_user(&key(), id, None).await.unwrap_err();
        assert!(
            matches!(error, WazzupError::InvalidRequest(_)),
            "{id:?}: {error}"
        );
        assert!(client.get_user(&key(), id, None).await.is_err());
    }
    assert!(fake.requests().is_empty());
}
