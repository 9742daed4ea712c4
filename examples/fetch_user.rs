//! Fetch an Okta access token and print one user, against a real org.
//!
//! ```sh
//! OKTA_ORG_URL=https://acme.okta.com OKTA_CLIENT_ID=0oa... OKTA_KEY_ID=... \
//! OKTA_PRIVATE_KEY_FILE=okta.pem cargo run --example fetch_user -- someone@acme.com
//! ```
//!
//! It needs only `okta.users.read`; set `OKTA_SCOPES=okta.users.read` if the app has no more.

use std::sync::Arc;

use anyhow::{bail, Context, Result};
use okta_agent::config::Settings;
use okta_agent::okta::{ClientOptions, OktaClient};

#[tokio::main]
async fn main() -> Result<()> {
    okta_agent::install_crypto_provider();
    let login = std::env::args()
        .nth(1)
        .context("usage: fetch_user <login or email>")?;
    let settings = Settings::from_env(None, None)?;
    let Some(okta) = settings.okta else {
        bail!("set OKTA_ORG_URL, OKTA_CLIENT_ID and OKTA_PRIVATE_KEY_FILE (see README)");
    };
    let options = ClientOptions::default();
    let http = okta_agent::http::http_client(options.timeout)?;
    let tokens = okta.token_source(http.clone())?;
    let token = tokens.token().await?;
    println!(
        "token: {:?}, granted scopes: {}",
        token.kind,
        token.granted_scopes.join(" ")
    );
    let client = OktaClient::new(okta.org_url.clone(), http, Arc::new(tokens), options);
    let user = client.get_user(&login).await?;
    println!(
        "{} <{}>: {} (last login {}, request id {})",
        user.value.display_name(),
        user.value.profile.login,
        user.value.status,
        user.value.last_login.as_deref().unwrap_or("never"),
        user.request_id.as_deref().unwrap_or("-")
    );
    Ok(())
}
