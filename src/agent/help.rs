//! Help answers for the virtual assistant. Retrieval finds the sections and says how sure it
//! is (restraint lives in [`crate::knowledge`]); with a model configured, the model then judges
//! the retrieved sections: it writes a short answer from them only, citing them by number; or
//! says they do not answer the question (the reply says so and offers escalation); or says the
//! message is not an IT question at all (the bot stays quiet). A question no document answers
//! for sure goes to the model with the closest documents' sections, and is answered only when
//! it cites one. The model can only make the bot quieter or better grounded, never answer from
//! outside the sections.

use super::model::{ChatMessage, ModelClient, ModelError, ModelReply};
use super::Agent;
use crate::knowledge::{Citation, HelpAnswer, Knowledge, Reply};
use crate::tools::Tool;

/// What the model says when the sections do not answer the question.
const NO_ANSWER: &str = "NO_ANSWER";
/// What the model says when the message is not an IT question.
const NOT_IT: &str = "NOT_IT";

/// The model's judgement of the retrieved sections.
#[derive(Debug)]
pub enum Composed {
    Answer(HelpAnswer),
    /// An IT question the sections do not answer.
    NoAnswer,
    /// Chatter or off-topic: say nothing.
    NotIt,
}

/// Said when the retrieved sections do not answer the question.
pub const NOTHING_FITS: &str = "I couldn't find the answer to this in the IT help documents. If you press \"I still need help\", I'll ask IT to take a look.";

impl Agent {
    /// An answer to a help question from the documents, or `None` to stay quiet.
    pub async fn help(&self, question: &str) -> Option<HelpAnswer> {
        respond(self.knowledge(), self.model.as_deref(), question).await
    }
}

/// What the assistant says to a help question. Retrieval's answer, judged and rewritten by the
/// model when one is configured. And, with a model, a question that no document answers for
/// sure: the model reads the closest documents' sections, and the bot answers only when it
/// finds the answer there and cites it; otherwise it stays quiet, as without a model.
pub async fn respond(
    knowledge: &Knowledge,
    model: Option<&dyn ModelClient>,
    question: &str,
) -> Option<HelpAnswer> {
    let answer = match knowledge.reply_async(question).await {
        Reply::Answer(answer) => answer,
        Reply::Unsure(closest) => {
            return judge_closest(knowledge, model?, question, &closest).await;
        }
        Reply::OffTopic | Reply::Nothing => return None,
    };
    let Some(model) = model else {
        return Some(answer);
    };
    match compose(model, question, &answer).await {
        Ok(Composed::Answer(mut composed)) => {
            composed.self_service = offer_of(knowledge, &composed);
            Some(composed)
        }
        Ok(Composed::NoAnswer) => Some(HelpAnswer {
            text: NOTHING_FITS.into(),
            citations: Vec::new(),
            self_service: None,
            sections: answer.sections,
            may_help: false,
        }),
        Ok(Composed::NotIt) => None,
        Err(e) => {
            tracing::warn!(error = %e, "the model could not write a help answer; quoting the document instead");
            Some(answer)
        }
    }
}

/// The model's answer from the closest sections to a question no document answers for sure,
/// when it cites one of them. "Not in these sections", "not an IT question", an uncited answer
/// and a model error all leave the question unanswered: the documents did not answer it, so
/// only a grounded answer may break the silence.
async fn judge_closest(
    knowledge: &Knowledge,
    model: &dyn ModelClient,
    question: &str,
    closest: &HelpAnswer,
) -> Option<HelpAnswer> {
    let judged = match compose(model, question, closest).await {
        Ok(Composed::Answer(mut answer))
            if !cited(&answer.text, closest.sections.len()).is_empty() =>
        {
            answer.self_service = offer_of(knowledge, &answer);
            Some(answer)
        }
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(error = %e, "the model could not judge the closest help documents; staying quiet");
            return None;
        }
    };
    tracing::info!(
        answered = judged.is_some(),
        "no help document answered for sure; the model judged the closest"
    );
    judged
}

/// The self-service action of the document a model's answer cites first: what the answer may
/// offer the asker (the policy decides whether it does), whichever document that is.
fn offer_of(knowledge: &Knowledge, answer: &HelpAnswer) -> Option<Tool> {
    let first = answer.citations.first()?;
    knowledge
        .current()
        .docs()
        .iter()
        .find(|doc| doc.source == first.source)?
        .self_service
}

/// Asks the model for a grounded answer. Citations are the sections it cites, at most three;
/// the self-service offer stays only when the first of them is from the document that offers it.
pub async fn compose(
    model: &dyn ModelClient,
    question: &str,
    retrieved: &HelpAnswer,
) -> Result<Composed, ModelError> {
    let numbered: Vec<String> = retrieved
        .sections
        .iter()
        .enumerate()
        .map(|(i, (citation, text))| format!("[{}] {}\n{}", i + 1, citation.title, text))
        .collect();
    let system = format!(
        "You answer IT help questions for employees, using only the numbered help-document sections below. \
         If the message is not a question or request about IT (chatter, thanks, office life), reply with exactly {NOT_IT}. \
         If the sections do not answer it, reply with exactly {NO_ANSWER}. Otherwise answer in at most four short \
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
        ModelReply::ToolCalls(_) => return Ok(Composed::NoAnswer),
    };
    let text = text.trim();
    if text.contains(NOT_IT) {
        return Ok(Composed::NotIt);
    }
    if text.is_empty() || text.contains(NO_ANSWER) {
        return Ok(Composed::NoAnswer);
    }
    let mut cited = cited(text, retrieved.sections.len());
    if cited.is_empty() {
        cited.push(0);
    }
    let citations: Vec<Citation> = cited
        .iter()
        .take(3)
        .map(|i| retrieved.sections[*i].0.clone())
        .collect();
    let same_document =
        citations.first().map(|c| &c.source) == retrieved.citations.first().map(|c| &c.source);
    Ok(Composed::Answer(HelpAnswer {
        text: text.to_string(),
        citations,
        self_service: retrieved.self_service.filter(|_| same_document),
        sections: retrieved.sections.clone(),
        may_help: false,
    }))
}

/// The sections a model's answer cites ("[2]"), by index, in the order it cites them: numbers
/// from 1 to `count` only, each once.
fn cited(text: &str, count: usize) -> Vec<usize> {
    let mut cited: Vec<usize> = Vec::new();
    for (i, _) in text.match_indices('[') {
        let number: String = text[i + 1..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if let Ok(n) = number.parse::<usize>() {
            if (1..=count).contains(&n) && !cited.contains(&(n - 1)) {
                cited.push(n - 1);
            }
        }
    }
    cited
}
