//! Real services some tests run against, as users run them: Debian's `tinyproxy` (a forward
//! proxy). On a machine without it the test says so and is skipped; with
//! `OKTA_AGENT_TEST_SERVICES=required` (what `.ci/run` sets after installing it) a missing
//! service is a failure, so CI can never skip them quietly.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// `program` on the PATH (or in /usr/sbin), or `None` when the test may be skipped.
pub fn find(program: &str, package: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|dir| dir.join(program))
        .find(|p| p.is_file());
    if found.is_none() {
        let required = std::env::var("OKTA_AGENT_TEST_SERVICES").is_ok_and(|v| v == "required");
        assert!(!required, "{program} is not installed, and OKTA_AGENT_TEST_SERVICES=required: install Debian's {package} (.ci/run does)");
        eprintln!("SKIPPED: {program} is not installed (apt-get install {package}); .ci/run installs it and runs this test");
    }
    found
}

/// A tinyproxy on loopback with its own config and log.
pub struct TinyProxy {
    pub port: u16,
    pub log: PathBuf,
    child: Child,
}

impl TinyProxy {
    /// Starts one in `dir`; `None` when tinyproxy is not installed (see [`find`]).
    pub fn start(dir: &Path) -> Option<Self> {
        let program = find("tinyproxy", "tinyproxy")?;
        let port = {
            let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            socket.local_addr().unwrap().port()
        };
        let log = dir.join("tinyproxy.log");
        let conf = dir.join("tinyproxy.conf");
        // No ConnectPort lines: CONNECT is allowed to any port (the fake Slack's websocket is
        // not on 443). Info level logs every request line and every CONNECT.
        std::fs::write(
            &conf,
            format!(
                "Port {port}\nListen 127.0.0.1\nTimeout 600\nAllow 127.0.0.1\nLogFile \"{}\"\nLogLevel Info\nMaxClients 100\n",
                log.display()
            ),
        )
        .unwrap();
        let child = Command::new(program)
            .arg("-d")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut proxy = Self { port, log, child };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(proxy);
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        let _ = proxy.child.kill();
        let _ = proxy.child.wait();
        panic!("tinyproxy did not start on port {}", proxy.port);
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What the proxy logged.
    pub fn logged(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for TinyProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
