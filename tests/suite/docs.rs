//! The docs, held to the code: every config key the parser accepts is in
//! docs/configuration.md and every key it names is accepted; every environment variable the
//! loader reads is listed; the scopes and the admin role install.md lists are the code's; every
//! table renders as a table; relative links lead to files; the README stays a front door.

use std::path::{Path, PathBuf};

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

const REPO: &str = env!("CARGO_MANIFEST_DIR");

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(REPO).join(path)).unwrap()
}

/// Every Markdown file of the project (not the recorded fixtures' own).
fn markdown_files() -> Vec<PathBuf> {
    let mut files = vec![
        PathBuf::from("README.md"),
        PathBuf::from("CHANGELOG.md"),
        PathBuf::from("SECURITY.md"),
        PathBuf::from("prompts/README.md"),
        PathBuf::from("tools/README.md"),
    ];
    for entry in std::fs::read_dir(Path::new(REPO).join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            files.push(path.strip_prefix(REPO).unwrap().to_path_buf());
        }
    }
    files.sort();
    files
}

/// Each table row of `text`, by section heading: (heading, first cell of each body row).
fn tables_by_heading(text: &str) -> Vec<(String, Vec<String>)> {
    let mut tables = Vec::new();
    let mut heading = String::new();
    let mut in_heading = false;
    let (mut in_table, mut in_head, mut cell_index) = (false, false, 0usize);
    let mut rows: Vec<String> = Vec::new();
    let mut cell = String::new();
    for event in Parser::new_ext(text, Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::Heading { .. }) => {
                in_heading = true;
                heading.clear();
            }
            Event::End(TagEnd::Heading(_)) => in_heading = false,
            Event::Start(Tag::Table(_)) => {
                in_table = true;
                rows.clear();
            }
            Event::End(TagEnd::Table) => {
                in_table = false;
                tables.push((heading.clone(), std::mem::take(&mut rows)));
            }
            Event::Start(Tag::TableHead) => in_head = true,
            Event::End(TagEnd::TableHead) => in_head = false,
            Event::Start(Tag::TableRow) => cell_index = 0,
            Event::Start(Tag::TableCell) => cell.clear(),
            Event::End(TagEnd::TableCell) => {
                if in_table && !in_head && cell_index == 0 {
                    rows.push(cell.clone());
                }
                cell_index += 1;
            }
            Event::Text(t) | Event::Code(t) => {
                if in_heading {
                    heading.push_str(&t);
                }
                if in_table {
                    cell.push_str(&t);
                }
            }
            _ => {}
        }
    }
    tables
}

#[test]
fn every_config_key_is_documented_and_every_documented_key_is_accepted() {
    let doc = read("docs/configuration.md");
    let mut documented = Vec::new();
    for (heading, rows) in tables_by_heading(&doc) {
        let Some(section) = heading
            .split_whitespace()
            .find(|w| w.starts_with('['))
            .map(|w| w.trim_matches(['[', ']']))
        else {
            continue;
        };
        let prefix = if heading.contains("[[") {
            format!("{section}[]")
        } else {
            section.to_string()
        };
        for key in rows {
            documented.push(format!("{prefix}.{key}"));
        }
    }
    let accepted = okta_agent::config::file_keys();
    let missing: Vec<&String> = accepted
        .iter()
        .filter(|k| !documented.contains(k))
        .collect();
    assert!(
        missing.is_empty(),
        "the parser accepts keys docs/configuration.md does not name: {missing:?}"
    );
    // Every documented key goes through the real parser: it may dislike the value, never the
    // key.
    for key in &documented {
        let (table, field) = key.rsplit_once('.').unwrap();
        let toml = match table.strip_suffix("[]") {
            Some(array) => format!("[[{array}]]\n{field} = 0\n"),
            None => format!("[{table}]\n{field} = 0\n"),
        };
        let outcome = okta_agent::config::Settings::load_text(&|_| None, None, Some(&toml));
        if let Err(e) = outcome {
            assert!(
                !e.to_string().contains("unknown field"),
                "docs/configuration.md names {key}, which the parser refuses: {e}"
            );
        }
    }
}

#[test]
fn every_environment_variable_is_listed_and_documented() {
    let doc = read("docs/configuration.md");
    for (name, _) in okta_agent::config::ENVIRONMENT {
        assert!(
            doc.contains(&format!("`{name}`")),
            "docs/configuration.md does not name {name}"
        );
    }
    // What the loader asks the environment for, with a credentials directory and a config
    // file that reaches every branch.
    let dir = tempfile::tempdir().unwrap();
    let asked = std::sync::Mutex::new(std::collections::BTreeSet::new());
    let env = |name: &str| -> Option<String> {
        asked.lock().unwrap().insert(name.to_string());
        match name {
            "CREDENTIALS_DIRECTORY" => Some(dir.path().display().to_string()),
            "OKTA_ORG_URL" => Some("https://acme.okta.com".into()),
            "DATABASE_URL" => Some("postgres://okta@db/okta".into()),
            "OPENAI_MODEL" => Some("m".into()),
            "OPENAI_BASE_URL" => Some("http://127.0.0.1:9/v1".into()),
            "SLACK_BOT_TOKEN" => Some("xoxb-1".into()),
            _ => None,
        }
    };
    let _ = okta_agent::config::Settings::load(&env, None);
    let listed: Vec<&str> = okta_agent::config::ENVIRONMENT
        .iter()
        .map(|(n, _)| *n)
        .collect();
    for name in asked.lock().unwrap().iter() {
        assert!(
            listed.contains(&name.as_str()),
            "the loader reads {name}, which config::ENVIRONMENT (and so --help) does not list"
        );
    }
}

