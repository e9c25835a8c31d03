//! Reading a custom users API by its recipe: the credential sent as the recipe says, page after
//! page as it pages (bounded), each page's list read through the list pointer. A next link is
//! followed only on the recipe's own origin, so that the credential never goes elsewhere.

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;

use super::mapping::person;
use super::recipe::{Auth, Paging, Recipe};
use super::{API_PASSWORD, API_TOKEN, API_USER};
use crate::credentials::SecretFields;
use crate::sources::contract::{DirectoryError, Person};
use crate::sources::users_api::{MAX_PAGES, get_page, text};

/// The credential the recipe's auth needs, read from the secret.
enum Credential {
    Token(SecretString),
    Basic(String, SecretString),
    None,
}

fn credential(recipe: &Recipe, secrets: &SecretFields) -> Result<Credential, DirectoryError> {
    let token = || {
        secrets
            .text(API_TOKEN)?
            .ok_or(DirectoryError::NotConfigured(API_TOKEN))
    };
    Ok(match recipe.auth {
        Auth::None => Credential::None,
        Auth::Basic => Credential::Basic(
            secrets
                .text(API_USER)?
                .ok_or(DirectoryError::NotConfigured(API_USER))?
                .expose_secret()
                .to_owned(),
            secrets
                .text(API_PASSWORD)?
                .ok_or(DirectoryError::NotConfigured(API_PASSWORD))?,
        ),
        _ => Credential::Token(token()?),
    })
}

/// `error` with the credential masked where an API echoed it (a query parameter in an error
/// text that repeats the URL).
fn without_secret(error: DirectoryError, credential: &Credential) -> DirectoryError {
    let secret = match credential {
        Credential::Token(token) => token.expose_secret(),
        Credential::Basic(_, password) => password.expose_secret(),
        Credential::None => return error,
    };
    match error {
        DirectoryError::Refused { status, detail } if !secret.is_empty() => {
            DirectoryError::Refused {
                status,
                detail: detail.replace(secret, "<credential>"),
            }
        }
        other => other,
    }
}

/// The request for `url`, carrying the credential.
fn request(
    http: &reqwest::Client,
    recipe: &Recipe,
    credential: &Credential,
    url: &Url,
) -> reqwest::RequestBuilder {
    let mut url = url.clone();
    if let (Auth::Query { name }, Credential::Token(token)) = (&recipe.auth, credential) {
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != name)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        url.query_pairs_mut()
            .clear()
            .extend_pairs(kept)
            .append_pair(name, token.expose_secret());
    }
    let builder = http
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json");
    match (&recipe.auth, credential) {
        (Auth::Bearer, Credential::Token(token)) => builder.bearer_auth(token.expose_secret()),
        (Auth::Header { name, format }, Credential::Token(token)) => builder.header(
            name.as_str(),
            format.replace("{token}", token.expose_secret()),
        ),
        (Auth::Basic, Credential::Basic(user, password)) => {
            builder.basic_auth(user, Some(password.expose_secret()))
        }
        _ => builder,
    }
}

/// The first page's URL: the recipe's, with its query and the first page's parameters.
fn first_url(recipe: &Recipe) -> Url {
    let mut url = recipe.url.clone();
    url.query_pairs_mut().extend_pairs(&recipe.query);
    url
}

/// `url` with `param` set to `value` (replacing any it had).
fn with_param(url: &Url, param: &str, value: &str) -> Url {
    let mut next = url.clone();
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != param)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    next.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair(param, value);
    next
}

