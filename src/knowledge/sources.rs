//! Where help documents come from: a folder of Markdown, plain-text and HTML files, and
//! intranet pages (Confluence, Notion, SharePoint published pages) fetched over HTTP through
//! the same proxy settings as everything else and cached on disk, so a restart works offline.
//! A folder's fingerprint (names, sizes, modification times) tells the watcher when to reload.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use super::doc::{self, Format};
use super::index::Synonyms;
use super::{HelpDocs, KnowledgeError};

/// An intranet page to index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    pub url: String,
    /// How often to fetch it again.
    pub refresh: Duration,
}

/// The configured sources (`[knowledge]`).
#[derive(Clone, Debug, Default)]
pub struct Sources {
    pub folder: Option<PathBuf>,
    pub pages: Vec<Page>,
    /// Where fetched pages are kept.
    pub cache_dir: Option<PathBuf>,
    pub synonyms: Vec<(String, Vec<String>)>,
    /// The team's own symptom table lines (`[knowledge.symptoms]`: topics = [situations]).
    pub symptoms: Vec<(String, Vec<String>)>,
    /// The messages that are not for IT the classifier over spelling learns from (`[knowledge]
    /// off_topic` and the built-in ones); `None` for the built-in ones.
    pub off_topic: Option<Vec<String>>,
    /// The probability from which a classifier's document answers (`[knowledge]
    /// min_confidence`; 1 turns them off); `None` for the default.
    pub min_confidence: Option<f32>,
}

impl Sources {
    pub fn is_empty(&self) -> bool {
        self.folder.is_none() && self.pages.is_empty()
    }

    /// These documents with the team's off-topic messages and `min_confidence` (the demo's
    /// starter set has no sources, and still follows them).
    pub fn configure(&self, mut docs: HelpDocs) -> HelpDocs {
        if let Some(off_topic) = &self.off_topic {
            docs = docs.with_off_topic(off_topic.clone());
        }
        if let Some(min_confidence) = self.min_confidence {
            docs = docs.with_min_confidence(min_confidence);
        }
        docs
    }

