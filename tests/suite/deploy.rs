//! The packaging in `deploy/`: the systemd unit verifies with `systemd-analyze` where it is
//! installed, and the Dockerfile and compose file hold what the README promises (checked as
//! text: CI has no container runtime).

use std::process::Command;

fn read(name: &str) -> String {
    std::fs::read_to_string(format!("{}/deploy/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn the_systemd_unit_is_locked_down_and_verifies() {
    let unit = read("okta-agent.service");
    for setting in [
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "StateDirectory=okta-agent",
        "NoNewPrivileges=yes",
        "LoadCredential=okta.pem:",
        "LoadCredential=audit-key:",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "CapabilityBoundingSet=\n",
    ] {
        assert!(unit.contains(setting), "missing {setting:?}");
    }
    let Some(analyze) = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
    else {
        eprintln!("SKIPPED: systemd-analyze is not installed");
        return;
    };
    // Verified with the binary this build made in place of the installed one.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("okta-agent.service");
    std::fs::write(
        &copy,
        unit.replace(
            "/usr/local/bin/okta-agent",
            env!("CARGO_BIN_EXE_okta-agent"),
        ),
    )
    .unwrap();
    let out = Command::new(analyze)
        .arg("verify")
        .arg(&copy)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let complaints: Vec<&str> = said
        .lines()
        .filter(|l| l.contains("okta-agent.service"))
        .collect();
    assert!(complaints.is_empty(), "{said}");
}

#[test]
fn the_container_runs_without_a_shell_as_a_non_root_user() {
    let dockerfile = read("Dockerfile");
    let stages: Vec<&str> = dockerfile
        .lines()
        .filter(|l| l.starts_with("FROM "))
        .collect();
    assert_eq!(stages.len(), 2, "multi-stage: build, then run");
    assert!(
        stages[1].contains("distroless"),
        "no shell at run time: {}",
        stages[1]
    );
    let run_stage = dockerfile.split("\nFROM ").nth(2).unwrap();
    assert!(
        !run_stage.contains("\nRUN "),
        "nothing runs a shell in the final stage"
    );
    assert!(
        run_stage.contains("USER 65532:65532"),
        "a non-root user (distroless's nonroot)"
    );
    assert!(run_stage.contains("ENTRYPOINT [\"/usr/local/bin/okta-agent\"]"));
}

/// The compose file: PostgreSQL and two replicas that share the database and the audit key,
/// each with a state volume of its own (its recovery file); the password is a secret file.
#[test]
fn the_compose_file_runs_two_replicas_on_postgres() {
    let text = read("compose.yml");
    let mut compose: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    compose.apply_merge().unwrap();
    let compose: serde_json::Value = serde_json::to_value(&compose).unwrap();
    let services = &compose["services"];
    assert!(services["postgres"]["image"]
        .as_str()
        .unwrap()
        .starts_with("postgres:"));
    assert!(services["postgres"]["healthcheck"]["test"].is_array());
    let mut state_volumes = Vec::new();
    for name in ["okta-agent-1", "okta-agent-2"] {
        let replica = &services[name];
        assert_eq!(replica["read_only"], true, "{name}");
        assert_eq!(replica["command"][0], "run", "{name}");
        assert_eq!(
            replica["depends_on"]["postgres"]["condition"], "service_healthy",
            "{name}"
        );
        assert_eq!(
            replica["environment"]["CREDENTIALS_DIRECTORY"], "/run/secrets",
            "{name}: the secrets, one audit key for every replica, found by name"
        );
        assert!(replica["environment"]["OKTA_AGENT_LISTEN"].is_string());
        let url = replica["environment"]["DATABASE_URL"].as_str().unwrap();
        assert!(
            url.starts_with("postgres://okta_agent@postgres:5432/"),
            "{url}"
        );
        assert!(
            replica["secrets"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["target"] == "db-password"),
            "{name}: the password from the secret the server reads too, in no environment"
        );
        assert_eq!(replica["working_dir"], "/var/lib/okta-agent");
        state_volumes.push(replica["volumes"][0].as_str().unwrap().to_string());
    }
    assert_ne!(
        state_volumes[0], state_volumes[1],
        "a recovery file per replica"
    );
}

/// The unit, the compose file and the Dockerfile use the names and the layout `init` writes:
/// one set of names everywhere.
#[test]
fn the_deploy_files_use_the_names_init_writes() {
    use okta_agent::init::{self, Layout};
    let unit = read("okta-agent.service");
    let directives = |key: &str| -> Vec<String> {
        unit.lines()
            .filter_map(|l| l.strip_prefix(&format!("{key}=")))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(directives("ExecStart"), ["/usr/local/bin/okta-agent run"]);
    let credentials: Vec<String> = directives("LoadCredential");
    assert!(!credentials.is_empty());
    let systemd_files = init::file_names(Layout::Systemd);
    let credential_names: Vec<&str> = okta_agent::config::SECRETS
        .iter()
        .map(|s| s.credential)
        .collect();
    for credential in &credentials {
        let (name, path) = credential.split_once(':').unwrap();
        assert!(
            credential_names.contains(&name),
            "{name} is no credential okta-agent looks for"
        );
        assert_eq!(path, format!("/etc/okta-agent/{name}"), "{credential}");
        assert!(systemd_files.contains(&name), "init writes no {name}");
    }
    assert_eq!(
        directives("Environment")
            .iter()
            .find_map(|e| e.strip_prefix("OKTA_AGENT_CONFIG="))
            .unwrap(),
        format!("/etc/okta-agent/{}", init::CONFIG_FILE)
    );
    assert_eq!(
        directives("EnvironmentFile"),
        [format!("-/etc/okta-agent/{}", init::ENV_FILE)]
    );
    assert_eq!(directives("WorkingDirectory"), [init::STATE_DIR]);
    assert_eq!(
        format!("/var/lib/{}", directives("StateDirectory")[0]),
        init::STATE_DIR
    );
    // No variable may name a secret the credentials already give: that is "given twice".
    assert!(
        !unit
            .lines()
            .any(|l| !l.starts_with('#') && l.contains("_FILE=%d/")),
        "a credential is found by name; naming it again refuses to start"
    );

    let text = read("compose.yml");
    let mut compose: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    compose.apply_merge().unwrap();
    let compose: serde_json::Value = serde_json::to_value(&compose).unwrap();
    let compose_files = init::file_names(Layout::Compose);
    let uid = init::CONTAINER_UID.to_string();
    for (name, replica) in compose["services"].as_object().unwrap() {
        if name == "postgres" {
            continue;
        }
        assert_eq!(
            replica["env_file"],
            format!("config/{}", init::ENV_FILE),
            "{name}"
        );
        assert_eq!(
            replica["environment"]["OKTA_AGENT_CONFIG"],
            format!("/etc/okta-agent/{}", init::CONFIG_FILE)
        );
        assert!(replica["volumes"].as_array().unwrap().iter().any(|v| v
            == &serde_json::json!(format!(
                "./config/{0}:/etc/okta-agent/{0}:ro",
                init::CONFIG_FILE
            ))));
        for secret in replica["secrets"].as_array().unwrap() {
            let target = secret["target"].as_str().unwrap();
            assert!(credential_names.contains(&target), "{target}");
            let file = compose["secrets"][secret["source"].as_str().unwrap()]["file"]
                .as_str()
                .unwrap();
            assert_eq!(
                file,
                format!("config/{target}"),
                "the secret is the file init writes"
            );
            assert!(
                compose_files.contains(&target),
                "init --layout compose writes no {target}"
            );
            assert_eq!(secret["uid"], uid);
            assert_eq!(secret["gid"], uid);
            assert_eq!(secret["mode"], 0o400, "{target}");
        }
    }
    assert_eq!(
        compose["services"]["postgres"]["environment"]["POSTGRES_PASSWORD_FILE"],
        format!("/run/secrets/{}", init::DB_PASSWORD_FILE)
    );
    let dockerfile = read("Dockerfile");
    assert!(dockerfile.contains(&format!("USER {uid}:{uid}")));
    assert!(dockerfile.contains("CREDENTIALS_DIRECTORY=/run/secrets"));
    // The build context leaves keys and history out.
    let ignore =
        std::fs::read_to_string(format!("{}/.dockerignore", env!("CARGO_MANIFEST_DIR"))).unwrap();
    for entry in [
        "target/",
        ".git/",
        "deploy/config/",
        "**/*.pem",
        "**/audit-key",
        "**/env",
    ] {
        assert!(
            ignore.lines().any(|l| l == entry),
            ".dockerignore lacks {entry}"
        );
    }
    let gitignore =
        std::fs::read_to_string(format!("{}/.gitignore", env!("CARGO_MANIFEST_DIR"))).unwrap();
    for entry in [
        "*.pem",
        "audit-key",
        "*.db",
        "*.db.inbound",
        "*.recovery.jsonl",
        "deploy/config/",
        "/env",
        "db-password",
    ] {
        assert!(
            gitignore.lines().any(|l| l == entry),
            ".gitignore lacks {entry}"
        );
    }
}
