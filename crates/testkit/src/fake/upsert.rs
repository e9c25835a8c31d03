//! `POST /v3/users`: validating a batch of users and upserting it all or nothing.

use std::collections::{HashMap, HashSet};

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::{Value, json};

use super::limits::{MAX_FIELD_CHARS, MAX_USERS_PER_REQUEST};
use super::respond::error;
use super::state::{State, StoredUser};

/// A validated element of a `POST /v3/users` body.
struct Incoming {
    id: String,
    name: String,
    phone: Option<String>,
}

pub(super) fn upsert_users(st: &mut State, body: &[u8]) -> Response {
    let invalid = |description: &str, data: Option<Value>| {
        error(
            StatusCode::BAD_REQUEST,
            "INVALID_USERS_DATA",
            description,
            data,
        )
    };
    if body.is_empty() {
        return invalid("The request body is empty.", None);
    }
    let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(body) else {
        return invalid("The body must be a JSON array of users.", None);
    };
    if items.is_empty() {
        return invalid("The array of users is empty.", None);
    }
    if items.len() > MAX_USERS_PER_REQUEST {
        return error(
            StatusCode::BAD_REQUEST,
            "TOO_MANY_ENTITIES",
            &format!("At most {MAX_USERS_PER_REQUEST} users may be sent in one request."),
            Some(json!({"count": items.len(), "limit": MAX_USERS_PER_REQUEST})),
        );
    }

    let mut incoming = Vec::with_capacity(items.len());
    let mut problems = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let id = valid_text(item.get("id"));
        let name = valid_text(item.get("name"));
        match (id, name) {
            (Some(id), Some(name)) => incoming.push(Incoming {
                id: id.to_owned(),
                name: name.to_owned(),
                phone: valid_phone(item.get("phone")),
            }),
            (id, name) => {
                let mut fields = Vec::new();
                if id.is_none() {
                    fields.push("id");
                }
                if name.is_none() {
                    fields.push("name");
                }
                problems.push(json!({"index": index, "fields": fields}));
            }
        }
    }
    if !problems.is_empty() {
        return invalid(
            "Some users have invalid fields.",
            Some(Value::Array(problems)),
        );
    }

    let mut seen_ids = HashSet::new();
    if !incoming.iter().all(|u| seen_ids.insert(u.id.as_str())) {
        // What Wazzup does when one request names the same id twice.
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_SERVER_ERROR",
            "Internal server error.",
            None,
        );
    }

    let existing_phones: HashMap<&str, &str> = st
        .users
        .iter()
        .filter_map(|(id, u)| u.phone.as_deref().map(|p| (p, id.as_str())))
        .collect();
    let mut request_phones = HashSet::new();
    for user in &incoming {
        let Some(phone) = user.phone.as_deref() else {
            continue;
        };
        let held_by_other = existing_phones
            .get(phone)
            .is_some_and(|holder| *holder != user.id);
        if held_by_other || !request_phones.insert(phone) {
            return error(
                StatusCode::BAD_REQUEST,
                "DUPLICATE_PHONE_NUMBER",
                &format!("User with phone number {phone} already exists in the CRM."),
                Some(json!({"phone": phone})),
            );
        }
    }

    let new_users = incoming
        .iter()
        .filter(|u| !st.users.contains_key(&u.id))
        .count();
    if st.users.len() + new_users > st.user_limit {
        return error(
            StatusCode::BAD_REQUEST,
            "USER_LIMIT_EXCEEDED",
            &format!("The account may have at most {} users.", st.user_limit),
            Some(json!({"limit": st.user_limit})),
        );
    }

    for user in incoming {
        st.users.insert(
            user.id,
            StoredUser {
                name: user.name,
                phone: user.phone,
            },
        );
    }
    StatusCode::OK.into_response()
}

/// A string of 1..=200 characters.
fn valid_text(value: Option<&Value>) -> Option<&str> {
    match value {
        Some(Value::String(s)) if (1..=MAX_FIELD_CHARS).contains(&s.chars().count()) => {
            Some(s.as_str())
        }
        _ => None,
    }
}

