//! The real binary: `keygen` writes a 0600 key whose JWK works against the simulator, and
//! `check` reports ✓/✗ lines and its exit code.

use std::process::Command;

use okta_agent::okta::SigningKey;
use okta_agent::sandbox;

use crate::common::Harness;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_okta-agent"))
}

fn keygen(dir: &std::path::Path, ec: bool) -> (serde_json::Value, String, std::path::PathBuf) {
    let mut cmd = bin();
    cmd.args(["keygen", "--out"]).arg(dir);
    if ec {
        cmd.arg("--ec");
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let start = stdout.find('{').unwrap();
    let end = stdout.rfind('}').unwrap();
    let jwk: serde_json::Value = serde_json::from_str(&stdout[start..=end]).unwrap();
    let kid = stdout
        .lines()
        .find_map(|l| l.strip_prefix("OKTA_KEY_ID="))
        .unwrap()
        .to_string();
    let path = stdout
        .lines()
        .find_map(|l| l.strip_prefix("OKTA_PRIVATE_KEY_FILE="))
        .unwrap()
        .into();
    (jwk, kid, path)
}

// Multi-threaded: the binary runs synchronously while the simulator serves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keygen_keys_work_against_the_simulator() {
    okta_agent::install_crypto_provider();
    for ec in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let (jwk, kid, path) = keygen(&dir.path().join("keys"), ec);
        assert_eq!(jwk["kid"], kid.as_str());
        assert_eq!(jwk["kty"], if ec { "EC" } else { "RSA" });
        assert!(
            jwk.get("d").is_none() && jwk.get("p").is_none(),
            "only the public half is printed"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let again = bin()
            .args(["keygen", "--out"])
            .arg(dir.path().join("keys"))
            .output()
            .unwrap();
        assert!(!again.status.success(), "keygen never overwrites a key");

        let client = sandbox::registered_client(
            "0oakeygen00000000000".into(),
            sandbox::parse_jwks(&jwk).unwrap(),
            None,
            false,
        );
        let running = sandbox::start(
            "127.0.0.1:0".parse().unwrap(),
            &sandbox::Seed::demo().unwrap(),
            Some(client),
        )
        .await
        .unwrap();
        let pem = std::fs::read_to_string(&path).unwrap();
        let key = SigningKey::from_pem(&pem, Some(&kid)).unwrap();
        let tokens = crate::common::Harness::token_source(
            &url::Url::parse(&running.url()).unwrap(),
            "0oakeygen00000000000",
            key,
            vec!["okta.users.read".into()],
        );
        tokens
            .token()
            .await
            .expect("the generated key authenticates");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_passes_then_names_what_is_wrong() {
    let h = Harness::demo().await;
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("k.pem");
    let (_, pem) = SigningKey::generate_ec().unwrap();
    std::fs::write(&key_path, pem.expose()).unwrap();

    let run = |kid: &str, key: &std::path::Path| {
        bin()
            .env_clear()
            .env("OKTA_ORG_URL", h.sandbox.url())
            .env("OKTA_CLIENT_ID", &h.client_id)
            .env("OKTA_KEY_ID", kid)
            .env("OKTA_PRIVATE_KEY_FILE", key)
            .arg("check")
            .output()
            .unwrap()
    };
    // The harness key is not on disk; write it via its registered kid using a fresh key file.
    let (good_key, good_pem) = SigningKey::generate_ec().unwrap();
    let good_path = dir.path().join("good.pem");
    std::fs::write(&good_path, good_pem.expose()).unwrap();
    let mut jwk = good_key.public_jwk();
    jwk["kid"] = serde_json::json!("good");
    h.sandbox
        .state
        .lock()
        .auth
        .client
        .as_mut()
        .unwrap()
        .jwks
        .push(serde_json::from_value(jwk).unwrap());

    let ok = run("good", &good_path);
    let text = String::from_utf8_lossy(&ok.stdout).to_string();
    // With no Slack tokens the only ✗ is the Slack line (and so the exit code is 1).
    let failed: Vec<&str> = text.lines().filter(|l| l.starts_with('✗')).collect();
    assert_eq!(failed.len(), 1, "{text}");
    assert!(
        failed[0].starts_with("✗ Slack: SLACK_APP_TOKEN and SLACK_BOT_TOKEN are not set"),
        "{text}"
    );
    assert_eq!(ok.status.code(), Some(1));
    // The config file and the key's source, the Okta lines (with its proxy, the admin roles
    // read and the actions), then the policy, planner, audit key and database lines.
    let passed: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with('✓'))
        .map(|l| l.split(':').next().unwrap_or_default())
        .collect();
    assert_eq!(
        passed,
        [
            "✓ Config file",
            "✓ Secret",
            "✓ Okta org URL",
            "✓ Proxy for Okta",
            "✓ access token",
            "✓ scopes",
            "✓ read call",
            "✓ Admin roles",
            "✓ Actions",
            "✓ Policy",
            "✓ Planner",
            "✓ Audit key",
            "✓ Database"
        ],
        "{text}"
    );
    assert!(
        text.contains("✓ Secret: the Okta private key from OKTA_PRIVATE_KEY_FILE ("),
        "{text}"
    );
    assert!(text.contains("✓ Actions: none configured"), "{text}");
    assert!(
        text.contains("✓ Database: SQLite file okta-agent.db will be made on first start"),
        "{text}"
    );
    assert!(
        text.contains("✓ Audit key: okta-agent.db.audit-key will be made on first start"),
        "{text}"
    );
    assert!(
        text.contains("✓ Policy: none configured: read-only"),
        "{text}"
    );

    // With the System Log's scope asked for, check reads it.
    let with_logs = bin()
        .env_clear()
        .env("OKTA_ORG_URL", h.sandbox.url())
        .env("OKTA_CLIENT_ID", &h.client_id)
        .env("OKTA_KEY_ID", "good")
        .env("OKTA_PRIVATE_KEY_FILE", &good_path)
        .env(
            "OKTA_SCOPES",
            format!(
                "{} okta.logs.read",
                okta_agent::config::DEFAULT_SCOPES.join(" ")
            ),
        )
        .arg("check")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&with_logs.stdout).to_string();
    assert!(
        text.contains("✓ System Log: readable: 0 lockout(s) in the last day"),
        "{text}"
    );

    let bad = run("unknown-kid", &key_path);
    let text = String::from_utf8_lossy(&bad.stdout).to_string();
    assert!(!bad.status.success());
    assert!(
        text.contains("✗ access token") && text.contains("OKTA_KEY_ID"),
        "{text}"
    );

    h.update_client(serde_json::json!({"scopes": ["okta.users.read", "okta.users.manage"]}))
        .await;
    let partial = run("good", &good_path);
    let text = String::from_utf8_lossy(&partial.stdout).to_string();
    assert!(!partial.status.success());
    assert!(text.contains("✗ scopes: okta.roles.read"), "{text}");
    assert!(
        text.contains("✗ Admin roles: cannot read ")
            && text.contains("lacks the scope okta.roles.read")
            && text.contains("every change to a person will be refused"),
        "{text}"
    );

    let missing = bin()
        .env_clear()
        .env("OKTA_ORG_URL", "http://example.com")
        .arg("check")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&missing.stderr).to_string();
    assert!(!missing.status.success());
    assert!(
        err.contains("OKTA_ORG_URL")
            && err.contains("OKTA_CLIENT_ID (or [okta] client_id) is missing"),
        "{err}"
    );
}

