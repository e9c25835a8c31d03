//! Reading a Google Workspace's users through the Admin SDK Directory API: an access token for
//! the service account acting for an administrator, `users.list` page by page (500 a page,
//! `nextPageToken`), and, when the seat rules name groups, each group's members (nested groups
//! included) so that a person's `group` facts are known.

use std::collections::{HashMap, HashSet};

use secrecy::ExposeSecret;
use serde_json::Value;
use url::Url;

use super::jwt::ServiceAccount;
use super::person::person;
use super::{ADMIN_EMAIL, API_URL, CUSTOMER, SERVICE_ACCOUNT};
use crate::credentials::SecretFields;
use crate::domain::{SeatRules, SourceTime};
use crate::sources::contract::{DirectoryError, Person};
use crate::sources::oauth;
use crate::sources::users_api::{MAX_PAGES, get_json, safe_url, text};

const DEFAULT_API_URL: &str = "https://admin.googleapis.com";
const USER_SCOPE: &str = "https://www.googleapis.com/auth/admin.directory.user.readonly";
const GROUP_SCOPE: &str = "https://www.googleapis.com/auth/admin.directory.group.member.readonly";

/// What a run needs: where the API is, and a token for it.
struct Api {
    base: Url,
    token: secrecy::SecretString,
}

impl Api {
    /// `base` with these path segments and query pairs.
    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<Url, DirectoryError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|_| DirectoryError::NotConfigured(API_URL))?
            .pop_if_empty()
            .extend(segments);
        url.query_pairs_mut().extend_pairs(query);
        Ok(url)
    }

    /// Every item of a list, page by page (the pages' `nextPageToken` followed), each handed
    /// to `each` as its page arrives (no page is kept).
    async fn pages(
        &self,
        http: &reqwest::Client,
        segments: &[&str],
        query: &[(&str, &str)],
        items: &str,
        mut each: impl FnMut(&Value),
    ) -> Result<(), DirectoryError> {
        let mut next: Option<String> = None;
        let mut seen = HashSet::new();
        for _ in 0..MAX_PAGES {
            let mut pairs = query.to_vec();
            if let Some(token) = &next {
                pairs.push(("pageToken", token));
            }
            let url = self.url(segments, &pairs)?;
            let page = get_json(|| {
                http.get(url.clone())
                    .bearer_auth(self.token.expose_secret())
            })
            .await?;
            match page.get(items) {
                Some(Value::Array(list)) => list.iter().for_each(&mut each),
                None => {}
                Some(_) => {
                    return Err(DirectoryError::BadAnswer(format!(
                        "\"{items}\" is not a list"
                    )));
                }
            }
            match text(page.get("nextPageToken")) {
                Some(token) if !seen.insert(token.clone()) => {
                    return Err(DirectoryError::BadAnswer(
                        "the same nextPageToken came twice: the list would not end".into(),
                    ));
                }
                Some(token) => next = Some(token),
                None => return Ok(()),
            }
        }
        Err(DirectoryError::BadAnswer(format!(
            "the list did not end after {MAX_PAGES} pages"
        )))
    }
}

/// Google's refusals of the assertion, with what to do about them: `unauthorized_client` is a
/// delegation that lacks a scope (or an administrator who is not one), `invalid_grant` a key
/// Google does not know, or a clock out of step.
fn explain_refusal(error: DirectoryError, scopes: &str) -> DirectoryError {
    match error {
        DirectoryError::Refused { status, detail } if detail.contains("unauthorized_client") => {
            DirectoryError::Refused {
                status,
                detail: format!(
                    "{detail}; in the Admin console (Security > API controls > Domain-wide \
                     delegation) give the service account's client id these scopes: {}, and \
                     make {ADMIN_EMAIL} a Workspace administrator's address",
                    scopes.replace(' ', ", ")
                ),
            }
        }
        DirectoryError::Refused { status, detail } if detail.contains("invalid_grant") => {
            DirectoryError::Refused {
                status,
                detail: format!(
                    "{detail}; check that {SERVICE_ACCOUNT} is a current key of the service \
                     account (not deleted in the Cloud console) and that this machine's clock \
                     is right"
                ),
            }
        }
        other => other,
    }
}

