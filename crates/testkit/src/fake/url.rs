//! Reading request URLs: percent-decoding path segments and query parameters.

/// The decoded value of the first `name=value` pair in the query string; `None` if absent or empty.
pub(super) fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| {
            let value = value.replace('+', " ");
            percent_decode(&value).unwrap_or(value)
        })
        .filter(|value| !value.is_empty())
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits stays as it is.
/// `None` if the result is not UTF-8.
pub(super) fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%'
            && let Some(hex) = bytes.get(i + 1..i + 3)
            && let Some(decoded) = std::str::from_utf8(hex)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(decoded);
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use http::Method;
    use serde_json::json;

    use super::{percent_decode, query_param};
    use crate::fake::test_support::{call, fake, user};

    #[tokio::test]
    async fn ids_in_paths_are_percent_decoded() {
        let fake = fake().await;
        let odd_id = "a/b c?d#é%";
        fake.insert_user(user(odd_id, "Odd", None));
        let path = "/v3/users/a%2Fb%20c%3Fd%23%C3%A9%25";
        let reply = call(&fake, Method::GET, path, None).await;
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(reply.json()["id"], json!(odd_id));
        assert_eq!(fake.requests()[0].path, path, "recorded raw");
        let reply = call(&fake, Method::DELETE, path, None).await;
        assert_eq!(reply.status, 200);
        assert!(fake.users().is_empty());
        assert_eq!(percent_decode("100%").as_deref(), Some("100%"));
        assert_eq!(percent_decode("%zz%4").as_deref(), Some("%zz%4"));
        assert_eq!(percent_decode("%ff"), None);
    }

    #[test]
    fn query_param_reads_the_named_pair() {
        assert_eq!(
            query_param(Some("a=1&offset=20"), "offset").as_deref(),
            Some("20")
        );
        assert_eq!(query_param(Some("offset="), "offset"), None);
        assert_eq!(query_param(Some("offsets=3"), "offset"), None);
        assert_eq!(query_param(None, "offset"), None);
        assert_eq!(
            query_param(Some("offset=%31"), "offset").as_deref(),
            Some("1")
        );
    }
}
