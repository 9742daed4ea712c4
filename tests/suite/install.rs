//! The install as docs/install.md writes it, run literally: the command lines of its `sh install`
//! blocks (absolute paths rebased into a temporary root), the edits its `edit` blocks show, the
//! public key `init` printed registered with the Okta simulator (`okta-agent sandbox`) under
//! the scopes and the custom role the page lists, `check`, and the service started the way
//! `deploy/okta-agent.service` starts it: its credentials, environment file and working
//! directory, as an unprivileged user that did not run `init`. Then a request is approved and
//! Okta changes once. The compose layout is run the same way from its `sh compose` blocks. The
//! sample `check` output in the README and install.md is this test's own
//! (`UPDATE_DOCS=1` rewrites it).

use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::common::fake_slack::{self, click, envelope_id, event_envelope, mention, FakeSlack};
use crate::common::services;

const REPO: &str = env!("CARGO_MANIFEST_DIR");
const BIN: &str = env!("CARGO_BIN_EXE_okta-agent");
/// A uid from the range systemd's `DynamicUser=` picks from (61184–65519).
const SERVICE_UID: u32 = 61184;
/// The client id the page's example uses, registered with the simulator as it is.
const CLIENT_ID: &str = "0oa1example";

/// The fenced code blocks of a Markdown file, in order: (info string, text).
pub fn code_blocks(path: &Path) -> Vec<(String, String)> {
    use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};
    let text = std::fs::read_to_string(path).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<(String, String)> = None;
    for event in Parser::new(&text) {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                current = Some((info.to_string(), String::new()));
            }
            Event::Text(t) => {
                if let Some((_, body)) = current.as_mut() {
                    body.push_str(&t);
                }
            }
            Event::End(TagEnd::CodeBlock) => blocks.extend(current.take()),
            _ => {}
        }
    }
    blocks
}

/// The documented command lines of a block: comments and blank lines dropped, `sudo` taken
/// off (the test runs as root), split into words (the page quotes nothing).
fn commands(block: &str) -> Vec<Vec<String>> {
    block
        .lines()
        .map(|line| line.split(" #").next().unwrap_or_default().trim())
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            assert!(
                !line.contains(['"', '\'', '$', '`', '|', '&', ';']),
                "the install test runs commands word by word: {line}"
            );
            line.split_whitespace()
                .skip_while(|w| *w == "sudo")
                .map(str::to_string)
                .collect()
        })
        .collect()
}

/// A host under a temporary root: every documented absolute path lives under it, and relative
/// paths are the repository's.
struct Host {
    root: tempfile::TempDir,
}

impl Host {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        // A service user must be able to reach what is under it, as under /.
        set_mode(root.path(), 0o755);
        Self { root }
    }

    fn at(&self, path: &str) -> PathBuf {
        self.root.path().join(path.trim_start_matches('/'))
    }

    /// An argument as this host sees it: an absolute path under the root.
    fn arg(&self, word: &str) -> String {
        if word.starts_with('/') {
            self.at(word).display().to_string()
        } else {
            word.to_string()
        }
    }

    /// A path written in a file under the root, shown as the docs show it.
    fn shown(&self, text: &str) -> String {
        text.replace(&self.root.path().display().to_string(), "")
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn mode_and_owner(path: &Path) -> (u32, u32) {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (meta.mode() & 0o7777, meta.uid())
}

fn chown(path: &Path, uid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(uid)).unwrap();
}

/// Runs `argv` as `uid` with only `env` and `PATH`, the way a service manager would.
fn as_user(
    uid: u32,
    argv: &[String],
    env: &[(String, String)],
    cwd: &Path,
) -> tokio::process::Command {
    let mut command = tokio::process::Command::new("setpriv");
    command
        .args([
            format!("--reuid={uid}"),
            format!("--regid={uid}"),
            "--clear-groups".to_string(),
            "--".to_string(),
        ])
        .args(argv)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(cwd)
        .kill_on_drop(true);
    command
}

