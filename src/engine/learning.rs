//! What the help assistant learns from IT admins: a help-channel question and the document an
//! admin says answers it (a link to it in their reply, or a pick from the escalation's "Which
//! doc answers this?" menu) become a learned phrasing of that document, kept in the store with
//! who taught it and when, audited, and matched like the document's own `questions`. Review
//! and forgetting are here too, for the command line.

use super::{Engine, EngineError, Output};
use crate::audit::{AuditKeys, AuditRecord};
use crate::knowledge::doc::MAX_PHRASING_CHARS;
use crate::knowledge::LearnedPhrasing;
use crate::store::{LearnedPhrasingRow, Store};

/// How an admin pointed at the document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Teaching<'a> {
    /// A reply in the question's thread: every link in it, by URL. Replies from people who are
    /// not admins, and replies that link no help document, teach nothing and say nothing.
    ThreadReply { text: &'a str },
    /// The escalation menu: the document's source, as the menu listed it.
    Menu { doc: &'a str },
}

/// A help-channel question, as it was asked.
#[derive(Clone, Copy, Debug)]
pub struct AskedQuestion<'a> {
    pub text: &'a str,
    pub channel: &'a str,
    pub ts: &'a str,
    /// Who asked it.
    pub asker: &'a str,
}

impl From<LearnedPhrasingRow> for LearnedPhrasing {
    fn from(row: LearnedPhrasingRow) -> Self {
        LearnedPhrasing {
            id: row.id,
            doc: row.doc,
            phrasing: row.phrasing,
            taught_by: row.taught_by,
            taught_at: row.taught_at,
        }
    }
}

impl Engine {
    /// `admin` says a document answers `question`: it becomes a learned phrasing of that
    /// document, and the next person who asks the same gets the answer. The admin alone is
    /// told what happened.
    pub async fn teach_help(
        &self,
        admin: &str,
        question: AskedQuestion<'_>,
        teaching: Teaching<'_>,
    ) -> Vec<Output> {
        let tell = |text: String| {
            vec![Output::Ephemeral {
                to: admin.to_string(),
                text,
            }]
        };
        let by_menu = matches!(teaching, Teaching::Menu { .. });
        if !self.policy.is_admin(admin) {
            // A colleague's helpful link is not a lesson; a menu pick by a non-admin is refused.
            return if by_menu {
                tell("Only IT admins can teach the help assistant. Nothing was learned.".into())
            } else {
                Vec::new()
            };
        }
        // Trained: the check below answers the question as the assistant would.
        let docs = self.agent.knowledge().current_trained().await;
        let doc = match teaching {
            Teaching::Menu { doc } => docs.docs().iter().find(|d| d.source == doc),
            Teaching::ThreadReply { text } => links(text).find_map(|url| docs.doc_linked(url)),
        };
        let Some(doc) = doc else {
            return if by_menu {
                tell("That help document is no longer in the help docs (they were reloaded). Nothing was learned.".into())
            } else {
                Vec::new()
            };
        };
        let phrasing = question
            .text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if question.asker == admin && !by_menu {
            // An admin answering their own thread is writing a note, not teaching.
            return Vec::new();
        }
        if phrasing.is_empty() {
            return tell("The question has no text to learn from. Nothing was learned.".into());
        }
        if phrasing.chars().count() > MAX_PHRASING_CHARS {
            return tell(format!(
                "That question is over {MAX_PHRASING_CHARS} characters, too long to learn as a way of asking. Add a shorter phrasing to the document's `questions:` instead."
            ));
        }
        let title = doc.title.clone();
        let source = doc.source.clone();
        let answered_from = docs
            .answer(&phrasing)
            .filter(|answer| !answer.may_help)
            .and_then(|answer| answer.citations.first().map(|c| c.source.clone()));
        if answered_from.as_deref() == Some(source.as_str()) {
            return tell(format!(
                "The help assistant already answers this from “{title}”; nothing new to learn."
            ));
        }
        drop(docs);
        let row = LearnedPhrasingRow {
            id: 0,
            doc: source.clone(),
            phrasing: phrasing.clone(),
            taught_by: admin.to_string(),
            taught_at: self.clock.now(),
            channel: question.channel.to_string(),
            question_ts: question.ts.to_string(),
        };
        let result: Result<Option<i64>, EngineError> = async {
            let id = self.store.insert_learned_phrasing(&row).await?;
            if let Some(id) = id {
                self.audit(AuditRecord {
                    time: row.taught_at,
                    event: "help_learned".into(),
                    requester: Some(admin.to_string()),
                    detail: format!("learned phrasing #{id} of {source}: {phrasing:?}"),
                    trigger: Some(
                        if by_menu {
                            "escalation menu"
                        } else {
                            "thread reply with a help-doc link"
                        }
                        .into(),
                    ),
                    ..AuditRecord::default()
                })
                .await?;
                self.refresh_learned().await?;
            }
            Ok(id)
        }
        .await;
        match result {
            Ok(Some(id)) => tell(format!(
                "Learned (#{id}): when someone asks “{phrasing}”, the help assistant answers from “{title}”. Review with `okta-agent help-docs --learned`; undo with `okta-agent help-docs --forget {id}`."
            )),
            Ok(None) => tell(format!(
                "“{title}” already has this question as a learned phrasing; nothing changed."
            )),
            Err(e) => {
                tracing::warn!(error = %e, "could not record a learned phrasing");
                tell("That did not work: the phrasing could not be saved. Nothing was learned; please try again in a moment.".into())
            }
        }
    }

