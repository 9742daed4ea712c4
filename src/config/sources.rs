//! Where settings come from: which config file is in force (`--config`, `OKTA_AGENT_CONFIG`,
//! `./okta-agent.toml`, `/etc/okta-agent/okta-agent.toml`), an env file given with
//! `--env-file`, and each secret from exactly one place: its variable, its `*_FILE` variable, a
//! systemd credential in `$CREDENTIALS_DIRECTORY` under its documented name, or the config
//! file. Nothing here prints a secret: a [`SecretSource`] says where a value came from, never
//! what it is.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::secret::Secret;

/// The places searched for a config file when neither `--config` nor `OKTA_AGENT_CONFIG`
/// names one, in order.
pub const CONFIG_SEARCH: &[&str] = &["okta-agent.toml", "/etc/okta-agent/okta-agent.toml"];

/// How the config file in force was chosen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ConfigOrigin {
    /// `--config FILE`.
    Flag,
    /// `OKTA_AGENT_CONFIG`.
    Env,
    /// Found at one of [`CONFIG_SEARCH`].
    Found,
    /// No file: these places were looked at.
    #[default]
    None,
}

/// The config file to read, and how it was chosen.
pub fn choose_config(
    flag: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
    search: &[PathBuf],
) -> (Option<PathBuf>, ConfigOrigin) {
    if let Some(path) = flag {
        return (Some(path.to_path_buf()), ConfigOrigin::Flag);
    }
    if let Some(path) = env("OKTA_AGENT_CONFIG") {
        return (Some(PathBuf::from(path)), ConfigOrigin::Env);
    }
    match search.iter().find(|p| p.is_file()) {
        Some(found) => (Some(found.clone()), ConfigOrigin::Found),
        None => (None, ConfigOrigin::None),
    }
}

/// The default search list as paths.
pub fn default_search() -> Vec<PathBuf> {
    CONFIG_SEARCH.iter().map(PathBuf::from).collect()
}

/// What `check` and the start-up log say about the config file in force.
pub fn describe_config(file: Option<&Path>, origin: &ConfigOrigin) -> String {
    match (file, origin) {
        (Some(path), ConfigOrigin::Flag) => format!("{} (from --config)", path.display()),
        (Some(path), ConfigOrigin::Env) => format!("{} (from OKTA_AGENT_CONFIG)", path.display()),
        (Some(path), _) => format!("{} (found; --config or OKTA_AGENT_CONFIG would name another)", path.display()),
        (None, _) => format!(
            "none: neither --config nor OKTA_AGENT_CONFIG names one, and there is none at {}. okta-agent runs read-only: with no [policy], only read tools and help documents work",
            CONFIG_SEARCH.join(" or ")
        ),
    }
}

/// The variables of an env file (`KEY=value` lines, `#` comments, optional quotes), as
/// systemd's `EnvironmentFile=` and compose's `env_file:` read them.
pub fn read_env_file(path: &Path) -> Result<HashMap<String, String>, String> {
    let iter = dotenvy::from_path_iter(path)
        .map_err(|e| format!("env file {}: cannot read it ({e})", path.display()))?;
    let mut vars = HashMap::new();
    for item in iter {
        let (key, value) = item.map_err(|e| {
            format!(
                "env file {}: {e}; write one KEY=value per line",
                path.display()
            )
        })?;
        vars.insert(key, value);
    }
    Ok(vars)
}

/// The places one secret may be given. The environment level (`env`, `env_file`, the
/// credential) overrides the config file, like every setting; two places on one level are
/// refused, naming both.
#[derive(Clone, Copy, Debug)]
pub struct SecretSpec {
    /// What it is, for messages: "the Slack bot token".
    pub what: &'static str,
    /// The variable holding the value itself, when there is one.
    pub env: Option<&'static str>,
    /// The variable naming a file that holds it.
    pub env_file: &'static str,
    /// Its name among systemd credentials (`LoadCredential=NAME:…`) and compose secrets.
    pub credential: &'static str,
    /// The config-file key holding the value itself, when there is one.
    pub file_key: Option<&'static str>,
    /// The config-file key naming a file that holds it.
    pub file_path_key: Option<&'static str>,
}

