//! The recovery file: an append-only file on this host where an outcome (or its audit record)
//! that could not be written to the database after Okta acted waits for the next start. Each
//! line is synced to disk before the call returns; every access holds the file's lock, so
//! processes sharing the file (replicas on one host) neither lose a line nor merge one twice.
//! File I/O runs on tokio's blocking threads, never on its workers.

use std::fs::File;
use std::io::{Read, Write};
use std::path::PathBuf;

use super::{Store, StoreError};

/// The recovery file's lines, read under its lock, which is held until they are merged (or
/// this is dropped, leaving them for the next try).
pub struct RecoveryLines {
    file: File,
    path: PathBuf,
    lines: Vec<String>,
}

impl RecoveryLines {
    /// The lines, oldest first.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// The lines were recorded: empties the file (never removes it, since a process waiting
    /// to append holds it open) and releases the lock. Returns how many lines there were.
    pub async fn merged(self) -> Result<usize, StoreError> {
        let Self { file, path, lines } = self;
        blocking(path, move |path| {
            file.set_len(0).map_err(|source| fallback(path, source))?;
            file.sync_all().map_err(|source| fallback(path, source))?;
            Ok(lines.len())
        })
        .await
    }
}

fn fallback(path: &std::path::Path, source: std::io::Error) -> StoreError {
    StoreError::Fallback {
        path: path.display().to_string(),
        source,
    }
}

/// Runs file work on a blocking thread.
async fn blocking<T: Send + 'static>(
    path: PathBuf,
    work: impl FnOnce(&std::path::Path) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let shown = path.clone();
    tokio::task::spawn_blocking(move || work(&path))
        .await
        .map_err(|e| fallback(&shown, std::io::Error::other(e.to_string())))?
}

impl Store {
    /// The append-only file beside the database where writes that failed after an Okta change
    /// wait for the next start.
    pub fn recovery_path(&self) -> PathBuf {
        self.recovery.clone()
    }

    /// Appends one line to the recovery file and syncs it to disk, under the file's lock.
    pub async fn append_recovery(&self, line: &str) -> Result<(), StoreError> {
        let line = format!("{}\n", line.trim_end());
        blocking(self.recovery_path(), move |path| {
            let mut options = std::fs::OpenOptions::new();
            options.create(true).append(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(path).map_err(|e| fallback(path, e))?;
            file.lock().map_err(|e| fallback(path, e))?;
            file.write_all(line.as_bytes())
                .map_err(|e| fallback(path, e))?;
            file.sync_all().map_err(|e| fallback(path, e))
        })
        .await
    }

    /// The recovery file's lines, under its lock; `None` when there are none.
    pub async fn take_recovery(&self) -> Result<Option<RecoveryLines>, StoreError> {
        blocking(self.recovery_path(), |path| {
            let mut file = match std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
            {
                Ok(file) => file,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(fallback(path, e)),
            };
            file.lock().map_err(|e| fallback(path, e))?;
            let mut text = String::new();
            file.read_to_string(&mut text)
                .map_err(|e| fallback(path, e))?;
            let lines: Vec<String> = text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string)
                .collect();
            Ok((!lines.is_empty()).then(|| RecoveryLines {
                file,
                path: path.to_path_buf(),
                lines,
            }))
        })
        .await
    }
}
