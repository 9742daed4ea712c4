//! Where an OpenAI-compatible server lives, for both its users: the agent's chat model and the
//! assistant's embeddings. A leaf: it imports nothing of the crate but the secret type, so
//! neither user depends on the other.

use std::time::Duration;

use async_openai::config::OpenAIConfig;

use crate::secret::Secret;

/// Where the model lives (`OPENAI_BASE_URL`, `OPENAI_API_KEY`, `OPENAI_MODEL`).
#[derive(Clone, Debug)]
pub struct ModelSettings {
    pub base_url: String,
    pub api_key: Secret<String>,
    pub model: String,
}

impl ModelSettings {
    /// An async-openai client for this server. Base URL and key are set explicitly so a stray
    /// OPENAI_* variable in a developer's shell cannot redirect traffic in tests.
    pub fn client(&self, timeout: Duration) -> reqwest::Result<async_openai::Client<OpenAIConfig>> {
        let http = crate::http::http_client(timeout)?;
        let config = OpenAIConfig::new()
            .with_api_base(self.base_url.trim_end_matches('/'))
            .with_api_key(self.api_key.expose().as_str());
        Ok(async_openai::Client::with_config(config).with_http_client(http))
    }
}