pub const OKTA_PRIVATE_KEY: SecretSpec = SecretSpec {
    what: "the Okta private key",
    env: Some("OKTA_PRIVATE_KEY"),
    env_file: "OKTA_PRIVATE_KEY_FILE",
    credential: "okta.pem",
    file_key: Some("[okta] private_key"),
    file_path_key: Some("[okta] private_key_file"),
};

pub const AUDIT_KEY: SecretSpec = SecretSpec {
    what: "the audit key",
    env: Some("OKTA_AGENT_AUDIT_KEY"),
    env_file: "OKTA_AGENT_AUDIT_KEY_FILE",
    credential: "audit-key",
    file_key: None,
    file_path_key: Some("[audit] key_file"),
};

pub const SLACK_APP_TOKEN: SecretSpec = SecretSpec {
    what: "the Slack app token",
    env: Some("SLACK_APP_TOKEN"),
    env_file: "SLACK_APP_TOKEN_FILE",
    credential: "slack-app-token",
    file_key: Some("[slack] app_token"),
    file_path_key: Some("[slack] app_token_file"),
};

pub const SLACK_BOT_TOKEN: SecretSpec = SecretSpec {
    what: "the Slack bot token",
    env: Some("SLACK_BOT_TOKEN"),
    env_file: "SLACK_BOT_TOKEN_FILE",
    credential: "slack-bot-token",
    file_key: Some("[slack] bot_token"),
    file_path_key: Some("[slack] bot_token_file"),
};

pub const OPENAI_API_KEY: SecretSpec = SecretSpec {
    what: "the model's API key",
    env: Some("OPENAI_API_KEY"),
    env_file: "OPENAI_API_KEY_FILE",
    credential: "openai-api-key",
    file_key: Some("[llm] api_key"),
    file_path_key: Some("[llm] api_key_file"),
};

pub const DATABASE_PASSWORD: SecretSpec = SecretSpec {
    what: "the database password",
    env: None,
    env_file: "DATABASE_PASSWORD_FILE",
    credential: "db-password",
    file_key: None,
    file_path_key: Some("[store] password_file"),
};

/// Every secret okta-agent reads, for the docs and `--help`.
pub const SECRETS: &[SecretSpec] = &[
    OKTA_PRIVATE_KEY,
    AUDIT_KEY,
    SLACK_APP_TOKEN,
    SLACK_BOT_TOKEN,
    OPENAI_API_KEY,
    DATABASE_PASSWORD,
];

/// Where a secret came from (never its value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretSource {
    /// The variable holding it.
    Env(&'static str),
    /// A file named by the variable.
    EnvFile(&'static str, PathBuf),
    /// A systemd credential (or compose secret) under its documented name.
    Credential(&'static str, PathBuf),
    /// The config file's value.
    FileValue(&'static str),
    /// A file named by the config file.
    FilePath(&'static str, PathBuf),
}

impl std::fmt::Display for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Env(name) => write!(f, "{name}"),
            Self::EnvFile(name, path) => write!(f, "{name} ({})", path.display()),
            Self::Credential(name, path) => {
                write!(f, "the credential {name} ({})", path.display())
            }
            Self::FileValue(key) => write!(f, "{key} in the config file"),
            Self::FilePath(key, path) => {
                write!(f, "{key} in the config file ({})", path.display())
            }
        }
    }
}

/// A secret located: its value, or the file that holds it, and where that came from.
#[derive(Debug)]
pub enum Located {
    Value(Secret<String>, SecretSource),
    File(PathBuf, SecretSource),
}

impl Located {
    pub fn source(&self) -> &SecretSource {
        match self {
            Self::Value(_, source) | Self::File(_, source) => source,
        }
    }

    /// The secret's text: the value, or the file's contents without its final line break.
    pub fn read(self) -> Result<(Secret<String>, SecretSource), String> {
        match self {
            Self::Value(value, source) => Ok((value, source)),
            Self::File(path, source) => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("{source}: cannot read {} ({e})", path.display()))?;
                let text = text.strip_suffix('\n').unwrap_or(&text);
                let text = text.strip_suffix('\r').unwrap_or(text).to_string();
                if text.trim().is_empty() {
                    return Err(format!("{source}: {} is empty", path.display()));
                }
                Ok((Secret::new(text), source))
            }
        }
    }
}

