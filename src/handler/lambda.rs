//! The HTTP function under the Lambda runtime, with its event parsed once. lambda_http tries the
//! event shapes it knows in turn, API Gateway REST first, so a Function URL or HTTP API event
//! (payload `"version": "2.0"`, what the template deploys) is parsed twice, once to fail; here
//! such an event is read as what it says it is, and anything else still goes through
//! lambda_http's own reading, so every shape lambda_http accepts is accepted as before.
//! `lambda_http::Adapter`, which turns the event into an `http::Request` and the answer into
//! the shape the event's origin expects, is public but left out of lambda_http's docs: an
//! upgrade that changes it fails to compile here, and `tests/cargo_lambda.rs` runs every event
//! in `events/` (REST and Function URL) through the built function.

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Request, service_fn};
use lambda_runtime::tower::ServiceExt;
use lambda_runtime::{LambdaEvent, Runtime};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::App;

/// One HTTP event as lambda_http knows it, read in one pass when it names its payload version.
pub struct HttpEvent(LambdaRequest);

impl HttpEvent {
    pub fn into_inner(self) -> LambdaRequest {
        self.0
    }
}

/// The payload version, read without the rest of the event.
#[derive(Deserialize)]
struct Version<'a> {
    #[serde(borrow, default)]
    version: Option<std::borrow::Cow<'a, str>>,
}

impl<'de> Deserialize<'de> for HttpEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        let text = raw.get();
        let version = serde_json::from_str::<Version>(text).map_err(D::Error::custom)?;
        if version.version.as_deref() == Some("2.0")
            && let Ok(event) = serde_json::from_str::<ApiGatewayV2httpRequest>(text)
        {
            return Ok(Self(LambdaRequest::ApiGatewayV2(event)));
        }
        serde_json::from_str::<LambdaRequest>(text)
            .map(Self)
            .map_err(D::Error::custom)
    }
}

/// Serves `app` until the runtime stops: lambda_http's adapter (the event as an
/// `http::Request`, the answer in the shape its origin expects) over [`HttpEvent`]. Without
/// lambda_runtime's tracing layer: [`App::handle`]'s own span carries the request id, and a
/// second span per invocation would add CPU and nothing to the log lines.
pub async fn run(app: Arc<App>) -> Result<(), lambda_runtime::Error> {
    let adapter = Adapter::from(service_fn(move |request: Request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Infallible>(app.handle(request).await) }
    }));
    let service = adapter.map_request(|event: LambdaEvent<HttpEvent>| {
        LambdaEvent::new(event.payload.into_inner(), event.context)
    });
    Runtime::new(service).run().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::request::RequestOrigin;

    fn origin(text: &str) -> RequestOrigin {
        serde_json::from_str::<HttpEvent>(text)
            .unwrap()
            .into_inner()
            .request_origin()
    }

    #[test]
    fn function_url_events_read_as_http_api_events() {
        let text = include_str!("../../events/employee-created.json");
        assert!(matches!(origin(text), RequestOrigin::ApiGatewayV2));
        let ours = serde_json::from_str::<HttpEvent>(text)
            .unwrap()
            .into_inner();
        let theirs = serde_json::from_str::<LambdaRequest>(text).unwrap();
        let (ours, theirs) = (Request::from(ours), Request::from(theirs));
        assert_eq!(ours.method(), theirs.method());
        assert_eq!(ours.uri(), theirs.uri());
        assert_eq!(ours.headers(), theirs.headers());
        assert_eq!(ours.body().as_ref(), theirs.body().as_ref());
    }

    #[test]
    fn rest_api_events_still_read_as_rest_api_events() {
        let text = include_str!("../../events/api-gateway-rest-v1.json");
        assert!(matches!(origin(text), RequestOrigin::ApiGatewayV1));
    }

    #[test]
    fn what_is_no_http_event_is_refused() {
        for text in [r#"{"Records": []}"#, "[]", "42"] {
            assert!(serde_json::from_str::<HttpEvent>(text).is_err(), "{text}");
        }
    }
}
