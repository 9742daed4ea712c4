//! `okta-agent init DIR`: everything a new host needs, under the one set of names the docs,
//! the systemd unit, the compose file and the Dockerfile use: a commented config file with
//! every section, the Okta private key (its public JWK printed to paste into Okta), the audit
//! key, and an env file for the tokens that do not belong in the config file. The modes (and,
//! for compose, the owner) let the documented service user read what it needs and nobody
//! else. It never overwrites anything: when one of its files exists, it writes none.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::okta::SigningKey;
use crate::secret::Secret;
use crate::tools::{role_permissions, Tool};

/// The config file, read by the service (mode 0644: it holds no secret).
pub const CONFIG_FILE: &str = "okta-agent.toml";
/// The Okta private key; also its credential name (systemd `LoadCredential`, compose secret).
pub const OKTA_KEY_FILE: &str = "okta.pem";
/// The audit chain's key file; also its credential name.
pub const AUDIT_KEY_FILE: &str = "audit-key";
/// The env file with the Slack tokens and the model's key (systemd `EnvironmentFile=`,
/// compose `env_file:`).
pub const ENV_FILE: &str = "env";
/// The PostgreSQL password of the compose layout; also its credential name.
pub const DB_PASSWORD_FILE: &str = "db-password";
/// The uid and gid the container runs as (distroless's `nonroot`, the Dockerfile's `USER`).
pub const CONTAINER_UID: u32 = 65532;
/// Where the service keeps its state: the unit's `StateDirectory`, the image's volume.
pub const STATE_DIR: &str = "/var/lib/okta-agent";

/// Which deployment the files are for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Layout {
    /// `deploy/okta-agent.service`: root-owned files; systemd hands the secrets to the
    /// service's dynamic user as credentials.
    Systemd,
    /// `deploy/compose.yml`: the secrets are owned by the container's user (uid 65532),
    /// because compose bind-mounts file secrets as they are on the host.
    Compose,
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("init never overwrites anything, and {} already exist{}: move {} away, or choose another folder", .0.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "), if .0.len() == 1 { "s" } else { "" }, if .0.len() == 1 { "it" } else { "them" })]
    Exists(Vec<PathBuf>),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("--layout compose gives the secret files to the container's user (uid {CONTAINER_UID}), which takes root: run init with sudo")]
    NeedsRoot,
    #[error("{0}")]
    Key(String),
}

/// What to write.
#[derive(Clone, Debug)]
pub struct InitOptions {
    pub dir: PathBuf,
    pub layout: Layout,
    /// Where the SQLite database goes (systemd layout).
    pub state_dir: PathBuf,
    /// An EC P-256 key instead of RSA 2048.
    pub ec: bool,
    /// Who edits the config and env files when they are not root's to edit (compose: the
    /// user who ran `sudo`, who also runs `docker compose`, which reads the env file), as
    /// (uid, gid).
    pub editor: Option<(u32, u32)>,
}

/// One file written.
#[derive(Clone, Debug)]
pub struct WrittenFile {
    pub path: PathBuf,
    pub mode: u32,
    /// `Some((uid, gid))` when it was given to another user.
    pub owner: Option<(u32, u32)>,
    pub purpose: &'static str,
}

/// What `init` wrote, and what to paste into Okta.
#[derive(Debug)]
pub struct Report {
    pub options: InitOptions,
    pub files: Vec<WrittenFile>,
    pub public_jwk: serde_json::Value,
    pub key_id: String,
}

/// The files `init` writes for `layout`, by name: the same list the deploy files are checked
/// against.
pub fn file_names(layout: Layout) -> Vec<&'static str> {
    let mut names = vec![CONFIG_FILE, OKTA_KEY_FILE, AUDIT_KEY_FILE, ENV_FILE];
    if layout == Layout::Compose {
        names.push(DB_PASSWORD_FILE);
    }
    names
}