#[test]
fn the_install_guide_lists_the_scopes_and_role_the_code_needs() {
    let blocks = crate::suite::install::code_blocks(&Path::new(REPO).join("docs/install.md"));
    let block = |info: &str| -> Vec<String> {
        blocks
            .iter()
            .find(|(i, _)| i == info)
            .unwrap_or_else(|| panic!("install.md has no {info} block"))
            .1
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    assert_eq!(block("text okta-scopes"), okta_agent::init::all_scopes());
    assert_eq!(block("text okta-role"), okta_agent::init::all_permissions());
    // The per-action table says what each tool's declaration says.
    let doc = read("docs/install.md");
    for tool in okta_agent::tools::Tool::ALL
        .into_iter()
        .filter(|t| t.changes_okta())
    {
        let row = doc
            .lines()
            .find(|l| l.trim_start().starts_with('|') && l.contains(&format!("`{}`", tool.name())))
            .unwrap_or_else(|| panic!("install.md's role table has no row for {}", tool.name()));
        for permission in tool.permissions() {
            assert!(row.contains(permission), "{row} lacks {permission}");
        }
    }
}

#[test]
fn every_table_renders_and_every_relative_link_leads_somewhere() {
    for file in markdown_files() {
        let text = read(file.to_str().unwrap());
        // Lines the parser put in a table, or in a code block, where pipes are meant.
        let mut covered = vec![false; text.len() + 1];
        let mut links = Vec::new();
        for (event, range) in Parser::new_ext(&text, Options::ENABLE_TABLES).into_offset_iter() {
            match event {
                Event::Start(Tag::Table(_)) | Event::Start(Tag::CodeBlock(_)) => {
                    for c in covered.iter_mut().take(range.end).skip(range.start) {
                        *c = true;
                    }
                }
                Event::Start(Tag::Link { dest_url, .. }) => links.push(dest_url.to_string()),
                _ => {}
            }
        }
        let mut offset = 0;
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with('|')
                && !covered[offset + line.len() - line.trim_start().len()]
            {
                panic!(
                    "{}:{}: a table row that is not in a table (a missing header?): {line}",
                    file.display(),
                    n + 1
                );
            }
            offset += line.len() + 1;
        }
        let base = Path::new(REPO).join(&file);
        for link in links {
            if link.contains("://") || link.starts_with('#') || link.starts_with("mailto:") {
                continue;
            }
            let target = link.split('#').next().unwrap_or_default();
            let path = base.parent().unwrap().join(target);
            assert!(
                path.exists(),
                "{}: the link {link} leads nowhere",
                file.display()
            );
        }
    }
}

#[test]
fn the_readme_is_a_front_door() {
    let readme = read("README.md");
    let lines = readme.lines().count();
    assert!(
        lines <= 300,
        "README.md has {lines} lines; the rest belongs in docs/"
    );
    assert!(
        readme.starts_with("# okta-agent\n\n```sh\ncargo run --release -- chat ")
            && readme.contains("\ncargo test "),
        "the README starts with the two commands"
    );
    let mut headings = Vec::new();
    let mut in_heading = None;
    for event in Parser::new(&readme) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => in_heading = Some((level, String::new())),
            Event::Text(t) => {
                if let Some((_, h)) = in_heading.as_mut() {
                    h.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => headings.extend(in_heading.take()),
            _ => {}
        }
    }
    for (level, heading) in &headings {
        let lower = heading.to_lowercase();
        assert!(
            !(lower.contains("changelog") || lower.contains("status") || lower.contains("history")),
            "the README holds no changelog: {heading}"
        );
        assert!(*level <= HeadingLevel::H3, "{heading}");
    }
    assert!(
        !readme.contains("**Status.**"),
        "the README holds no changelog"
    );
    for page in [
        "install.md",
        "configuration.md",
        "operations.md",
        "automations.md",
        "security-model.md",
        "measurements.md",
        "development.md",
    ] {
        assert!(
            readme.contains(&format!("(docs/{page})")),
            "the README's map of docs/ lacks {page}"
        );
    }
    // The test command is the one CI runs.
    let ci = read(".ci/run");
    assert!(ci.contains("cargo test --locked"), "{ci}");
}

/// The layout table in `src/lib.rs` names every top-level module, and nothing else.
#[test]
fn the_layout_table_lists_every_module() {
    let lib = read("src/lib.rs");
    let declared: Vec<String> = lib
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let rest = l
                .strip_prefix("pub mod ")
                .or_else(|| l.strip_prefix("pub(crate) mod "))
                .or_else(|| l.strip_prefix("mod "))?;
            Some(rest.trim_end_matches(';').to_string())
        })
        .collect();
    let listed: Vec<String> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//! | "))
        .filter_map(|row| {
            let cell = row.split(" |").next()?;
            let name = cell.trim_matches(['[', ']', '`']);
            (!name.is_empty() && name != "module" && !name.starts_with('-'))
                .then(|| name.to_string())
        })
        .collect();
    let mut missing: Vec<&String> = declared.iter().filter(|m| !listed.contains(m)).collect();
    missing.sort();
    assert!(
        missing.is_empty(),
        "src/lib.rs's layout table lacks {missing:?}"
    );
    let extra: Vec<&String> = listed.iter().filter(|m| !declared.contains(m)).collect();
    assert!(
        extra.is_empty(),
        "src/lib.rs's layout table names no module {extra:?}"
    );
    assert!(declared.len() >= 20, "{declared:?}");
}