    /// Every document the sources hold now, and the files that could not be read (by name,
    /// with why). A folder that cannot be read at all is an error.
    pub fn load(&self) -> Result<(HelpDocs, Vec<String>), KnowledgeError> {
        let mut docs = Vec::new();
        let mut problems = Vec::new();
        if let Some(folder) = &self.folder {
            let mut files = Vec::new();
            collect_files(folder, folder, &mut files).map_err(|e| {
                KnowledgeError(format!(
                    "cannot read the help-docs folder {} ({e}); set [knowledge] path to a folder of .md, .txt or .html files",
                    folder.display()
                ))
            })?;
            files.sort();
            for (name, path) in files {
                let Some(format) = Format::of(&name) else {
                    continue;
                };
                let parsed = std::fs::read(&path)
                    .map_err(|e| format!("cannot read it ({e})"))
                    .and_then(|bytes| {
                        String::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_string())
                    })
                    .and_then(|text| doc::parse(&name, &text, format));
                match parsed {
                    Ok(doc) => docs.push(doc),
                    Err(why) => problems.push(format!("{name}: {why}")),
                }
            }
        }
        for page in &self.pages {
            match self.cached(page) {
                Some(html) => match doc::parse(&page.url, &html, Format::Html) {
                    Ok(mut doc) => {
                        // A page links to itself; its heading ids are the CMS's own, so
                        // citations link to the page rather than guess an anchor.
                        if doc.link.is_none() {
                            doc.link = Some(page.url.clone());
                            for section in &mut doc.sections {
                                section.anchor.clear();
                            }
                        }
                        docs.push(doc);
                    }
                    Err(why) => problems.push(format!("{}: {why}", page.url)),
                },
                None => problems.push(format!(
                    "{}: not fetched yet (it is fetched in the background, and cached for offline restarts)",
                    page.url
                )),
            }
        }
        let loaded = HelpDocs::new(
            docs,
            Synonyms::with_symptoms(&self.synonyms, &self.symptoms),
        );
        Ok((self.configure(loaded), problems))
    }

    fn cache_path(&self, url: &str) -> Option<PathBuf> {
        let dir = self.cache_dir.as_ref()?;
        let digest = Sha256::digest(url.as_bytes());
        let name: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        Some(dir.join(format!("{name}.html")))
    }

    fn cached(&self, page: &Page) -> Option<String> {
        std::fs::read_to_string(self.cache_path(&page.url)?).ok()
    }

    /// Pages whose cached copy is missing or older than their refresh interval.
    pub fn due_pages(&self) -> Vec<Page> {
        self.pages
            .iter()
            .filter(|page| {
                let modified = self
                    .cache_path(&page.url)
                    .and_then(|p| std::fs::metadata(p).ok())
                    .and_then(|m| m.modified().ok());
                match modified {
                    Some(at) => at.elapsed().unwrap_or(Duration::MAX) >= page.refresh,
                    None => true,
                }
            })
            .cloned()
            .collect()
    }

    /// Fetches the due pages into the cache; returns how many changed, and what failed (a
    /// failed fetch keeps the cached copy).
    pub async fn refresh_pages(&self, http: &reqwest::Client) -> (usize, Vec<String>) {
        let mut fetched = 0;
        let mut failures = Vec::new();
        for page in self.due_pages() {
            let Some(path) = self.cache_path(&page.url) else {
                failures.push(format!("{}: no cache_dir is configured", page.url));
                continue;
            };
            let body = async {
                let response = http
                    .get(&page.url)
                    .send()
                    .await
                    .map_err(|e| crate::http::describe_transport_error(&e))?;
                if !response.status().is_success() {
                    return Err(format!("HTTP {}", response.status()));
                }
                response
                    .text()
                    .await
                    .map_err(|e| crate::http::describe_transport_error(&e))
            }
            .await;
            match body {
                Ok(html) => {
                    let written = path
                        .parent()
                        .map_or(Ok(()), std::fs::create_dir_all)
                        .and_then(|()| std::fs::write(&path, html));
                    match written {
                        Ok(()) => fetched += 1,
                        Err(e) => failures.push(format!("{}: cannot cache it ({e})", page.url)),
                    }
                }
                Err(why) => failures.push(format!("{}: {why}", page.url)),
            }
        }
        (fetched, failures)
    }

    /// A fingerprint of the folder: changes when a file is added, removed or modified.
    pub fn fingerprint(&self) -> Vec<(String, u64, SystemTime)> {
        let Some(folder) = &self.folder else {
            return Vec::new();
        };
        let mut files = Vec::new();
        if collect_files(folder, folder, &mut files).is_err() {
            return Vec::new();
        }
        let mut print: Vec<(String, u64, SystemTime)> = files
            .into_iter()
            .filter_map(|(name, path)| {
                let meta = std::fs::metadata(&path).ok()?;
                Some((name, meta.len(), meta.modified().ok()?))
            })
            .collect();
        print.sort();
        print
    }
}

/// Files under `dir` (recursively, hidden ones skipped), named relative to `root`.
fn collect_files(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            collect_files(root, &path, out)?;
        } else {
            let relative = path
                .strip_prefix(root)
                .map_or(name, |p| p.to_string_lossy().replace('\\', "/"));
            out.push((relative, path));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_file_is_named_and_the_rest_are_served() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("vpn.md"), "# VPN\nOpen GlobalProtect.").unwrap();
        std::fs::write(dir.path().join("broken.md"), "---\ntitle: [oops\n---\nText").unwrap();
        std::fs::write(dir.path().join("binary.txt"), [0xff, 0xfe, 0x00]).unwrap();
        std::fs::write(dir.path().join("notes.pdf"), "ignored").unwrap();
        std::fs::create_dir(dir.path().join("hr")).unwrap();
        std::fs::write(dir.path().join("hr/leave.txt"), "Annual leave\nAsk HR.").unwrap();
        let sources = Sources {
            folder: Some(dir.path().to_path_buf()),
            ..Sources::default()
        };
        let (docs, problems) = sources.load().unwrap();
        assert_eq!(docs.len(), 2, "vpn.md and hr/leave.txt");
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("binary.txt: it is not UTF-8"));
        assert!(problems[1].starts_with("broken.md: front matter"));
        let missing = Sources {
            folder: Some(dir.path().join("nope")),
            ..Sources::default()
        };
        assert!(missing
            .load()
            .unwrap_err()
            .to_string()
            .contains("cannot read the help-docs folder"));
    }
}
