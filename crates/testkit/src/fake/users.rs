//! `GET /v3/users`, `GET` and `DELETE /v3/users/{id}`, and `PATCH /v3/users/bulk_delete`.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::{Value, json};

use super::limits::PAGE_SIZE;
use super::respond::{error, ok_json, user_not_found};
use super::state::{State, StoredUser};
use super::types::ListShape;
use super::url::query_param;

pub(super) fn list_users(st: &State, query: Option<&str>) -> Response {
    let mut rows: Vec<(&String, &StoredUser)> = st.users.iter().collect();
    rows.sort_by(|a, b| a.1.name.cmp(&b.1.name).then_with(|| a.0.cmp(b.0)));
    let row = |(id, user): &(&String, &StoredUser)| json!({"id": id, "name": user.name});
    match st.list_shape {
        ListShape::BareArray => ok_json(&Value::Array(rows.iter().map(row).collect())),
        ListShape::Paged => {
            let offset = match query_param(query, "offset") {
                None => 0,
                Some(raw) => match raw.parse::<usize>() {
                    Ok(offset) => offset,
                    Err(_) => {
                        return error(
                            StatusCode::BAD_REQUEST,
                            "VALIDATION_ERROR",
                            "`offset` must be a non-negative integer.",
                            Some(json!({"offset": raw})),
                        );
                    }
                },
            };
            let data: Vec<Value> = rows.iter().skip(offset).take(PAGE_SIZE).map(row).collect();
            ok_json(&json!({"count": rows.len(), "data": data}))
        }
    }
}

pub(super) fn get_user(st: &State, id: &str) -> Response {
    match st.users.get(id) {
        Some(user) => {
            let mut body = json!({"id": id, "name": user.name});
            if let (Some(phone), Value::Object(map)) = (&user.phone, &mut body) {
                map.insert("phone".to_owned(), Value::String(phone.clone()));
            }
            ok_json(&body)
        }
        None => user_not_found(id),
    }
}

pub(super) fn delete_user(st: &mut State, id: &str) -> Response {
    match st.users.remove(id) {
        Some(_) => StatusCode::OK.into_response(),
        None => user_not_found(id),
    }
}

