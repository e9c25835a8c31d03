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