/// Every user of the Workspace, each with its facts for `rules`.
pub async fn fetch(
    secrets: &SecretFields,
    http: &reqwest::Client,
    rules: &SeatRules,
) -> Result<Vec<Person>, DirectoryError> {
    let key = secrets
        .document(SERVICE_ACCOUNT)?
        .ok_or(DirectoryError::NotConfigured(SERVICE_ACCOUNT))?;
    let account = ServiceAccount::from_key_file(&key, SERVICE_ACCOUNT)
        .map_err(|e| DirectoryError::Secret(crate::credentials::SecretError::Invalid(e)))?;
    let admin = secrets
        .text(ADMIN_EMAIL)?
        .ok_or(DirectoryError::NotConfigured(ADMIN_EMAIL))?;
    let customer = secrets.text(CUSTOMER)?;
    let customer = customer
        .as_ref()
        .map_or("my_customer", |c| c.expose_secret());
    let base = match secrets.text(API_URL)? {
        Some(url) => safe_url(API_URL, url.expose_secret())
            .map_err(|e| DirectoryError::Secret(crate::credentials::SecretError::Invalid(e)))?,
        None => Url::parse(DEFAULT_API_URL).map_err(|_| DirectoryError::NotConfigured(API_URL))?,
    };
    let groups = rules.values_of("group");
    let scopes = if groups.is_empty() {
        USER_SCOPE.to_owned()
    } else {
        format!("{USER_SCOPE} {GROUP_SCOPE}")
    };
    let subject = admin.expose_secret();
    let assertion = account
        .assertion(subject, &scopes, SourceTime::now().millis() / 1000)
        .map_err(DirectoryError::Unreachable)?;
    let cache_key = format!(
        "google {} {subject} {scopes} {} {}",
        account.client_email,
        account.token_uri,
        key.expose_secret()
    );
    let form = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
        ("assertion", assertion.as_str()),
    ];
    let token = || async {
        oauth::token(&cache_key, http, &account.token_uri, &form)
            .await
            .map_err(|e| explain_refusal(e, &scopes))
    };
    let groups = &groups;
    let read = |token| {
        let api = Api {
            base: base.clone(),
            token,
        };
        async move { read(&api, http, rules, groups, customer).await }
    };
    oauth::with_token(&cache_key, token, read).await
}

/// The users, each with the facts `rules` need: first the members of the groups they name.
async fn read(
    api: &Api,
    http: &reqwest::Client,
    rules: &SeatRules,
    groups: &[&str],
    customer: &str,
) -> Result<Vec<Person>, DirectoryError> {
    let mut members: HashMap<&str, HashSet<String>> = HashMap::new();
    for group in groups {
        let mut ids = HashSet::new();
        api.pages(
            http,
            &["admin", "directory", "v1", "groups", group, "members"],
            &[("maxResults", "200"), ("includeDerivedMembership", "true")],
            "members",
            |member| {
                ids.extend(text(member.get("id")));
            },
        )
        .await?;
        members.insert(group, ids);
    }
    let projection = if rules.facts().iter().any(|f| f.starts_with("attribute.")) {
        "full"
    } else {
        "basic"
    };
    let mut people = Vec::new();
    api.pages(
        http,
        &["admin", "directory", "v1", "users"],
        &[
            ("customer", customer),
            ("maxResults", "500"),
            ("projection", projection),
        ],
        "users",
        |user| {
            let Some((id, user)) = user.as_object().and_then(|u| Some((text(u.get("id"))?, u)))
            else {
                return;
            };
            let of: Vec<&str> = groups
                .iter()
                .copied()
                .filter(|g| members.get(g).is_some_and(|ids| ids.contains(&id)))
                .collect();
            people.push(person(&id, user, &of));
        },
    )
    .await?;
    Ok(people)
}