/// `okta-agent sandbox`, with a client for `jwk` under `scopes` and a custom role of
/// `permissions`.
struct Simulator {
    url: String,
    _child: tokio::process::Child,
}

impl Simulator {
    async fn start(dir: &Path, jwk: &Value, scopes: &[String], permissions: &[String]) -> Self {
        let jwks = dir.join("registered-jwk.json");
        std::fs::write(&jwks, jwk.to_string()).unwrap();
        let mut child = tokio::process::Command::new(BIN)
            .args([
                "sandbox",
                "--listen",
                "127.0.0.1:0",
                "--client-id",
                CLIENT_ID,
            ])
            .arg("--jwks")
            .arg(&jwks)
            .arg(format!("--scopes={}", scopes.join(",")))
            .arg(format!("--permissions={}", permissions.join(",")))
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let url = loop {
            let line = lines
                .next_line()
                .await
                .unwrap()
                .expect("the simulator starts");
            if let Some((_, url)) = line.split_once(" users at ") {
                break url.trim().to_string();
            }
        };
        // Keep reading, so its output never blocks it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { url, _child: child }
    }

    async fn status(&self, login: &str) -> String {
        let users: Value = reqwest::get(format!("{}/__sandbox/users", self.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        users
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["login"] == login)
            .map(|u| u["status"].as_str().unwrap_or_default().to_string())
            .unwrap_or_default()
    }
}

/// What a systemd unit file says, as far as starting the service goes.
#[derive(Default)]
struct Unit {
    exec_start: Vec<String>,
    environment: Vec<(String, String)>,
    environment_files: Vec<String>,
    credentials: Vec<(String, String)>,
    working_directory: String,
    state_directory: String,
    state_directory_mode: u32,
    dynamic_user: bool,
}

impl Unit {
    fn parse(text: &str) -> Self {
        let mut unit = Unit {
            state_directory_mode: 0o755,
            ..Unit::default()
        };
        for line in text.lines().map(str::trim) {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            if line.starts_with('#') {
                continue;
            }
            match key {
                "ExecStart" => {
                    unit.exec_start = value.split_whitespace().map(str::to_string).collect()
                }
                "Environment" => {
                    let (k, v) = value.split_once('=').unwrap();
                    unit.environment.push((k.to_string(), v.to_string()));
                }
                "EnvironmentFile" => unit.environment_files.push(value.to_string()),
                "LoadCredential" => {
                    let (name, path) = value.split_once(':').unwrap();
                    unit.credentials.push((name.to_string(), path.to_string()));
                }
                "WorkingDirectory" => unit.working_directory = value.to_string(),
                "StateDirectory" => unit.state_directory = value.to_string(),
                "StateDirectoryMode" => {
                    unit.state_directory_mode = u32::from_str_radix(value, 8).unwrap()
                }
                "DynamicUser" => unit.dynamic_user = value == "yes",
                _ => {}
            }
        }
        unit
    }

    /// Sets the host up as systemd does before starting the unit (state directory,
    /// credentials readable by the service alone), and returns the environment and working
    /// directory the service gets.
    fn prepare(&self, host: &Host, uid: u32) -> (Vec<(String, String)>, PathBuf) {
        let state = host.at(&format!("/var/lib/{}", self.state_directory));
        std::fs::create_dir_all(&state).unwrap();
        chown(&state, uid);
        set_mode(&state, self.state_directory_mode);
        let credentials = host.at("/run/credentials/okta-agent.service");
        std::fs::create_dir_all(&credentials).unwrap();
        for (name, source) in &self.credentials {
            // systemd reads the source as root, whatever its mode.
            let target = credentials.join(name);
            std::fs::copy(host.at(source), &target)
                .unwrap_or_else(|e| panic!("LoadCredential={name}:{source}: {e}"));
            chown(&target, uid);
            set_mode(&target, 0o400);
        }
        chown(&credentials, uid);
        set_mode(&credentials, 0o500);
        let mut env: Vec<(String, String)> = Vec::new();
        for (key, value) in &self.environment {
            let value = value.replace("%d", &credentials.display().to_string());
            env.push((key.clone(), host.arg(&value)));
        }
        for file in &self.environment_files {
            let (optional, path) = match file.strip_prefix('-') {
                Some(path) => (true, path),
                None => (false, file.as_str()),
            };
            match okta_agent::config::read_env_file(&host.at(path)) {
                Ok(vars) => env.extend(vars),
                Err(e) => assert!(optional, "EnvironmentFile={file}: {e}"),
            }
        }
        env.push((
            "CREDENTIALS_DIRECTORY".into(),
            credentials.display().to_string(),
        ));
        (env, host.at(&self.working_directory))
    }