/// A phone Wazzup keeps: 7..=15 ASCII digits. Anything else is silently dropped.
fn valid_phone(value: Option<&Value>) -> Option<String> {
    match value {
        Some(Value::String(s))
            if (7..=15).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Some(s.clone())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use http::Method;
    use serde_json::{Value, json};

    use crate::fake::test_support::{fake, post_users, seed, send, user};

    // --- POST /v3/users -------------------------------------------------------------------

    #[tokio::test]
    async fn upsert_creates_updates_and_clears_phone() {
        let fake = fake().await;
        let reply = post_users(
            &fake,
            json!([
                {"id": "2e0df379", "name": "Alex Salesman", "phone": "79263334567"},
                {"id": "111-2e0d", "name": "Kate Supportics", "phone": "79261234567"}
            ]),
        )
        .await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body, "");
        assert_eq!(
            fake.users(),
            vec![
                user("111-2e0d", "Kate Supportics", Some("79261234567")),
                user("2e0df379", "Alex Salesman", Some("79263334567")),
            ]
        );

        let reply = post_users(
            &fake,
            json!([
                {"id": "2e0df379", "name": "Alex Manager", "phone": "79260000000"},
                {"id": "111-2e0d", "name": "Kate", "extra": true}
            ]),
        )
        .await;
        assert_eq!(reply.status, 200);
        assert_eq!(
            fake.user("2e0df379"),
            Some(user("2e0df379", "Alex Manager", Some("79260000000")))
        );
        assert_eq!(fake.user("111-2e0d"), Some(user("111-2e0d", "Kate", None)));
        assert_eq!(fake.users().len(), 2);
    }

    #[tokio::test]
    async fn body_that_is_not_a_nonempty_array_is_invalid_users_data() {
        let fake = fake().await;
        let auth = Some("Bearer test-key");
        for body in [
            None,
            Some(b"".to_vec()),
            Some(b"[".to_vec()),
            Some(b"{\"id\":\"a\",\"name\":\"A\"}".to_vec()),
            Some(b"\"a\"".to_vec()),
            Some(b"[]".to_vec()),
        ] {
            let reply = send(&fake, Method::POST, "/v3/users", auth, body.clone())
                .await
                .unwrap();
            reply.assert_error(400, "INVALID_USERS_DATA");
        }
        assert!(fake.users().is_empty());
    }

    #[tokio::test]
    async fn more_than_100_users_is_too_many_entities() {
        let fake = fake().await;
        let users = |n: usize| {
            Value::Array(
                (0..n)
                    .map(|i| json!({"id": format!("id{i}"), "name": format!("N{i}")}))
                    .collect(),
            )
        };
        let body = post_users(&fake, users(101))
            .await
            .assert_error(400, "TOO_MANY_ENTITIES");
        assert_eq!(body["data"], json!({"count": 101, "limit": 100}));
        assert!(fake.users().is_empty());

        assert_eq!(post_users(&fake, users(100)).await.status, 200);
        assert_eq!(fake.users().len(), 100);
    }

    #[tokio::test]
    async fn invalid_fields_list_every_bad_element_and_apply_nothing() {
        let fake = fake().await;
        let ok_200 = "я".repeat(200);
        let too_long = "я".repeat(201);
        let body = post_users(
            &fake,
            json!([
                {"id": "ok", "name": "Fine"},
                {"id": "", "name": "Empty id"},
                {"id": "no-name"},
                {"id": 5, "name": null},
                {"id": ok_200, "name": ok_200},
                {"id": too_long, "name": "x"},
                {"id": "x", "name": too_long},
                "not an object",
            ]),
        )
        .await
        .assert_error(400, "INVALID_USERS_DATA");
        assert_eq!(
            body["data"],
            json!([
                {"index": 1, "fields": ["id"]},
                {"index": 2, "fields": ["name"]},
                {"index": 3, "fields": ["id", "name"]},
                {"index": 5, "fields": ["id"]},
                {"index": 6, "fields": ["name"]},
                {"index": 7, "fields": ["id", "name"]},
            ])
        );
        assert!(fake.users().is_empty());

        // 200 two-byte characters are 400 bytes but within the limit.
        let reply = post_users(&fake, json!([{"id": ok_200, "name": ok_200}])).await;
        assert_eq!(reply.status, 200);
    }

    #[tokio::test]
    async fn same_id_twice_in_one_request_is_500_and_applies_nothing() {
        let fake = fake().await;
        let reply = post_users(
            &fake,
            json!([
                {"id": "a", "name": "First"},
                {"id": "b", "name": "Other"},
                {"id": "a", "name": "Second"},
            ]),
        )
        .await;
        reply.assert_error(500, "INTERNAL_SERVER_ERROR");
        assert!(fake.users().is_empty());
    }

    #[tokio::test]
    async fn malformed_phones_are_silently_dropped() {
        let fake = fake().await;
        let reply = post_users(
            &fake,
            json!([
                {"id": "plus", "name": "P", "phone": "+79261234567"},
                {"id": "short", "name": "S", "phone": "123456"},
                {"id": "long", "name": "L", "phone": "1234567890123456"},
                {"id": "number", "name": "N", "phone": 79261234567_u64},
                {"id": "spaces", "name": "Sp", "phone": "7 926 123 45 67"},
                {"id": "unicode", "name": "U", "phone": "७९२६१२३४५६७"},
                {"id": "null", "name": "Nu", "phone": null},
                {"id": "min", "name": "Min", "phone": "1234567"},
                {"id": "max", "name": "Max", "phone": "123456789012345"},
            ]),
        )
        .await;
        assert_eq!(reply.status, 200, "{reply:?}");
        for id in [
            "plus", "short", "long", "number", "spaces", "unicode", "null",
        ] {
            assert_eq!(fake.user(id).unwrap().phone, None, "{id}");
        }
        assert_eq!(fake.user("min").unwrap().phone.as_deref(), Some("1234567"));
        assert_eq!(
            fake.user("max").unwrap().phone.as_deref(),
            Some("123456789012345")
        );
    }

    #[tokio::test]
    async fn duplicate_phone_against_existing_user_is_rejected() {
        let fake = fake().await;
        fake.insert_user(user("holder", "Holder", Some("79999999999")));
        let body = post_users(
            &fake,
            json!([
                {"id": "new", "name": "New"},
                {"id": "taker", "name": "Taker", "phone": "79999999999"},
            ]),
        )
        .await
        .assert_error(400, "DUPLICATE_PHONE_NUMBER");
        assert_eq!(
            body["description"],
            json!("User with phone number 79999999999 already exists in the CRM.")
        );
        assert_eq!(body["data"], json!({"phone": "79999999999"}));
        assert_eq!(fake.users().len(), 1, "nothing applied");

        // The holder itself may keep (re-send) its phone.
        let reply = post_users(
            &fake,
            json!([{"id": "holder", "name": "Renamed", "phone": "79999999999"}]),
        )
        .await;
        assert_eq!(reply.status, 200);
        assert_eq!(fake.user("holder").unwrap().name, "Renamed");

        // Checked against the state before the request: a swap in one request is rejected.
        fake.insert_user(user("second", "Second", Some("78888888888")));
        let reply = post_users(
            &fake,
            json!([
                {"id": "holder", "name": "H", "phone": "78888888888"},
                {"id": "second", "name": "S", "phone": "79999999999"},
            ]),
        )
        .await;
        reply.assert_error(400, "DUPLICATE_PHONE_NUMBER");

        // A dropped (malformed) phone cannot clash.
        let reply = post_users(
            &fake,
            json!([{"id": "x", "name": "X", "phone": "+79999999999"}]),
        )
        .await;
        assert_eq!(reply.status, 200);
    }

    #[tokio::test]
    async fn duplicate_phone_within_one_request_is_rejected() {
        let fake = fake().await;
        let body = post_users(
            &fake,
            json!([
                {"id": "a", "name": "A", "phone": "79261234567"},
                {"id": "b", "name": "B", "phone": "79261234567"},
            ]),
        )
        .await
        .assert_error(400, "DUPLICATE_PHONE_NUMBER");
        assert_eq!(body["data"], json!({"phone": "79261234567"}));
        assert!(fake.users().is_empty());
    }

    #[tokio::test]
    async fn user_limit_counts_distinct_users_after_applying() {
        let fake = fake().await;
        fake.set_user_limit(3);
        seed(&fake, 2);
        let body = post_users(
            &fake,
            json!([{"id": "n1", "name": "N1"}, {"id": "n2", "name": "N2"}]),
        )
        .await
        .assert_error(400, "USER_LIMIT_EXCEEDED");
        assert_eq!(body["data"], json!({"limit": 3}));
        assert_eq!(fake.users().len(), 2, "nothing applied");

        // Updates of known users do not count against the limit.
        let reply = post_users(
            &fake,
            json!([
                {"id": "u0000", "name": "Updated"},
                {"id": "u0001", "name": "Updated"},
                {"id": "n1", "name": "N1"},
            ]),
        )
        .await;
        assert_eq!(reply.status, 200);
        assert_eq!(fake.users().len(), 3);
    }

    #[tokio::test]
    async fn default_user_limit_is_1000() {
        let fake = fake().await;
        seed(&fake, 1000);
        let body = post_users(&fake, json!([{"id": "one-more", "name": "X"}]))
            .await
            .assert_error(400, "USER_LIMIT_EXCEEDED");
        assert_eq!(body["data"], json!({"limit": 1000}));
    }
}