/// `audit verify` on PostgreSQL: without a key of its own it says which setting to make (and
/// never shows the password); with one it verifies an empty chain without a SQLite file; the
/// password may come from `DATABASE_PASSWORD_FILE` instead of the URL.
#[test]
fn audit_verify_on_postgres_needs_the_shared_key_and_never_shows_the_password() {
    let Some(database) = crate::common::services::TestDatabase::postgres() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let run = |key: Option<&std::path::Path>| {
        let mut command = bin();
        command
            .env_clear()
            .current_dir(dir.path())
            .env("DATABASE_URL", database.url())
            .args(["audit", "verify"]);
        if let Some(key) = key {
            command.env("OKTA_AGENT_AUDIT_KEY_FILE", key);
        }
        command.output().unwrap()
    };
    let out = run(None);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("OKTA_AGENT_AUDIT_KEY_FILE"), "{text}");
    assert!(text.contains("postgres://okta_agent@127.0.0.1:"), "{text}");
    assert!(!text.contains("ci-only-not-a-secret"), "{text}");
    let key = dir.path().join("audit.key");
    okta_agent::audit::AuditKeys::add_key(&key).unwrap();
    let out = run(Some(&key));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}");
    assert!(text.contains("audit chain intact: 0 record(s)"), "{text}");
    assert!(
        !dir.path().join("okta-agent.db").exists(),
        "no SQLite file on the side"
    );
    // The password from a file of its own (a systemd credential, a container secret).
    let password = dir.path().join("db-password");
    std::fs::write(&password, "ci-only-not-a-secret\n").unwrap();
    let out = bin()
        .env_clear()
        .current_dir(dir.path())
        .env(
            "DATABASE_URL",
            database.url().replace(":ci-only-not-a-secret@", "@"),
        )
        .env("DATABASE_PASSWORD_FILE", &password)
        .env("OKTA_AGENT_AUDIT_KEY_FILE", &key)
        .args(["audit", "verify"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("audit chain intact: 0 record(s)"), "{text}");
}