    /// Reads the learned phrasings from the store into the help documents (at start, after a
    /// change, and periodically so every replica answers alike).
    pub async fn refresh_learned(&self) -> Result<(), EngineError> {
        let rows = self.store.learned_phrasings().await?;
        let learned: Vec<LearnedPhrasing> = rows.into_iter().map(LearnedPhrasing::from).collect();
        let knowledge = self.agent.knowledge().clone();
        // A changed set rebuilds the index, which takes a while for many documents.
        let applying = knowledge.clone();
        tokio::task::spawn_blocking(move || applying.set_learned(learned))
            .await
            .map_err(|e| {
                crate::knowledge::KnowledgeError(format!(
                    "applying the learned phrasings stopped: {e}"
                ))
            })?;
        // New phrasings count on keywords at once; by meaning once embedded.
        if let Err(e) = knowledge.embed_learned().await {
            tracing::warn!(error = %e, "learned phrasings could not be embedded; they match on keywords until the next reload");
        }
        Ok(())
    }

    /// Every learned phrasing, oldest first, with where it was asked.
    pub async fn learned_phrasings(&self) -> Result<Vec<LearnedPhrasingRow>, EngineError> {
        Ok(self.store.learned_phrasings().await?)
    }

    /// Forgets a learned phrasing (audited); the phrasing it was, or `None` for no such id.
    pub async fn forget_phrasing(
        &self,
        id: i64,
        by: &str,
    ) -> Result<Option<LearnedPhrasingRow>, EngineError> {
        let forgotten =
            forget_learned(&self.store, &self.audit_keys, id, by, self.clock.now()).await?;
        self.refresh_learned().await?;
        Ok(forgotten)
    }
}

/// Forgets a learned phrasing and audits who did (`okta-agent help-docs --forget ID` runs this
/// on the store alone; running processes read the change within a lease interval).
pub async fn forget_learned(
    store: &Store,
    keys: &AuditKeys,
    id: i64,
    by: &str,
    now: i64,
) -> Result<Option<LearnedPhrasingRow>, EngineError> {
    let Some(row) = store.forget_learned_phrasing(id).await? else {
        return Ok(None);
    };
    crate::audit::append(
        store,
        keys,
        &AuditRecord {
            time: now,
            event: "help_forgotten".into(),
            requester: Some(by.to_string()),
            detail: format!(
                "forgot learned phrasing #{id} of {}: {:?}",
                row.doc, row.phrasing
            ),
            ..AuditRecord::default()
        },
    )
    .await?;
    Ok(Some(row))
}

/// Learned phrasings as front-matter patches, one per document: the `questions:` lines to add,
/// each with who taught it and when, so a team can make them part of the document.
pub fn front_matter_patches(rows: &[LearnedPhrasingRow]) -> String {
    let mut docs: Vec<&str> = rows.iter().map(|r| r.doc.as_str()).collect();
    docs.sort_unstable();
    docs.dedup();
    let mut out = String::new();
    for doc in docs {
        out.push_str(&format!(
            "# {doc}: add these under its front matter's `questions:`\nquestions:\n"
        ));
        for row in rows.iter().filter(|r| r.doc == doc) {
            // A JSON string is a YAML double-quoted scalar: quotes and backslashes stay safe.
            let quoted = serde_json::to_string(&row.phrasing).unwrap_or_default();
            out.push_str(&format!(
                "  - {quoted}  # learned #{} from {}, {}\n",
                row.id,
                row.taught_by,
                crate::clock::format_utc(row.taught_at)
            ));
        }
        out.push('\n');
    }
    out
}

/// The URLs in a message: Slack's `<url|label>` and `<url>` forms, and bare ones.
fn links(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '|' | '(' | ')'))
        .filter(|word| word.starts_with("https://") || word.starts_with("http://"))
        .map(|url| url.trim_end_matches(['.', ',', ';', ':', '!', '?']))
}

#[cfg(test)]
mod tests {
    use super::links;

    #[test]
    fn links_are_found_in_slack_markup_and_plain_text() {
        let found: Vec<&str> = links(
            "See <https://intranet.example.com/it/vpn#connect|the VPN page>, or https://x.example/a. Not ftp://y",
        )
        .collect();
        assert_eq!(
            found,
            [
                "https://intranet.example.com/it/vpn#connect",
                "https://x.example/a"
            ]
        );
    }
}