pub(super) fn bulk_delete(st: &mut State, body: &[u8]) -> Response {
    let ids: Option<Vec<String>> = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|value| match value {
            Value::Array(items) => items
                .into_iter()
                .map(|item| match item {
                    Value::String(id) => Some(id),
                    _ => None,
                })
                .collect(),
            _ => None,
        });
    let Some(ids) = ids else {
        return error(
            StatusCode::BAD_REQUEST,
            "INVALID_USERS_DATA",
            "The body must be a JSON array of user ids (strings).",
            None,
        );
    };
    let mut unknown: Vec<String> = Vec::new();
    for id in &ids {
        if !st.users.contains_key(id) && !unknown.contains(id) {
            unknown.push(id.clone());
        }
    }
    for id in &ids {
        st.users.remove(id);
    }
    ok_json(&Value::Array(
        unknown.into_iter().map(Value::String).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use http::Method;
    use serde_json::json;

    use crate::fake::test_support::{call, fake, seed, user};
    use crate::fake::types::ListShape;

    // --- GET /v3/users --------------------------------------------------------------------

    #[tokio::test]
    async fn bare_list_is_sorted_by_name_then_id_without_phones() {
        let fake = fake().await;
        fake.insert_user(user("3", "Bob", Some("79261234567")));
        fake.insert_user(user("2", "Alice", None));
        fake.insert_user(user("1", "Bob", None));
        let reply = call(&fake, Method::GET, "/v3/users", None).await;
        assert_eq!(reply.status, 200);
        assert_eq!(
            reply.json(),
            json!([
                {"id": "2", "name": "Alice"},
                {"id": "1", "name": "Bob"},
                {"id": "3", "name": "Bob"},
            ])
        );
        // The bare shape ignores offset.
        let reply = call(&fake, Method::GET, "/v3/users?offset=2", None).await;
        assert_eq!(reply.json().as_array().unwrap().len(), 3);
    }

    #[tokio::test]
    async fn paged_list_pages_by_100_with_offset() {
        let fake = fake().await;
        fake.set_list_shape(ListShape::Paged);
        seed(&fake, 250);
        let page = |offset: Option<usize>| {
            let fake = &fake;
            async move {
                let path = match offset {
                    Some(o) => format!("/v3/users?offset={o}"),
                    None => "/v3/users".to_owned(),
                };
                let reply = call(fake, Method::GET, &path, None).await;
                assert_eq!(reply.status, 200);
                reply.json()
            }
        };
        let first = page(None).await;
        assert_eq!(first["count"], json!(250));
        let data = first["data"].as_array().unwrap();
        assert_eq!(data.len(), 100);
        assert_eq!(data[0], json!({"id": "u0000", "name": "User 0000"}));
        assert_eq!(page(Some(0)).await, first);

        let second = page(Some(100)).await;
        assert_eq!(second["data"].as_array().unwrap().len(), 100);
        assert_eq!(second["data"][0]["id"], json!("u0100"));
        let third = page(Some(200)).await;
        assert_eq!(third["count"], json!(250));
        assert_eq!(third["data"].as_array().unwrap().len(), 50);
        assert_eq!(third["data"][49]["id"], json!("u0249"));
        let odd = page(Some(245)).await;
        assert_eq!(odd["data"][0]["id"], json!("u0245"));
        let past = page(Some(1000)).await;
        assert_eq!(past, json!({"count": 250, "data": []}));

        let reply = call(&fake, Method::GET, "/v3/users?offset=-1", None).await;
        reply.assert_error(400, "VALIDATION_ERROR");
        let reply = call(&fake, Method::GET, "/v3/users?offset=abc", None).await;
        reply.assert_error(400, "VALIDATION_ERROR");
    }

    #[tokio::test]
    async fn paged_list_of_nobody() {
        let fake = fake().await;
        fake.set_list_shape(ListShape::Paged);
        let reply = call(&fake, Method::GET, "/v3/users", None).await;
        assert_eq!(reply.json(), json!({"count": 0, "data": []}));
        fake.set_list_shape(ListShape::BareArray);
        let reply = call(&fake, Method::GET, "/v3/users", None).await;
        assert_eq!(reply.json(), json!([]));
    }

    // --- GET / DELETE /v3/users/{id} ------------------------------------------------------

    #[tokio::test]
    async fn get_one_user_with_and_without_phone() {
        let fake = fake().await;
        fake.insert_user(user("with", "With Phone", Some("79261234567")));
        fake.insert_user(user("without", "No Phone", None));
        let reply = call(&fake, Method::GET, "/v3/users/with", None).await;
        assert_eq!(reply.status, 200);
        assert_eq!(
            reply.json(),
            json!({"id": "with", "name": "With Phone", "phone": "79261234567"})
        );
        let reply = call(&fake, Method::GET, "/v3/users/without", None).await;
        assert_eq!(reply.json(), json!({"id": "without", "name": "No Phone"}));
        let reply = call(&fake, Method::GET, "/v3/users/nobody", None).await;
        reply.assert_error(404, "USER_NOT_FOUND");
    }

    #[tokio::test]
    async fn delete_existing_then_unknown() {
        let fake = fake().await;
        fake.insert_user(user("a", "A", None));
        fake.insert_user(user("b", "B", None));
        let reply = call(&fake, Method::DELETE, "/v3/users/a", None).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body, "");
        assert_eq!(fake.users(), vec![user("b", "B", None)]);
        let reply = call(&fake, Method::DELETE, "/v3/users/a", None).await;
        reply.assert_error(404, "USER_NOT_FOUND");
    }

    // --- PATCH /v3/users/bulk_delete ------------------------------------------------------

    #[tokio::test]
    async fn bulk_delete_reports_unknown_ids() {
        let fake = fake().await;
        seed(&fake, 3);
        let reply = call(
            &fake,
            Method::PATCH,
            "/v3/users/bulk_delete",
            Some(json!([
                "u0000", "ghost", "u0001", "ghost", "u0000", "phantom"
            ])),
        )
        .await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.json(), json!(["ghost", "phantom"]));
        assert_eq!(fake.users(), vec![user("u0002", "User 0002", None)]);

        let reply = call(
            &fake,
            Method::PATCH,
            "/v3/users/bulk_delete",
            Some(json!(["u0002"])),
        )
        .await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.json(), json!([]));
        assert!(fake.users().is_empty());

        let reply = call(
            &fake,
            Method::PATCH,
            "/v3/users/bulk_delete",
            Some(json!([])),
        )
        .await;
        assert_eq!(reply.json(), json!([]));
    }

    #[tokio::test]
    async fn bulk_delete_rejects_a_body_that_is_not_an_array_of_strings() {
        let fake = fake().await;
        seed(&fake, 1);
        for body in [
            json!({"ids": ["u0000"]}),
            json!(["u0000", 5]),
            json!("u0000"),
        ] {
            let reply = call(&fake, Method::PATCH, "/v3/users/bulk_delete", Some(body)).await;
            reply.assert_error(400, "INVALID_USERS_DATA");
        }
        let reply = call(&fake, Method::PATCH, "/v3/users/bulk_delete", None).await;
        reply.assert_error(400, "INVALID_USERS_DATA");
        assert_eq!(fake.users().len(), 1, "nothing deleted");
    }
}