/// `check` proves what the policy will need: that admin roles can be read (without them every
/// change to a person is refused), which actions the scopes allow, and which actions the
/// policy names although the scopes forbid them. The least-privilege role `init` prints
/// passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_proves_what_the_policy_needs() {
    let h = Harness::demo().await;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("okta.pem");
    std::fs::write(&key, &h.pem).unwrap();
    let config = dir.path().join("okta-agent.toml");
    std::fs::write(
        &config,
        "[policy]\nadmins = [\"U0LEO\"]\nself_service = [\"unlock_user\"]\ntwo_person = [\"remove_user_from_group\"]\n",
    )
    .unwrap();
    let run = || {
        let (org, client_id, key, config, cwd) = (
            h.sandbox.url(),
            h.client_id.clone(),
            key.clone(),
            config.clone(),
            dir.path().to_path_buf(),
        );
        async move {
            tokio::task::spawn_blocking(move || {
                let out = bin()
                    .env_clear()
                    .current_dir(cwd)
                    .env("OKTA_ORG_URL", org)
                    .env("OKTA_CLIENT_ID", client_id)
                    .env("OKTA_PRIVATE_KEY_FILE", key)
                    .env("OKTA_AGENT_CONFIG", config)
                    .arg("check")
                    .output()
                    .unwrap();
                String::from_utf8_lossy(&out.stdout).to_string()
            })
            .await
            .unwrap()
        }
    };
    // A role without okta.iam.read, and no okta.groups.manage scope.
    let scopes: Vec<&str> = okta_agent::config::DEFAULT_SCOPES
        .iter()
        .copied()
        .filter(|s| *s != "okta.groups.manage")
        .collect();
    let weak_role: Vec<&str> = okta_agent::init::all_permissions()
        .into_iter()
        .filter(|p| *p != "okta.iam.read")
        .collect();
    h.update_client(serde_json::json!({"scopes": scopes, "permissions": weak_role}))
        .await;
    let text = run().await;
    assert!(
        text.contains("✗ Admin roles: cannot read ")
            && text.contains("not permitted")
            && text.contains("every change to a person will be refused")
            && text.contains("okta.iam.read"),
        "{text}"
    );
    assert!(
        text.contains("✗ Actions: policy.two_person names remove_user_from_group but the scopes forbid it: okta.groups.manage not granted"),
        "{text}"
    );
    let allowed = text
        .lines()
        .find(|l| l.starts_with("✓ Actions: the granted scopes allow "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(allowed.contains("unlock_user"), "{allowed}");
    assert!(
        allowed.contains(
            "an admin asking for these is refused: add_user_to_group (needs okta.groups.manage)"
        ),
        "{allowed}"
    );

    // The recipe `init` prints, with every scope: every Okta line passes.
    h.update_client(serde_json::json!({
        "scopes": okta_agent::config::DEFAULT_SCOPES,
        "permissions": okta_agent::init::all_permissions(),
    }))
    .await;
    let text = run().await;
    let okta_failures: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with('✗') && !l.starts_with("✗ Slack"))
        .collect();
    assert!(okta_failures.is_empty(), "{text}");
    assert!(
        text.contains("✓ Admin roles: read ") && text.contains("admins can be told apart"),
        "{text}"
    );
    assert!(
        text.contains("✓ Actions: the granted scopes allow 11 of 11"),
        "{text}"
    );
}