/// Writes the files. Checks first that none exists, then writes each with `create_new`, so
/// nothing is ever overwritten, even by a race.
pub fn init(options: InitOptions) -> Result<Report, InitError> {
    let dir = &options.dir;
    let existing: Vec<PathBuf> = file_names(options.layout)
        .into_iter()
        .map(|name| dir.join(name))
        .filter(|path| path.exists())
        .collect();
    if !existing.is_empty() {
        return Err(InitError::Exists(existing));
    }
    #[cfg(unix)]
    let is_root = running_as_root();
    #[cfg(not(unix))]
    let is_root = false;
    if options.layout == Layout::Compose && !is_root {
        return Err(InitError::NeedsRoot);
    }
    if !dir.exists() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o755);
        builder.create(dir).map_err(|source| InitError::Io {
            path: dir.clone(),
            source,
        })?;
    }
    let (key, pem) = if options.ec {
        SigningKey::generate_ec()
    } else {
        SigningKey::generate_rsa()
    }
    .map_err(|e| InitError::Key(e.to_string()))?;
    let (_, audit_line) =
        crate::audit::AuditKeys::new_key_line().map_err(|e| InitError::Key(e.to_string()))?;
    let secret_owner = match options.layout {
        Layout::Systemd => None,
        Layout::Compose => Some((CONTAINER_UID, CONTAINER_UID)),
    };
    let editor = match options.layout {
        Layout::Systemd => None,
        Layout::Compose => options.editor,
    };
    let secret_mode = match options.layout {
        Layout::Systemd => 0o600,
        Layout::Compose => 0o400,
    };
    let mut files = Vec::new();
    let mut write = |name: &str,
                     text: &str,
                     mode: u32,
                     owner: Option<(u32, u32)>,
                     purpose: &'static str|
     -> Result<(), InitError> {
        let path = dir.join(name);
        write_new(&path, text.as_bytes(), mode, owner)?;
        files.push(WrittenFile {
            path,
            mode,
            owner,
            purpose,
        });
        Ok(())
    };
    write(
        CONFIG_FILE,
        &config_template(&options, key.kid()),
        0o644,
        editor,
        "the configuration: edit it (next steps below)",
    )?;
    write(
        OKTA_KEY_FILE,
        pem.expose(),
        secret_mode,
        secret_owner,
        "the Okta private key: it never leaves this host",
    )?;
    write(
        AUDIT_KEY_FILE,
        audit_line.expose(),
        secret_mode,
        secret_owner,
        "the audit chain's key: back it up, apart from the database",
    )?;
    write(
        ENV_FILE,
        &env_template(options.layout),
        0o600,
        editor,
        "the Slack tokens (and a model's key): fill them in",
    )?;
    if options.layout == Layout::Compose {
        let password = random_password().map_err(InitError::Key)?;
        write(
            DB_PASSWORD_FILE,
            &format!("{}\n", password.expose()),
            secret_mode,
            secret_owner,
            "the PostgreSQL password, for the database and okta-agent",
        )?;
    }
    Ok(Report {
        public_jwk: key.public_jwk(),
        key_id: key.kid().to_string(),
        options,
        files,
    })
}

/// Whether this process runs as root: Linux's `/proc/self` belongs to the effective uid.
#[cfg(unix)]
fn running_as_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

/// Creates `path` (never replacing a file), writes `bytes`, and sets `mode` exactly (the
/// umask does not narrow it) and the owner.
fn write_new(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
) -> Result<(), InitError> {
    let io = |source| InitError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::fchown(&file, Some(uid), Some(gid)).map_err(io)?;
        }
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(io)?;
    }
    #[cfg(not(unix))]
    let _ = (mode, owner);
    file.sync_all().map_err(io)
}

/// 32 random characters from an unambiguous alphabet.
fn random_password() -> Result<Secret<String>, String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
    Ok(Secret::new(
        bytes
            .iter()
            .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
            .collect(),
    ))
}

/// The change tools, which a policy with admins may all ask for.
fn change_tools() -> Vec<Tool> {
    Tool::ALL
        .into_iter()
        .filter(|tool| tool.changes_okta())
        .collect()
}

/// The scopes every action needs, space-separated, as Okta's "Okta API Scopes" tab lists them.
pub fn all_scopes() -> Vec<&'static str> {
    crate::config::DEFAULT_SCOPES.to_vec()
}

/// The least-privilege custom admin role for every action okta-agent can take.
pub fn all_permissions() -> Vec<&'static str> {
    role_permissions(&change_tools())
}