    /// `ExecStart` with another subcommand (`check` under the service's environment).
    fn exec_as(&self, subcommand: &str) -> Vec<String> {
        let mut argv = self.exec_start.clone();
        assert_eq!(
            argv[0], "/usr/local/bin/okta-agent",
            "the binary step 1 installs"
        );
        argv[0] = BIN.to_string();
        *argv.last_mut().unwrap() = subcommand.to_string();
        argv
    }
}

/// Replaces `key = …` (or the commented `# key = …`) in `section` of a TOML file written by
/// `init`, as a person editing it would.
fn set_toml(file: &str, section: &str, key: &str, value: &str) -> String {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut done = false;
    for line in file.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            current = trimmed.to_string();
        }
        let bare = trimmed.trim_start_matches('#').trim_start();
        let names_key = bare.split_once('=').is_some_and(|(k, _)| k.trim() == key);
        if !done && current == section && names_key {
            out.push(format!("{key} = {value}"));
            done = true;
        } else {
            out.push(line.to_string());
        }
    }
    assert!(done, "init's config has no {key} in {section} to edit");
    out.join("\n") + "\n"
}

/// What the docs' examples stand for in the test: the simulator, the fake Slack's people.
fn test_value(value: &str, simulator: Option<&Simulator>) -> String {
    let mut value = value.replace("U0ADMIN1", "U0LEO");
    if value.contains("https://acme.okta.com") {
        let simulator = simulator.expect("the Okta app exists before the config names it");
        value = value.replace("https://acme.okta.com", &simulator.url);
    }
    value
}

