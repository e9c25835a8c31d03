//! Reading a Keycloak realm's users through its Admin REST API: a token by the client
//! credentials grant (a confidential client whose service account has `view-users`, and
//! `view-realm` when the rules name realm roles), `GET
//! /admin/realms/{realm}/users` 100 at a time (`first`/`max`), and, when the seat rules name
//! them, each group's direct members (`group-by-path`, then `members`) and each realm role's
//! users (`roles/{name}/users`), so that a person's `group` and `role` facts are known.

use std::collections::{HashMap, HashSet};

use secrecy::ExposeSecret;
use serde_json::Value;
use url::Url;

use super::person::{is_service_account, person};
use super::{CLIENT_ID, CLIENT_SECRET, PHONE_ATTRIBUTE, REALM, URL};
use crate::credentials::{SecretError, SecretFields};
use crate::domain::SeatRules;
use crate::sources::contract::{DirectoryError, Person};
use crate::sources::oauth;
use crate::sources::users_api::{MAX_PAGES, get_json, safe_url, text};

/// Users read a page (Keycloak's own default is 100).
const PAGE: usize = 100;

struct Api {
    base: Url,
    realm: String,
    token: secrecy::SecretString,
}

impl Api {
    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<Url, DirectoryError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|_| DirectoryError::NotConfigured(URL))?
            .pop_if_empty()
            .extend(["admin", "realms", &self.realm])
            .extend(segments);
        url.query_pairs_mut().extend_pairs(query);
        Ok(url)
    }

    async fn get(&self, http: &reqwest::Client, url: Url) -> Result<Value, DirectoryError> {
        get_json(|| {
            http.get(url.clone())
                .bearer_auth(self.token.expose_secret())
        })
        .await
    }

    /// Every item of a list read `first`/`max` at a time, until a page comes back short.
    async fn pages(
        &self,
        http: &reqwest::Client,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<Vec<Value>, DirectoryError> {
        let mut all = Vec::new();
        for page in 0..MAX_PAGES {
            let first = (page * PAGE).to_string();
            let max = PAGE.to_string();
            let mut pairs = query.to_vec();
            pairs.extend([("first", first.as_str()), ("max", max.as_str())]);
            let Value::Array(items) = self.get(http, self.url(segments, &pairs)?).await? else {
                return Err(DirectoryError::BadAnswer(
                    "expected a JSON array of users".into(),
                ));
            };
            let short = items.len() < PAGE;
            all.extend(items);
            if short {
                return Ok(all);
            }
        }
        Err(DirectoryError::BadAnswer(format!(
            "the list did not end after {MAX_PAGES} pages"
        )))
    }

    /// The ids of a list's users.
    async fn ids(
        &self,
        http: &reqwest::Client,
        segments: &[&str],
    ) -> Result<HashSet<String>, DirectoryError> {
        let users = self
            .pages(http, segments, &[("briefRepresentation", "true")])
            .await?;
        Ok(users.iter().filter_map(|u| text(u.get("id"))).collect())
    }
}

fn invalid(message: String) -> DirectoryError {
    DirectoryError::Secret(SecretError::Invalid(message))
}

/// Every user of the realm, each with its facts for `rules`.
pub async fn fetch(
    secrets: &SecretFields,
    http: &reqwest::Client,
    rules: &SeatRules,
) -> Result<Vec<Person>, DirectoryError> {
    let required = |field: &'static str| -> Result<String, DirectoryError> {
        secrets
            .text(field)?
            .map(|v| v.expose_secret().to_owned())
            .ok_or(DirectoryError::NotConfigured(field))
    };
    let base = safe_url(URL, &required(URL)?).map_err(invalid)?;
    let realm = required(REALM)?;
    let client_id = required(CLIENT_ID)?;
    let client_secret = secrets
        .text(CLIENT_SECRET)?
        .ok_or(DirectoryError::NotConfigured(CLIENT_SECRET))?;
    let phone_attribute = secrets.text(PHONE_ATTRIBUTE)?.map_or_else(
        || "phoneNumber".to_owned(),
        |a| a.expose_secret().to_owned(),
    );

    let mut token_url = base.clone();
    token_url
        .path_segments_mut()
        .map_err(|_| DirectoryError::NotConfigured(URL))?
        .pop_if_empty()
        .extend(["realms", &realm, "protocol", "openid-connect", "token"]);
    let credential = format!(
        "keycloak {token_url} {client_id} {}",
        client_secret.expose_secret()
    );
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client_id.as_str()),
        ("client_secret", client_secret.expose_secret()),
    ];
    let token = || oauth::token(&credential, http, token_url.as_str(), &form);
    let read = |token| {
        let api = Api {
            base: base.clone(),
            realm: realm.clone(),
            token,
        };
        let phone_attribute = phone_attribute.as_str();
        async move { read(&api, http, rules, phone_attribute).await }
    };
    oauth::with_token(&credential, token, read).await
}

/// The realm's users, each with the facts `rules` need: first the members of the groups and
/// the users of the realm roles they name.
async fn read(
    api: &Api,
    http: &reqwest::Client,
    rules: &SeatRules,
    phone_attribute: &str,
) -> Result<Vec<Person>, DirectoryError> {
    let groups = rules.values_of("group");
    let mut group_members: HashMap<&str, HashSet<String>> = HashMap::new();
    for path in &groups {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut lookup = vec!["group-by-path"];
        lookup.extend(&segments);
        let group = api
            .get(http, api.url(&lookup, &[])?)
            .await
            .map_err(|e| match e {
                DirectoryError::Refused { status: 404, .. } => DirectoryError::Rules(format!(
                    "the seat rules name the group \"{path}\", which the realm does not have"
                )),
                other => other,
            })?;
        let id = text(group.get("id"))
            .ok_or_else(|| DirectoryError::BadAnswer(format!("the group \"{path}\" has no id")))?;
        group_members.insert(path, api.ids(http, &["groups", &id, "members"]).await?);
    }
    let roles = rules.values_of("role");
    let mut role_users: HashMap<&str, HashSet<String>> = HashMap::new();
    for role in &roles {
        let ids = api
            .ids(http, &["roles", role, "users"])
            .await
            .map_err(|e| match e {
                DirectoryError::Refused { status: 404, .. } => DirectoryError::Rules(format!(
                    "the seat rules name the realm role \"{role}\", which the realm does not have"
                )),
                other => other,
            })?;
        role_users.insert(role, ids);
    }

    let users = api
        .pages(http, &["users"], &[("briefRepresentation", "false")])
        .await?;
    let has = |map: &HashMap<&str, HashSet<String>>, names: &[&str], id: &str| -> Vec<String> {
        names
            .iter()
            .filter(|n| map.get(*n).is_some_and(|ids| ids.contains(id)))
            .map(|n| (*n).to_owned())
            .collect()
    };
    Ok(users
        .iter()
        .filter_map(Value::as_object)
        .filter(|user| !is_service_account(user))
        .filter_map(|user| {
            let id = text(user.get("id"))?;
            let in_groups = has(&group_members, &groups, &id);
            let in_roles = has(&role_users, &roles, &id);
            let in_groups: Vec<&str> = in_groups.iter().map(String::as_str).collect();
            let in_roles: Vec<&str> = in_roles.iter().map(String::as_str).collect();
            Some(person(&id, user, phone_attribute, &in_groups, &in_roles))
        })
        .collect())
}