fn config_template(options: &InitOptions, kid: &str) -> String {
    let dir = options.dir.display();
    let (key_lines, store_lines) = match options.layout {
        Layout::Systemd => (
            format!(
                "private_key_file = \"{dir}/{OKTA_KEY_FILE}\"   # under systemd, the credential {OKTA_KEY_FILE} is used instead"
            ),
            format!(
                "database_url = \"sqlite://{}/okta-agent.db\"   # DATABASE_URL overrides it",
                options.state_dir.display()
            ),
        ),
        Layout::Compose => (
            format!("# private_key_file: the compose secret {OKTA_KEY_FILE} is used (CREDENTIALS_DIRECTORY)"),
            "# database_url: compose sets DATABASE_URL to its PostgreSQL".to_string(),
        ),
    };
    let audit_line = match options.layout {
        Layout::Systemd => format!(
            "key_file = \"{dir}/{AUDIT_KEY_FILE}\"   # under systemd, the credential {AUDIT_KEY_FILE} is used instead"
        ),
        Layout::Compose => format!(
            "# key_file: the compose secret {AUDIT_KEY_FILE} is used (CREDENTIALS_DIRECTORY)"
        ),
    };
    let scopes = all_scopes()
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        r#"# okta-agent configuration, written by `okta-agent init`. Every key is described in
# docs/configuration.md; environment variables override this file. Secrets are not kept here:
# the keys are files of their own ({OKTA_KEY_FILE}, {AUDIT_KEY_FILE}) and the tokens are in `{ENV_FILE}`.

[okta]
# REQUIRED: your Okta org's address, without "-admin".
# org_url = "https://acme.okta.com"
# REQUIRED: the Client ID of the API Services app that holds {OKTA_KEY_FILE}'s public key.
# client_id = "0oa1example"
key_id = "{kid}"   # the kid `init` printed with the public key
{key_lines}
# scopes = [{scopes}]

[slack]
# Channel ids (C0…, from the channel's details). Invite the bot to each: /invite @okta-agent
triage_channels = []   # approval notices and escalations go here
help_channels = []     # the virtual assistant answers plain questions here
# socket_connections = 2
# max_requests_per_person_per_minute = 10
# max_requests_in_flight = 32
# help_answers_per_channel_per_hour = 30

[policy]
# REQUIRED for any change: the IT admins who approve: Slack user ids (U0…), Slack user groups
# (S0…) or Okta groups ("okta:IT Admins"), whose members are read again every few minutes.
admins = []
self_service = ["unlock_user"]                     # a person may do these to themselves, alone
self_service_with_approval = ["reset_password"]    # a person may ask for these; an admin approves
two_person = ["deactivate_user", "reset_factors"]  # a second admin must approve
# protected_groups = ["IT Admins"]                 # exact names or ids (00g…); groups with admin roles are always protected
# protected_users = ["ceo@acme.com"]
reset_password_delivery = "email"                  # or "dm_approver"
approval_ttl_seconds = 900
max_actions_per_requester_per_hour = 20
max_actions_per_target_per_hour = 3
# max_access_hours = 72
# The person an action changed is told by DM when someone else asked (suspend and deactivate
# are left out: offboarding is often confidential). [] tells nobody.
# notify_target = ["unlock_user", "reset_password", "reset_factors", "clear_sessions", "add_user_to_group", "remove_user_from_group"]
# The person confirms with their own Okta Verify push before anyone may approve these (a stolen
# Slack session cannot); without a push factor two admins approve instead.
verify_with_push = ["reset_password", "reset_factors", "unlock_user"]
# push_timeout_seconds = 120

[llm]
# Unset, the built-in command engine plans and nothing leaves this host. The key goes in
# `{ENV_FILE}` (OPENAI_API_KEY), not here.
# base_url = "https://api.openai.com/v1"
# model = "gpt-4.1-mini"
# embeddings_model = "text-embedding-3-small"

[knowledge]
# The help documents: `okta-agent help-docs --write {dir}/help-docs` writes a starter set.
# path = "{dir}/help-docs"
# pages = [{{ url = "https://wiki.acme.internal/it/vpn", refresh_minutes = 60 }}]
# reload_seconds = 5

[lockouts]
# With "okta.logs.read" added to [okta] scopes, locked-out people get a DM with "Unlock me",
# and a lockout storm (a password spray) is one alert in the triage channel instead.
# poll_seconds = 60
# storm_accounts = 10
# storm_minutes = 5

# [[automations.reactions]]
# emoji = "lock"             # :lock: on a message in the channels below
# tool = "suspend_user"      # asks to suspend the person the message mentions
# channels = ["C0SECURITY"]  # the bot must be in them
# grace_seconds = 60

[store]
{store_lines}
# inbound_retention_days = 7

[audit]
{audit_line}

[server]
# listen = "127.0.0.1:9090"   # /healthz, /readyz and /metrics
"#
    )
}

