//! Property tests for the parsers that read untrusted bytes: whatever arrives, they answer
//! without panicking, and what they accept satisfies Wazzup's rules.

use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use serde_json::json;
use wazzup_user_sync::domain::{EventBatch, MAX_FIELD_CHARS, Phone, PhoneRegion, SyncEvent};
use wazzup_user_sync::sources::generic::format as generic;
use wazzup_user_sync::sources::generic::signature::{
    WebhookCredentials, WebhookSecret, authenticate,
};

fn check_accepted(batch: &EventBatch) {
    for event in &batch.events {
        let id = event.event.id().as_str();
        assert!(!id.is_empty() && id.chars().count() <= MAX_FIELD_CHARS && id.trim() == id);
        if let SyncEvent::Upsert(user) = &event.event {
            let name = user.name.as_str();
            assert!(!name.is_empty() && name.chars().count() <= MAX_FIELD_CHARS);
            if let Some(phone) = &user.phone {
                assert!(phone.as_str().bytes().all(|b| b.is_ascii_digit()));
                assert!((7..=15).contains(&phone.as_str().len()), "{phone:?}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_bytes_are_answered_without_panicking(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(batch) = generic::parse(&body, PhoneRegion::default(), 1000, &Default::default()) {
            check_accepted(&batch);
        }
    }

    #[test]
    fn any_event_shaped_json_is_accepted_only_when_valid(
        kind in prop_oneof![
            Just("employee.created".to_string()),
            Just("employee.updated".to_string()),
            Just("employee.deleted".to_string()),
            ".{0,20}",
        ],
        id in ".{0,220}",
        name in ".{0,220}",
        phone in prop_oneof![Just(None), "[+0-9 ()-]{0,20}".prop_map(Some), ".{0,20}".prop_map(Some)],
    ) {
        let body = json!({"events": [{"event": kind, "employee": {"id": id, "name": name, "phone": phone}}]});
        let batch = generic::parse(body.to_string().as_bytes(), PhoneRegion::default(), 1000, &Default::default()).unwrap();
        prop_assert_eq!(batch.events.len() + batch.rejected.len(), 1);
        check_accepted(&batch);
    }

    #[test]
    fn phone_parsing_gives_digits_or_an_error(raw in ".{0,40}") {
        if let Ok(phone) = Phone::parse(&raw, PhoneRegion::default().0) {
            prop_assert!(phone.as_str().bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn arbitrary_auth_headers_never_authenticate_or_panic(
        id in "[ -~]{0,40}",
        ts in "[ -~]{0,20}",
        sig in "[ -~]{0,120}",
        auth in "[ -~]{0,80}",
        body in proptest::collection::vec(any::<u8>(), 0..128),
    ) {
        let credentials = WebhookCredentials {
            secrets: vec![WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap()],
            tokens: vec!["a-token-nobody-guesses-0123456789".to_string().into()],
        };
        let mut headers = HeaderMap::new();
        for (name, value) in [("webhook-id", &id), ("webhook-timestamp", &ts), ("webhook-signature", &sig), ("authorization", &auth)] {
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.insert(HeaderName::from_static(name), value);
            }
        }
        prop_assert!(authenticate(&credentials, false, &headers, &body, 1_700_000_000).is_err());
    }
}

/// Any JSON value, a few levels deep (the shapes a users API may answer with).
fn any_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        "[ -~]{0,12}".prop_map(Value::String),
        "\\PC{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z~/0-9]{0,4}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A JSON Pointer-ish text: mostly valid, sometimes not.
fn pointer_text() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::collection::vec("[a-z~01/]{0,4}", 0..5)
            .prop_map(|tokens| tokens.iter().map(|t| format!("/{t}")).collect::<String>()),
        "\\PC{0,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_text_is_read_as_a_json_pointer_or_refused_and_any_json_is_walked(
        text in pointer_text(),
        value in any_json(),
    ) {
        use wazzup_user_sync::sources::custom::recipe::Pointer;
        match Pointer::parse(&text, "p") {
            Ok(pointer) => {
                prop_assert!(text.is_empty() || text.starts_with('/'));
                prop_assert!(text.chars().count() <= 256);
                // Whatever it finds is part of the value.
                if let Some(found) = pointer.find(&value) {
                    prop_assert!(found.to_string().len() <= value.to_string().len());
                }
            }
            Err(message) => prop_assert!(message.contains("JSON Pointer")),
        }
    }

    #[test]
    fn any_user_json_is_mapped_without_panicking_into_a_bounded_person(
        user in any_json(),
        id in pointer_text(),
        name in pointer_text(),
        fact in pointer_text(),
        each in pointer_text(),
    ) {
        use wazzup_user_sync::sources::custom::{mapping, recipe::Recipe};
        let recipe = json!({
            "url": "https://crm.example.com/users", "id": id, "name": [name, "/last"],
            "phone": "/phone", "active": "/active", "inactive": "/archived",
            "facts": {"group": {"each": each, "value": fact.clone()}, "department": fact},
        });
        let Ok(recipe) = Recipe::parse(&recipe.to_string(), "customUsersApi") else {
            return Ok(());
        };
        let size = user.to_string().len();
        if let Some(person) = mapping::person(&user, &recipe) {
            prop_assert!(!person.row.id.is_empty() && person.row.id.trim() == person.row.id);
            prop_assert!(person.row.id.len() <= size);
            prop_assert!(person.row.name.as_ref().is_none_or(|n| n.len() <= 2 * size));
            for fact in ["group", "department"] {
                prop_assert!(person.facts.knows(fact));
                prop_assert!(person.facts.values(fact).len() <= size);
            }
        }
    }

    #[test]
    fn any_text_is_a_recipe_or_a_clear_refusal(text in "\\PC{0,200}") {
        use wazzup_user_sync::sources::custom::recipe::Recipe;
        if let Err(message) = Recipe::parse(&text, "customUsersApi") {
            prop_assert!(message.contains("customUsersApi"));
        }
    }

    #[test]
    fn any_json_is_seat_rules_or_a_clear_refusal_and_any_facts_are_decided(
        rules in any_json(),
        facts in proptest::collection::vec(("[a-z]{1,3}", proptest::collection::vec("[ -~]{0,6}", 0..3)), 0..6),
    ) {
        use wazzup_user_sync::domain::{Facts, SeatPolicy};
        let text = json!({"generic": rules}).to_string();
        if let Ok(policy) = SeatPolicy::parse(&text) {
            let mut known = Facts::new();
            for (name, values) in &facts {
                known.know(name);
                for value in values {
                    known.add(name, value);
                }
            }
            let rules = policy.rules("generic");
            // Decided, or undecided on a fact the rules name and the person does not carry.
            match rules.decide(&known) {
                Ok(admitted) => prop_assert_eq!(admitted, rules.admits(&known)),
                Err(fact) => {
                    prop_assert!(rules.facts().contains(&fact));
                    prop_assert!(!known.knows(fact));
                }
            }
        }
    }
}
