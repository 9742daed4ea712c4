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
        "OKTA_PRIVATE_KEY_FILE=%d/okta.pem",
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
    assert!(run_stage.contains("USER nonroot"), "a non-root user");
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
            replica["environment"]["OKTA_AGENT_AUDIT_KEY_FILE"], "/etc/okta-agent/audit-key",
            "{name}: one key for every replica"
        );
        assert!(replica["environment"]["OKTA_AGENT_LISTEN"].is_string());
        let url = replica["environment"]["DATABASE_URL"].as_str().unwrap();
        assert!(
            url.starts_with("postgres://okta_agent@postgres:5432/"),
            "{url}"
        );
        assert_eq!(
            replica["environment"]["DATABASE_PASSWORD_FILE"], "/run/secrets/postgres-password",
            "{name}: the password from the secret the server reads too, in no environment"
        );
        assert_eq!(replica["secrets"][0], "postgres-password", "{name}");
        assert_eq!(replica["working_dir"], "/var/lib/okta-agent");
        state_volumes.push(replica["volumes"][0].as_str().unwrap().to_string());
    }
    assert_ne!(
        state_volumes[0], state_volumes[1],
        "a recovery file per replica"
    );
}