/// The sample output in the docs is this normalized: the temporary root, loopback addresses
/// and what differs per run (request ids, key ids) shown as a real install shows them.
fn normalize(output: &str, host: &Host, simulator: &Simulator, kid: &str) -> String {
    let mut text = host.shown(output);
    text = text.replace(&simulator.url, "https://acme.okta.com");
    text = text.replace(kid, "mS3qF0yLk8pV2xRt6uNc9wHb1jZd4aEo7gYi5TvQe3k");
    let hex = |s: &str| s.len() >= 16 && s.chars().all(|c| c.is_ascii_hexdigit());
    // Each distinct id becomes the next fixed one, in the order they appear.
    let mut seen: Vec<String> = Vec::new();
    let mut fixed = |id: &str| -> &'static str {
        const IDS: [&str; 4] = [
            "9f2c1a7e4b8d4e6fa3c05d91b7e2f468",
            "4c1f8a2e9d3b7a60",
            "b2e07d5c91f3a846",
            "0d6e3b9a5c7f1e24",
        ];
        let n = seen.iter().position(|s| s == id).unwrap_or_else(|| {
            seen.push(id.to_string());
            seen.len() - 1
        });
        let candidates: Vec<&'static str> = IDS
            .iter()
            .copied()
            .filter(|f| f.len() == id.len())
            .collect();
        candidates[n % candidates.len().max(1)]
    };
    text.lines()
        .map(|line| {
            let mut line = line.to_string();
            if line.starts_with("✓ Proxy for Slack Web API:") {
                line = line.replace("127.0.0.1", "slack.com");
            } else if line.starts_with("✓ Proxy for Slack Socket Mode:") {
                line = line.replace("127.0.0.1", "wss-primary.slack.com");
            } else if line.starts_with("✓ Proxy for Okta:") {
                line = line.replace("127.0.0.1", "acme.okta.com");
            }
            line.split(' ')
                .map(|word| {
                    let core = word.trim_end_matches([')', ';', ',', '.']);
                    if hex(core) && (core.len() == 32 || core.len() == 16) {
                        word.replace(core, fixed(core))
                    } else {
                        word.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Checks (or with `UPDATE_DOCS=1`, rewrites) every `text check-output` block of `file`.
fn sample_matches(file: &str, sample: &str) {
    let path = Path::new(REPO).join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let fence = "```text check-output\n";
    let start = text
        .find(fence)
        .unwrap_or_else(|| panic!("{file} has no sample check output"))
        + fence.len();
    let end = start + text[start..].find("```").unwrap();
    let documented = text[start..end].trim_end();
    if std::env::var("UPDATE_DOCS").is_ok_and(|v| v == "1") {
        let updated = format!("{}{}\n{}", &text[..start], sample, &text[end..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    assert_eq!(
        documented, sample,
        "{file}'s sample `check` output is not what check prints (UPDATE_DOCS=1 rewrites it)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_install_works_as_written() {
    if !services::can_switch_users() {
        return;
    }
    okta_agent::install_crypto_provider();
    let host = Host::new();
    let fake = FakeSlack::start().await;
    let (mut jwk, mut kid, mut scopes) = (None::<Value>, String::new(), None::<Vec<String>>);
    let mut simulator: Option<Simulator> = None;
    let mut by_hand_check: Option<String> = None;
    let mut service: Option<tokio::process::Child> = None;
    let mut steps = Vec::new();

    for (info, block) in code_blocks(&Path::new(REPO).join("docs/install.md")) {
        let words: Vec<&str> = info.split_whitespace().collect();
        match words.as_slice() {
            ["sh", "install"] => {
                for argv in commands(&block) {
                    steps.push(argv.join(" "));
                    let words: Vec<&str> = argv.iter().map(String::as_str).collect();
                    match words.as_slice() {
                        // The binary under test is the one cargo built for the tests.
                        ["cargo", "build", ..] => {}
                        ["install", "-m", "0755", "target/release/okta-agent", "/usr/local/bin/okta-agent"] =>
                            {}
                        ["install", "-m", mode, source, target] => {
                            let mut to = host.at(target);
                            if target.ends_with('/') {
                                std::fs::create_dir_all(&to).unwrap();
                                to = to.join(Path::new(source).file_name().unwrap());
                            }
                            std::fs::copy(Path::new(REPO).join(source), &to).unwrap();
                            set_mode(&to, u32::from_str_radix(mode, 8).unwrap());
                        }
                        ["okta-agent", rest @ ..] => {
                            let out = tokio::process::Command::new(BIN)
                                .args(rest.iter().map(|w| host.arg(w)))
                                .env_clear()
                                .env("PATH", "/usr/bin:/bin")
                                .current_dir(REPO)
                                .output()
                                .await
                                .unwrap();
                            let stdout = String::from_utf8_lossy(&out.stdout).to_string();
                            let stderr = String::from_utf8_lossy(&out.stderr).to_string();
                            assert!(
                                out.status.success(),
                                "`{}` failed:\n{stdout}\n{stderr}",
                                argv.join(" ")
                            );
                            if rest.first() == Some(&"init") {
                                let json: String = stdout
                                    .lines()
                                    .skip_while(|l| *l != "{")
                                    .take_while(|l| *l != "}")
                                    .chain(["}"])
                                    .collect::<Vec<_>>()
                                    .join("\n");
                                let key: Value = serde_json::from_str(&json).unwrap();
                                kid = key["kid"].as_str().unwrap().to_string();
                                assert!(key.get("d").is_none(), "only the public half is printed");
                                jwk = Some(key);
                            }
                            if rest.contains(&"check") {
                                by_hand_check = Some(stdout);
                            }
                        }
                        ["systemctl", "daemon-reload"] => {}
                        ["systemctl", "enable", "--now", "okta-agent"] => {
                            let unit = Unit::parse(
                                &std::fs::read_to_string(
                                    host.at("/etc/systemd/system/okta-agent.service"),
                                )
                                .expect("step 7 installs the unit first"),
                            );
                            assert!(unit.dynamic_user, "the unit runs as a user of its own");
                            let (env, cwd) = unit.prepare(&host, SERVICE_UID);
                            // check, under the service's environment and user.
                            let out = as_user(SERVICE_UID, &unit.exec_as("check"), &env, &cwd)
                                .output()
                                .await
                                .unwrap();
                            let said = String::from_utf8_lossy(&out.stdout).to_string();
                            assert!(
                                out.status.success(),
                                "check as the service fails:\n{said}\n{}",
                                String::from_utf8_lossy(&out.stderr)
                            );
                            assert!(
                                said.contains(
                                    "✓ Secret: the Okta private key from the credential okta.pem"
                                ),
                                "{said}"
                            );
                            assert!(
                                said.contains(
                                    "✓ Secret: the audit key from the credential audit-key"
                                ),
                                "{said}"
                            );
                            let log = std::fs::File::create(host.at("/service.log")).unwrap();
                            service = Some(
                                as_user(SERVICE_UID, &unit.exec_as("run"), &env, &cwd)
                                    .stdout(Stdio::null())
                                    .stderr(log)
                                    .spawn()
                                    .unwrap(),
                            );
                        }
                        other => {
                            panic!("the install test cannot follow this documented step: {other:?}")
                        }
                    }
                }
            }
            ["sh", "edit", path] => {
                let file = host.at(path);
                let mut text = std::fs::read_to_string(&file).unwrap();
                for line in block.lines().filter(|l| l.contains('=')) {
                    let (key, _) = line.split_once('=').unwrap();
                    let value = match key {
                        "SLACK_APP_TOKEN" => fake_slack::APP_TOKEN,
                        "SLACK_BOT_TOKEN" => fake_slack::BOT_TOKEN,
                        other => panic!("the install test has no value for {other}"),
                    };
                    let prefix = format!("{key}=");
                    assert!(
                        text.lines().any(|l| l == prefix),
                        "init's {path} has no `{prefix}` line to fill in"
                    );
                    text = text.replace(&format!("\n{prefix}\n"), &format!("\n{prefix}{value}\n"));
                }
                if path.ends_with("/env") {
                    // The fake Slack stands in for slack.com.
                    text.push_str(&format!("SLACK_API_URL={}\n", fake.api_url));
                }
                std::fs::write(&file, text).unwrap();
            }
            ["toml", "edit", path] => {
                let file = host.at(path);
                let mut text = std::fs::read_to_string(&file).unwrap();
                let mut section = String::new();
                for line in block.lines().map(str::trim).filter(|l| !l.is_empty()) {
                    if line.starts_with('[') {
                        section = line.to_string();
                        continue;
                    }
                    let (key, value) = line.split_once('=').unwrap();
                    text = set_toml(
                        &text,
                        &section,
                        key.trim(),
                        &test_value(value.trim(), simulator.as_ref()),
                    );
                }
                std::fs::write(&file, text).unwrap();
            }
            ["text", "okta-scopes"] => {
                scopes = Some(block.split_whitespace().map(str::to_string).collect());
            }
            ["text", "okta-role"] => {
                // The Okta app: the printed key, the listed scopes, the listed custom role.
                let permissions: Vec<String> =
                    block.split_whitespace().map(str::to_string).collect();
                let key = jwk
                    .as_ref()
                    .expect("init printed the public key before the Okta step");
                let scopes = scopes.as_ref().expect("the scopes come before the role");
                simulator =
                    Some(Simulator::start(host.root.path(), key, scopes, &permissions).await);
            }
            _ => {}
        }
    }
    assert!(
        steps.iter().any(|s| s.starts_with("okta-agent init")),
        "{steps:?}"
    );

    // Every file init wrote has the mode the unit's design needs, and belongs to root.
    for (name, mode) in [
        ("okta-agent.toml", 0o644),
        ("okta.pem", 0o600),
        ("audit-key", 0o600),
        ("env", 0o600),
    ] {
        assert_eq!(
            mode_and_owner(&host.at(&format!("/etc/okta-agent/{name}"))),
            (mode, 0),
            "{name}"
        );
    }

    // The check run by hand passed, and is what the docs show.
    let simulator = simulator.expect("the Okta step ran");
    let by_hand = by_hand_check.expect("the page runs check by hand");
    assert!(!by_hand.contains('✗'), "{by_hand}");
    let sample = normalize(&by_hand, &host, &simulator, &kid);
    sample_matches("docs/install.md", &sample);
    sample_matches("README.md", &sample);

    // The service, started as systemd would, connects and does the job once.
    let mut service = service.expect("the page starts the service");
    let logs = || std::fs::read_to_string(host.at("/service.log")).unwrap_or_default();
    for _ in 0..3000 {
        if fake.connections() > 0 {
            break;
        }
        if let Ok(Some(status)) = service.try_wait() {
            panic!("the service stopped ({status}):\n{}", logs());
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(
        fake.connections() > 0,
        "the service never connected:\n{}",
        logs()
    );
    fake.send(event_envelope(
        &envelope_id(),
        "EvInstall",
        0,
        mention(
            "U0LEO",
            "unlock <@U0BOB>",
            "C0HELPDESK",
            "1700000001.000100",
        ),
    ))
    .await;
    fake_slack::wait_until("the card", || fake.newest_card().is_some()).await;
    let (id, card) = fake.newest_card().unwrap();
    // The config `init` wrote verifies an unlock with the person's Okta Verify push first:
    // Leo sends it, Bob approves it on his phone, and only then may Leo approve.
    assert!(
        !card["blocks"]
            .to_string()
            .contains("\"action_id\":\"approve\""),
        "Approve waits for the push: {card}"
    );
    fake.send(click(&envelope_id(), "U0LEO", "verify_first", &id, &card))
        .await;
    fake_slack::wait_until("the push to Bob", || {
        fake.messages().iter().any(|m| {
            m["channel"] == "U0BOB"
                && m["text"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("Okta Verify")
        })
    })
    .await;
    let answered = reqwest::Client::new()
        .post(format!(
            "{}/__sandbox/users/bob.smith@example.com/push",
            simulator.url
        ))
        .json(&serde_json::json!({"answer": "approve"}))
        .send()
        .await
        .unwrap();
    assert!(answered.status().is_success());
    fake_slack::wait_until("Approve on the card", || {
        fake.card_for(&id).is_some_and(|c| {
            c["blocks"]
                .to_string()
                .contains("\"action_id\":\"approve\"")
        })
    })
    .await;
    let card = fake.card_for(&id).unwrap();
    fake.send(click(&envelope_id(), "U0LEO", "approve", &id, &card))
        .await;
    for _ in 0..600 {
        if simulator.status("bob.smith@example.com").await == "ACTIVE" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        simulator.status("bob.smith@example.com").await,
        "ACTIVE",
        "{}",
        logs()
    );
    // SIGTERM, as `systemctl stop` sends it: a clean exit.
    let pid = service.id().unwrap() as libc::pid_t;
    // SAFETY: signalling our own child process, which has not been reaped yet.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    assert_eq!(service.wait().await.unwrap().code(), Some(0), "{}", logs());
    let database = host.at("/var/lib/okta-agent/okta-agent.db");
    assert_eq!(
        mode_and_owner(&database).1,
        SERVICE_UID,
        "the service made its database"
    );
    let log = logs();
    assert!(
        log.contains("config file") && log.contains("/etc/okta-agent/okta-agent.toml"),
        "{log}"
    );
}

/// The compose layout, from the page's `sh compose` blocks: `init --layout compose` gives the
/// secrets to the container's user, and `okta-agent check`, run the way compose runs
/// `okta-agent-1` (its environment, env file, secrets in /run/secrets, the config mounted, as
/// the image's user), finds every secret by name and passes all but the database line (the
/// compose file's PostgreSQL stands in as a closed port).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compose_layout_gives_the_container_user_its_secrets() {
    if !services::can_switch_users() {
        return;
    }
    okta_agent::install_crypto_provider();
    let host = Host::new();
    let fake = FakeSlack::start().await;
    let blocks = code_blocks(&Path::new(REPO).join("docs/install.md"));
    let compose_lines: Vec<Vec<String>> = blocks
        .iter()
        .filter(|(info, _)| info == "sh compose")
        .flat_map(|(_, block)| commands(block))
        .collect();
    let init = compose_lines
        .iter()
        .find(|argv| argv.get(1).map(String::as_str) == Some("init"))
        .expect("the compose steps run init");
    assert_eq!(init[0], "okta-agent");
    // Relative to the repository: deploy/config beside deploy/compose.yml.
    let out = tokio::process::Command::new(BIN)
        .args(init[1..].iter().map(|w| {
            if w.starts_with("deploy/") {
                host.at(w).display().to_string()
            } else {
                w.clone()
            }
        }))
        .env_clear()
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = host.at("deploy/config");
    let uid = okta_agent::init::CONTAINER_UID;
    for (name, expected) in [
        ("okta.pem", (0o400, uid)),
        ("audit-key", (0o400, uid)),
        ("db-password", (0o400, uid)),
        ("okta-agent.toml", (0o644, 0)),
        ("env", (0o600, 0)),
    ] {
        assert_eq!(mode_and_owner(&config.join(name)), expected, "{name}");
    }

    // The same edits as the systemd install, in deploy/config, and the Okta app.
    let json: String = stdout
        .lines()
        .skip_while(|l| *l != "{")
        .take_while(|l| *l != "}")
        .chain(["}"])
        .collect::<Vec<_>>()
        .join("\n");
    let jwk: Value = serde_json::from_str(&json).unwrap();
    let scopes: Vec<String> = okta_agent::init::all_scopes()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let role: Vec<String> = okta_agent::init::all_permissions()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let simulator = Simulator::start(host.root.path(), &jwk, &scopes, &role).await;
    let toml_path = config.join("okta-agent.toml");
    let mut toml = std::fs::read_to_string(&toml_path).unwrap();
    toml = set_toml(
        &toml,
        "[okta]",
        "org_url",
        &format!("\"{}\"", simulator.url),
    );
    toml = set_toml(&toml, "[okta]", "client_id", &format!("\"{CLIENT_ID}\""));
    toml = set_toml(&toml, "[policy]", "admins", "[\"U0LEO\"]");
    std::fs::write(&toml_path, toml).unwrap();
    let env_path = config.join("env");
    let env = std::fs::read_to_string(&env_path)
        .unwrap()
        .replace(
            "\nSLACK_APP_TOKEN=\n",
            &format!("\nSLACK_APP_TOKEN={}\n", fake_slack::APP_TOKEN),
        )
        .replace(
            "\nSLACK_BOT_TOKEN=\n",
            &format!("\nSLACK_BOT_TOKEN={}\n", fake_slack::BOT_TOKEN),
        )
        + &format!("SLACK_API_URL={}\n", fake.api_url);
    std::fs::write(&env_path, env).unwrap();

    // `docker compose run --rm okta-agent-1 check`, as compose would run it.
    let check = compose_lines
        .iter()
        .find(|argv| argv.last().map(String::as_str) == Some("check"))
        .expect("the compose steps run check");
    assert_eq!(&check[..2], ["docker", "compose"]);
    let service_name = &check[check.len() - 2];
    let text = std::fs::read_to_string(Path::new(REPO).join("deploy/compose.yml")).unwrap();
    let mut compose: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    compose.apply_merge().unwrap();
    let compose: Value = serde_json::to_value(&compose).unwrap();
    let service = &compose["services"][service_name.as_str()];
    // Secrets are bind-mounted into /run/secrets as they are on the host.
    let secrets = host.at("/run/secrets");
    std::fs::create_dir_all(&secrets).unwrap();
    for secret in service["secrets"].as_array().unwrap() {
        let source = secret["source"].as_str().unwrap();
        let file = compose["secrets"][source]["file"].as_str().unwrap();
        let target = secret["target"].as_str().unwrap_or(source);
        assert_eq!(secret["uid"], uid.to_string(), "{source}");
        std::os::unix::fs::symlink(host.at(&format!("deploy/{file}")), secrets.join(target))
            .unwrap();
    }
    // Volumes: the config bind-mounted, a state volume the image's user owns.
    for volume in service["volumes"].as_array().unwrap() {
        let parts: Vec<&str> = volume.as_str().unwrap().split(':').collect();
        let target = host.at(parts[1]);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        match parts[0].strip_prefix("./") {
            Some(relative) => {
                std::os::unix::fs::symlink(host.at(&format!("deploy/{relative}")), &target).unwrap()
            }
            None => {
                std::fs::create_dir_all(&target).unwrap();
                chown(&target, uid);
            }
        }
    }
    let mut env: Vec<(String, String)> = service["environment"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), host.arg(v.as_str().unwrap())))
        .collect();
    env.extend(
        okta_agent::config::read_env_file(
            &host.at(&format!("deploy/{}", service["env_file"].as_str().unwrap())),
        )
        .unwrap(),
    );
    for (key, value) in env.iter_mut() {
        if key == "DATABASE_URL" {
            // The compose file's database host, as a closed port on loopback.
            *value = value.replace("@postgres:5432", "@127.0.0.1:9");
        }
    }
    let dockerfile = std::fs::read_to_string(Path::new(REPO).join("deploy/Dockerfile")).unwrap();
    assert!(
        dockerfile.contains(&format!("USER {uid}:{uid}")),
        "the image runs as the uid init gives the secrets to"
    );
    let out = as_user(
        uid,
        &[BIN.to_string(), "check".into()],
        &env,
        &host.at(service["working_dir"].as_str().unwrap()),
    )
    .output()
    .await
    .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    for secret in [
        "the Okta private key from the credential okta.pem",
        "the audit key from the credential audit-key",
        "the database password from the credential db-password",
    ] {
        assert!(
            said.contains(&format!("✓ Secret: {secret}")),
            "{said}{stderr}"
        );
    }
    let failed: Vec<&str> = said.lines().filter(|l| l.starts_with('✗')).collect();
    assert_eq!(failed.len(), 1, "{said}{stderr}");
    assert!(failed[0].starts_with("✗ Database: "), "{said}");
}

/// `init` never overwrites anything: with one of its files present it writes none, names the
/// file, and leaves it as it was.
#[test]
fn init_never_overwrites_anything() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("etc-okta-agent");
    let run = || {
        std::process::Command::new(BIN)
            .arg("init")
            .arg(&target)
            .env_clear()
            .output()
            .unwrap()
    };
    assert!(run().status.success());
    let key = std::fs::read(target.join("okta.pem")).unwrap();
    std::fs::remove_file(target.join("env")).unwrap();
    let again = run();
    assert!(!again.status.success());
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(
        said.contains("init never overwrites anything")
            && said.contains("okta-agent.toml")
            && said.contains("okta.pem")
            && said.contains("audit-key"),
        "{said}"
    );
    assert_eq!(std::fs::read(target.join("okta.pem")).unwrap(), key);
    assert!(!target.join("env").exists(), "nothing was written");
    // keygen writes the same key file name the deploy files use.
    let keys = dir.path().join("keys");
    let out = std::process::Command::new(BIN)
        .args(["keygen", "--out"])
        .arg(&keys)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(keys.join(okta_agent::init::OKTA_KEY_FILE).exists());
    assert_eq!(
        mode_and_owner(&keys).0,
        0o755,
        "a service user can reach a config beside it"
    );
}