fn env_template(layout: Layout) -> String {
    let read_by = match layout {
        Layout::Systemd => "systemd (EnvironmentFile=)",
        Layout::Compose => "docker compose (env_file:)",
    };
    format!(
        r#"# Secrets for okta-agent, read by {read_by}. Keep this file mode 0600.
# One KEY=value per line. An empty value counts as unset.

# REQUIRED: the app-level token (xapp-…, scope connections:write) and the Bot User OAuth
# Token (xoxb-…) of the Slack app made from manifest.yml.
SLACK_APP_TOKEN=
SLACK_BOT_TOKEN=

# Only with a language model ([llm] in {CONFIG_FILE}):
# OPENAI_API_KEY=
"#
    )
}

/// Words joined with spaces, a new indented line every `per_line` words.
fn wrap(words: &[&str], per_line: usize) -> String {
    words
        .chunks(per_line)
        .map(|chunk| chunk.join(" "))
        .collect::<Vec<_>>()
        .join("\n       ")
}

impl Report {
    /// The files, the public key, and the next steps, as `init` prints them.
    pub fn render(&self) -> String {
        let dir = self.options.dir.display();
        let mut out = format!("Wrote {dir}:\n");
        for file in &self.files {
            let name = file.path.file_name().map_or_else(
                || file.path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            let owner = file
                .owner
                .map(|(uid, gid)| format!(", owner {uid}:{gid}"))
                .unwrap_or_default();
            out.push_str(&format!(
                "  {name:<16} mode {:04o}{owner}  {}\n",
                file.mode, file.purpose
            ));
        }
        out.push_str(&format!(
            "\nThe public key to register on the Okta app (kid {}):\n\n{}\n",
            self.key_id,
            serde_json::to_string_pretty(&self.public_jwk).unwrap_or_default()
        ));
        let check = match self.options.layout {
            Layout::Systemd => format!(
                "sudo okta-agent --config {dir}/{CONFIG_FILE} --env-file {dir}/{ENV_FILE} check\n     sudo systemctl enable --now okta-agent"
            ),
            Layout::Compose => "docker compose -f deploy/compose.yml run --rm okta-agent-1 check\n     docker compose -f deploy/compose.yml up -d".to_string(),
        };
        out.push_str(&format!(
            r#"
Next (docs/install.md has each step in full):
  1. Slack: api.slack.com/apps → Create New App → From a manifest → paste manifest.yml.
     Make an app-level token with connections:write, install the app, and put both tokens
     in {dir}/{ENV_FILE} (SLACK_APP_TOKEN=xapp-…, SLACK_BOT_TOKEN=xoxb-…).
  2. Okta: Applications → Create App Integration → API Services. Client authentication:
     Public key / Private key; Add key → paste the public key above.
     Okta API Scopes → grant:
       {scopes}
     Admin roles → a custom role with these permissions (nothing more), over the users and
     groups IT manages from chat:
       {permissions}
     Copy the app's Client ID.
  3. Edit {dir}/{CONFIG_FILE}: org_url and client_id under [okta], your IT admins' Slack
     ids under [policy], the triage channel's id under [slack].
  4. In Slack, invite the bot to the triage channel and every help channel: /invite @okta-agent
  5. Check every line is ✓, then start:
     {check}
"#,
            scopes = wrap(&all_scopes(), 5),
            permissions = wrap(&all_permissions(), 5),
        ));
        out
    }
}