/// Every person the API lists.
pub async fn fetch(
    recipe: &Recipe,
    secrets: &SecretFields,
    http: &reqwest::Client,
) -> Result<Vec<Person>, DirectoryError> {
    let credential = credential(recipe, secrets)?;
    let mut url = first_url(recipe);
    // The page size and the first page's parameters.
    let size = match &recipe.paging {
        Paging::Offset { param, size } | Paging::Page { param, size, .. } => {
            if let (Some(size_param), Some(value)) = (&size.param, size.value) {
                url = with_param(&url, size_param, &value.to_string());
            }
            let first = match &recipe.paging {
                Paging::Page { first, .. } => *first,
                _ => 0,
            };
            url = with_param(&url, param, &first.to_string());
            size.value
        }
        _ => None,
    };
    let mut people = Vec::new();
    let mut position: u64 = 0;
    // The longest page so far, and the first user's id on the last page.
    let mut longest: u64 = 0;
    let mut previous_first: Option<String> = None;
    // The cursors and links followed, each once.
    let mut followed = std::collections::HashSet::new();
    for page_number in 0..MAX_PAGES {
        let page = get_page(|| request(http, recipe, &credential, &url))
            .await
            .map_err(|e| without_secret(e, &credential))?;
        let Some(page) = page else {
            return Ok(people);
        };
        let users = match recipe.list.find(&page) {
            Some(Value::Array(users)) => users.as_slice(),
            // A last page may leave the list out (or null) rather than send it empty.
            None | Some(Value::Null) if page_number > 0 => &[],
            _ => {
                return Err(DirectoryError::BadAnswer(
                    "the answer has no list where customUsersApi.list points".into(),
                ));
            }
        };
        let count = users.len() as u64;
        // The same page again: an API that answers its last page for any page past it ends
        // there; one that ignores the paging parameter would list forever.
        let first = users.first().and_then(|user| text(recipe.id.find(user)));
        if first.is_some() && first == previous_first {
            if size.is_some_and(|s| count < s) {
                return Ok(people);
            }
            return Err(DirectoryError::BadAnswer(
                "the API gave the same page twice: check customUsersApi.paging's param".into(),
            ));
        }
        previous_first = first;
        for user in users {
            // A user the recipe cannot identify could not be kept in step: a wrong `id`
            // pointer must stop the run, not empty the list (and dismiss everyone).
            let person = person(user, recipe).ok_or_else(|| {
                DirectoryError::BadAnswer(format!(
                    "user {} of the list has no id where customUsersApi.id points",
                    people.len() + 1
                ))
            })?;
            people.push(person);
        }
        let next = match &recipe.paging {
            Paging::None => None,
            Paging::Offset { param, .. } | Paging::Page { param, .. } => {
                // A page shorter than asked is the last, unless the API gives fewer than asked
                // at most (a cap below the recipe's size): so a short page ends the list only
                // after a longer one, and the first, if short, is followed by one more read.
                let short = count == 0 || (size.is_some_and(|s| count < s) && count < longest);
                longest = longest.max(count);
                (!short).then(|| {
                    position += match &recipe.paging {
                        Paging::Offset { .. } => count,
                        _ => 1,
                    };
                    let value = match &recipe.paging {
                        Paging::Page { first, .. } => first + position,
                        _ => position,
                    };
                    with_param(&url, param, &value.to_string())
                })
            }
            Paging::Cursor { param, next } => {
                text(next.find(&page)).map(|cursor| with_param(&url, param, &cursor))
            }
            Paging::NextLink { next } => match text(next.find(&page)) {
                None => None,
                Some(link) => Some(same_origin(recipe, &url, &link)?),
            },
        };
        match next {
            Some(next) if !followed.insert(next.to_string()) => {
                return Err(DirectoryError::BadAnswer(
                    "the API named the same next page twice: the list would not end".into(),
                ));
            }
            Some(next) => url = next,
            None => return Ok(people),
        }
    }
    Err(DirectoryError::BadAnswer(format!(
        "the list did not end after {MAX_PAGES} pages"
    )))
}

/// The next link, resolved against the current page, if it stays on the recipe's origin.
fn same_origin(recipe: &Recipe, current: &Url, link: &str) -> Result<Url, DirectoryError> {
    let next = current
        .join(link)
        .map_err(|_| DirectoryError::BadAnswer("the next link is not a URL".into()))?;
    if next.origin() != recipe.url.origin() {
        return Err(DirectoryError::BadAnswer(
            "the next link leads to another host; it is not followed (the credential would go \
             there)"
                .into(),
        ));
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_echoing_the_credential_shows_it_masked() {
        let token = Credential::Token(SecretString::from("tok-ABCdef"));
        let echoed = DirectoryError::Refused {
            status: 401,
            detail: "no user for /staff?api_key=tok-ABCdef".into(),
        };
        assert_eq!(
            without_secret(echoed, &token).to_string(),
            "the CRM answered 401: no user for /staff?api_key=<credential>"
        );
    }
}