/// Finds `spec` in the environment (its variables and `$CREDENTIALS_DIRECTORY`), or failing
/// that in the config file's `value` or `path`. Two places on one level are a problem naming
/// both, and nothing is returned.
pub fn locate(
    spec: &SecretSpec,
    env: &dyn Fn(&str) -> Option<String>,
    file_value: Option<String>,
    file_path: Option<PathBuf>,
    problems: &mut Vec<String>,
) -> Option<Located> {
    let mut found = Vec::new();
    if let Some(name) = spec.env {
        if let Some(value) = env(name) {
            found.push(Located::Value(Secret::new(value), SecretSource::Env(name)));
        }
    }
    if let Some(path) = env(spec.env_file) {
        let path = PathBuf::from(path);
        found.push(Located::File(
            path.clone(),
            SecretSource::EnvFile(spec.env_file, path),
        ));
    }
    if let Some(dir) = env("CREDENTIALS_DIRECTORY") {
        let path = Path::new(&dir).join(spec.credential);
        if path.exists() {
            found.push(Located::File(
                path.clone(),
                SecretSource::Credential(spec.credential, path),
            ));
        }
    }
    if found.is_empty() {
        if let Some(value) = file_value {
            found.push(Located::Value(
                Secret::new(value),
                SecretSource::FileValue(spec.file_key.unwrap_or("(config file)")),
            ));
        }
        if let Some(path) = file_path {
            found.push(Located::File(
                path.clone(),
                SecretSource::FilePath(spec.file_path_key.unwrap_or("(config file)"), path),
            ));
        }
    }
    match found.len() {
        0 => None,
        1 => found.pop(),
        _ => {
            let places: Vec<String> = found.iter().map(|l| l.source().to_string()).collect();
            problems.push(format!(
                "{} is given twice, by {}: keep exactly one",
                capitalized(spec.what),
                places.join(" and ")
            ));
            None
        }
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(vars: &[(&str, String)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn the_config_file_is_the_flag_then_the_variable_then_the_first_found() {
        let dir = tempfile::tempdir().unwrap();
        let here = dir.path().join("okta-agent.toml");
        let system = dir.path().join("etc-okta-agent.toml");
        let search = vec![here.clone(), system.clone()];
        let none = env_of(&[]);
        assert_eq!(
            choose_config(None, &none, &search),
            (None, ConfigOrigin::None)
        );
        std::fs::write(&system, "").unwrap();
        assert_eq!(
            choose_config(None, &none, &search),
            (Some(system.clone()), ConfigOrigin::Found)
        );
        std::fs::write(&here, "").unwrap();
        assert_eq!(
            choose_config(None, &none, &search),
            (Some(here.clone()), ConfigOrigin::Found)
        );
        let named = env_of(&[("OKTA_AGENT_CONFIG", "/x.toml".to_string())]);
        assert_eq!(
            choose_config(None, &named, &search),
            (Some(PathBuf::from("/x.toml")), ConfigOrigin::Env)
        );
        assert_eq!(
            choose_config(Some(Path::new("/y.toml")), &named, &search),
            (Some(PathBuf::from("/y.toml")), ConfigOrigin::Flag)
        );
        assert!(describe_config(None, &ConfigOrigin::None).contains("read-only"));
    }

    #[test]
    fn a_secret_comes_from_one_place_and_two_on_one_level_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let creds = dir.path().join("creds");
        std::fs::create_dir(&creds).unwrap();
        std::fs::write(creds.join("slack-bot-token"), "xoxb-from-credential\n").unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "xoxb-from-file\r\n").unwrap();
        let creds_dir = creds.display().to_string();

        // The credential alone.
        let env = env_of(&[("CREDENTIALS_DIRECTORY", creds_dir.clone())]);
        let mut problems = Vec::new();
        let (value, source) = locate(&SLACK_BOT_TOKEN, &env, None, None, &mut problems)
            .unwrap()
            .read()
            .unwrap();
        assert_eq!(value.expose(), "xoxb-from-credential");
        assert!(matches!(
            source,
            SecretSource::Credential("slack-bot-token", _)
        ));

        // The *_FILE variable alone: one final line break is not part of it.
        let env = env_of(&[("SLACK_BOT_TOKEN_FILE", file.display().to_string())]);
        let (value, _) = locate(&SLACK_BOT_TOKEN, &env, None, None, &mut problems)
            .unwrap()
            .read()
            .unwrap();
        assert_eq!(value.expose(), "xoxb-from-file");

        // The environment overrides the config file, as for every setting.
        let env = env_of(&[("SLACK_BOT_TOKEN", "xoxb-env".into())]);
        let (value, source) = locate(
            &SLACK_BOT_TOKEN,
            &env,
            Some("xoxb-toml".into()),
            None,
            &mut problems,
        )
        .unwrap()
        .read()
        .unwrap();
        assert_eq!(value.expose(), "xoxb-env");
        assert_eq!(source, SecretSource::Env("SLACK_BOT_TOKEN"));
        assert!(problems.is_empty(), "{problems:?}");

        // Twice on one level: refused, naming both places, never the value.
        let env = env_of(&[
            ("SLACK_BOT_TOKEN", "xoxb-env".into()),
            ("CREDENTIALS_DIRECTORY", creds_dir),
        ]);
        assert!(locate(&SLACK_BOT_TOKEN, &env, None, None, &mut problems).is_none());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("SLACK_BOT_TOKEN and the credential slack-bot-token"));
        assert!(!problems[0].contains("xoxb-"), "{}", problems[0]);
        problems.clear();
        let env = env_of(&[]);
        assert!(locate(
            &SLACK_BOT_TOKEN,
            &env,
            Some("xoxb-a".into()),
            Some(file),
            &mut problems
        )
        .is_none());
        assert!(
            problems[0].contains("[slack] bot_token in the config file and [slack] bot_token_file")
        );

        // An empty file is named, not used.
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let env = env_of(&[("SLACK_BOT_TOKEN_FILE", empty.display().to_string())]);
        let err = locate(&SLACK_BOT_TOKEN, &env, None, None, &mut problems)
            .unwrap()
            .read()
            .unwrap_err();
        assert!(err.contains("is empty"), "{err}");
    }

    #[test]
    fn an_env_file_reads_as_systemd_and_compose_read_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("env");
        std::fs::write(
            &path,
            "# Slack\nSLACK_BOT_TOKEN=xoxb-1-2\n\nSLACK_APP_TOKEN=\"xapp-1\"\n# OPENAI_API_KEY=\n",
        )
        .unwrap();
        let vars = read_env_file(&path).unwrap();
        assert_eq!(vars["SLACK_BOT_TOKEN"], "xoxb-1-2");
        assert_eq!(vars["SLACK_APP_TOKEN"], "xapp-1");
        assert!(!vars.contains_key("OPENAI_API_KEY"));
        let err = read_env_file(&dir.path().join("missing")).unwrap_err();
        assert!(err.contains("cannot read"), "{err}");
    }
}
