//! Help answers for the virtual assistant. Retrieval decides whether there is anything to say
//! (restraint lives in [`crate::knowledge`]); with a model configured, the model writes a short
//! answer from the retrieved sections only and cites them by number — or says they do not
//! answer the question, and then the reply says so and offers escalation. The model never
//! answers from outside the sections, and never decides whether to answer chatter at all.

use super::model::{ChatMessage, ModelClient, ModelError, ModelReply};
use super::Agent;
use crate::knowledge::HelpAnswer;

/// What the model says when the sections do not answer the question.
const NO_ANSWER: &str = "NO_ANSWER";

/// Said when the retrieved sections do not answer the question.
pub const NOTHING_FITS: &str = "I couldn't find the answer to this in the IT help documents. If you press \"I still need help\", I'll ask IT to take a look.";

impl Agent {
    /// An answer to a help question from the documents, or `None` to stay quiet.
    pub async fn help(&self, question: &str) -> Option<HelpAnswer> {
        let answer = self.knowledge().answer(question)?;
        let Some(model) = &self.model else {
            return Some(answer);
        };
        match compose(model.as_ref(), question, &answer).await {
            Ok(Some(composed)) => Some(composed),
            Ok(None) => Some(HelpAnswer {
                text: NOTHING_FITS.into(),
                citations: Vec::new(),
                self_service: None,
                sections: answer.sections,
            }),
            Err(e) => {
                tracing::warn!(error = %e, "the model could not write a help answer; quoting the document instead");
                Some(answer)
            }
        }
    }
}

/// Asks the model for a grounded answer: `Ok(None)` when it says the sections do not answer
/// the question. Citations are the sections it cites, at most three.
pub async fn compose(
    model: &dyn ModelClient,
    question: &str,
    retrieved: &HelpAnswer,
) -> Result<Option<HelpAnswer>, ModelError> {
    let numbered: Vec<String> = retrieved
        .sections
        .iter()
        .enumerate()
        .map(|(i, (citation, text))| format!("[{}] {}\n{}", i + 1, citation.title, text))
        .collect();
    let system = format!(
        "You answer IT help questions for employees, using only the numbered help-document sections below. \
         If they do not answer the question, reply with exactly {NO_ANSWER}. Otherwise answer in at most four short \
         sentences of plain text, without links or markup, and cite the sections you used like [1] or [2]. \
         Never add facts that are not in the sections.\n\n{}",
        numbered.join("\n\n")
    );
    let messages = vec![
        ChatMessage::System(system),
        ChatMessage::User(question.to_string()),
    ];
    let text = match model.complete(&messages, &[]).await? {
        ModelReply::Text(text) => text,
        ModelReply::ToolCalls(_) => return Ok(None),
    };
    let text = text.trim();
    if text.is_empty() || text.contains(NO_ANSWER) {
        return Ok(None);
    }
    let mut cited: Vec<usize> = Vec::new();
    for (i, _) in text.match_indices('[') {
        let number: String = text[i + 1..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if let Ok(n) = number.parse::<usize>() {
            if (1..=retrieved.sections.len()).contains(&n) && !cited.contains(&(n - 1)) {
                cited.push(n - 1);
            }
        }
    }
    if cited.is_empty() {
        cited.push(0);
    }
    let citations = cited
        .iter()
        .take(3)
        .map(|i| retrieved.sections[*i].0.clone())
        .collect();
    Ok(Some(HelpAnswer {
        text: text.to_string(),
        citations,
        self_service: retrieved.self_service,
        sections: retrieved.sections.clone(),
    }))
}
