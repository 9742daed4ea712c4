//! Records the commit the binary is built from, for `okta-agent --version`: `git rev-parse`
//! when the source is a git checkout, else `OKTA_AGENT_COMMIT` from the build's environment
//! (a container build, where .git is not in the context), else "unknown". A crate for this
//! (vergen and the like) would add a dependency tree for one command.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=OKTA_AGENT_COMMIT");
    for path in [".git/HEAD", ".git/refs/heads", ".git/packed-refs"] {
        if std::path::Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    let from_git = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|text| text.trim().to_string())
        .filter(|text| !text.is_empty());
    let commit = from_git
        .or_else(|| std::env::var("OKTA_AGENT_COMMIT").ok())
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=OKTA_AGENT_COMMIT={commit}");
}