/// `--help` names the environment variable of every option and every variable the settings
/// read; `--version` names the commit; with no config file anywhere, `check` says plainly that
/// okta-agent runs read-only.
#[test]
fn help_lists_the_environment_and_version_names_the_commit() {
    let help = bin().arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&help.stdout).to_string();
    assert!(text.contains("[env: OKTA_AGENT_CONFIG="), "{text}");
    assert!(text.contains("[env: OKTA_AGENT_ENV_FILE="), "{text}");
    for (name, _) in okta_agent::config::ENVIRONMENT {
        assert!(text.contains(name), "--help does not list {name}:\n{text}");
    }
    let version = bin().arg("--version").output().unwrap();
    let text = String::from_utf8_lossy(&version.stdout).to_string();
    let commit = text
        .trim()
        .strip_prefix(&format!(
            "okta-agent {} (commit ",
            env!("CARGO_PKG_VERSION")
        ))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        commit == "unknown" || commit.chars().all(|c| c.is_ascii_hexdigit()),
        "{text}"
    );

    if std::path::Path::new("/etc/okta-agent/okta-agent.toml").exists() {
        eprintln!("SKIPPED the no-config part: this machine has /etc/okta-agent/okta-agent.toml");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .env_clear()
        .current_dir(dir.path())
        .arg("check")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        text.starts_with("✓ Config file: none: neither --config nor OKTA_AGENT_CONFIG names one, and there is none at okta-agent.toml or /etc/okta-agent/okta-agent.toml. okta-agent runs read-only"),
        "{text}"
    );
}

/// The binary's allocator runs with the settings docs/measurements.md measured: freed pages
/// purged by a background thread after a second, and no per-thread caches (which an idle
/// thread keeps, with their pages, after a burst) except the ack path's, kept small. jemalloc
/// prints its settings at exit when asked to.
#[test]
fn the_allocator_gives_memory_back() {
    let out = bin()
        .arg("--version")
        .env("_RJEM_MALLOC_CONF", "stats_print:true")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stats = String::from_utf8_lossy(&out.stderr);
    for setting in [
        "opt.background_thread: true",
        "opt.dirty_decay_ms: 1000",
        "opt.muzzy_decay_ms: 0",
        "opt.tcache: false",
        "opt.tcache_max: 4096",
        "opt.tcache_nslots_small_min: 4",
        "opt.tcache_nslots_small_max: 16",
        "opt.tcache_nslots_large: 4",
    ] {
        assert!(stats.contains(setting), "{setting} missing from:\n{stats}");
    }
}

/// `help-docs --ask` follows `[knowledge] min_confidence` for the classifier over spelling, on
/// the starter documents too (no sources configured): 1 turns it off.
#[test]
fn help_docs_ask_follows_min_confidence_on_the_starter_documents() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("okta-agent.toml");
    let asked = "okta keeps asking me to add a second verification method on login, how?";
    for (settings, threshold, answered) in [
        ("", "from 0.70)", true),
        ("[knowledge]\nmin_confidence = 1\n", "from 1.00)", false),
    ] {
        std::fs::write(&config, settings).unwrap();
        let out = bin()
            .env_clear()
            .current_dir(dir.path())
            .arg("--config")
            .arg(&config)
            .args(["help-docs", "--ask", asked])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains(&format!(
                "Spelled:  Set up multi-factor authentication (0.97; answers a question nothing else answers {threshold}"
            )),
            "{text}"
        );
        assert_eq!(
            text.contains("Answer:   Install Okta Verify"),
            answered,
            "{text}"
        );
    }
}
