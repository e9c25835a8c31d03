//! `list` and `get`: Wazzup's users, as a table or JSON.

use std::fmt::Write as _;

use clap::ArgMatches;
use serde_json::json;

use crate::args::Cli;
use crate::failure::{Failure, apply_failure, exit};
use crate::output::{Output, table};
use crate::remote::{Remote, key_source};

pub async fn run_list(cli: &Cli, matches: &ArgMatches, out: Output) -> Result<u8, Failure> {
    let remote = Remote::connect(cli, key_source(cli, matches)?, Default::default(), None).await?;
    let mut session = remote.session().await?;
    let users = session.list_users().await.map_err(|e| apply_failure(&e))?;
    if out.json {
        out.json_doc(&serde_json::to_value(&users).unwrap_or_default());
        return Ok(exit::OK);
    }
    let mut rows = vec![vec!["ID".to_owned(), "NAME".to_owned()]];
    rows.extend(users.iter().map(|u| vec![u.id.clone(), u.name.clone()]));
    let mut text = table(&rows);
    let _ = writeln!(
        text,
        "({} user{})",
        users.len(),
        if users.len() == 1 { "" } else { "s" }
    );
    out.stdout(&text);
    Ok(exit::OK)
}

pub async fn run_get(
    cli: &Cli,
    matches: &ArgMatches,
    out: Output,
    id: &str,
) -> Result<u8, Failure> {
    let remote = Remote::connect(cli, key_source(cli, matches)?, Default::default(), None).await?;
    let mut session = remote.session().await?;
    let user = session.get_user(id).await.map_err(|e| apply_failure(&e))?;
    let Some(user) = user else {
        return Err(Failure::new(
            exit::NOT_FOUND,
            "NOT_FOUND",
            format!("Wazzup has no user with the id \"{id}\""),
        )
        .detail("id", json!(id)));
    };
    if out.json {
        out.json_doc(&json!({"id": user.id, "name": user.name, "phone": user.phone}));
        return Ok(exit::OK);
    }
    let rows = vec![
        vec!["id".to_owned(), user.id.clone()],
        vec!["name".to_owned(), user.name.clone()],
        vec![
            "phone".to_owned(),
            user.phone.clone().unwrap_or_else(|| "-".into()),
        ],
    ];
    out.stdout(&table(&rows));
    Ok(exit::OK)
}
