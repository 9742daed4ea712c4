//! The help-channel evaluation: labelled messages (the document that should answer, or none
//! for chatter) and the two figures that decide whether a team keeps the assistant switched
//! on: top-1 accuracy on IT questions and the false-answer rate on everything else. The test
//! suite asserts the floors; `examples/faq_eval.rs` runs the same set with and without a model.

/// One labelled message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    pub message: String,
    /// The file that should be cited first, or `None` when the bot must stay quiet.
    pub expected: Option<String>,
}

/// Reads the tab-separated set: `message<TAB>file` or `message<TAB>-`; `#` lines are comments.
pub fn cases(tsv: &str) -> Result<Vec<Case>, String> {
    let mut out = Vec::new();
    for (number, line) in tsv.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (message, expected) = line
            .split_once('\t')
            .ok_or_else(|| format!("line {}: expected 'message<TAB>file or -'", number + 1))?;
        let expected = expected.trim();
        out.push(Case {
            message: message.trim().to_string(),
            expected: (expected != "-").then(|| expected.to_string()),
        });
    }
    Ok(out)
}

/// Every question of a set as a phrasing an admin taught for its expected document, as when
/// each was escalated once and answered in the thread: what the assistant then knows of them.
pub fn lessons(cases: &[Case]) -> Vec<super::LearnedPhrasing> {
    cases
        .iter()
        .filter_map(|case| Some((case.expected.clone()?, case.message.clone())))
        .zip(1..)
        .map(|((doc, phrasing), id)| super::LearnedPhrasing {
            id,
            doc,
            phrasing,
            taught_by: "evaluation".into(),
            taught_at: 0,
        })
        .collect()
}

/// The figures, and the cases behind every miss.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub questions: usize,
    /// IT questions whose first citation was the expected document.
    pub right: usize,
    /// IT questions answered from another document first.
    pub wrong: usize,
    /// IT questions left unanswered.
    pub silent: usize,
    pub chatter: usize,
    /// Non-IT messages that got a reply.
    pub false_answers: usize,
    /// `message → what happened`, for every case that was not right.
    pub misses: Vec<String>,
}

impl Report {
    /// Scores replies: for each case, the source cited first, `Some("")` for a reply without
    /// a citation ("the documents do not answer this"), or `None` for silence. A reply without
    /// a citation is no answer to an IT question, and still a reply to chatter.
    pub fn score(cases: &[Case], replies: &[Option<String>]) -> Self {
        let mut report = Report::default();
        for (case, reply) in cases.iter().zip(replies) {
            match (&case.expected, reply) {
                (Some(expected), Some(cited)) if cited.is_empty() => {
                    report.questions += 1;
                    report.silent += 1;
                    report.misses.push(format!(
                        "{:?}: no cited answer, expected {expected}",
                        case.message
                    ));
                }
                (Some(expected), Some(cited)) if cited == expected => {
                    report.questions += 1;
                    report.right += 1;
                }
                (Some(expected), Some(cited)) => {
                    report.questions += 1;
                    report.wrong += 1;
                    report.misses.push(format!(
                        "{:?}: cited {cited:?}, expected {expected}",
                        case.message
                    ));
                }
                (Some(expected), None) => {
                    report.questions += 1;
                    report.silent += 1;
                    report.misses.push(format!(
                        "{:?}: no answer, expected {expected}",
                        case.message
                    ));
                }
                (None, reply) => {
                    report.chatter += 1;
                    if let Some(cited) = reply {
                        report.false_answers += 1;
                        report.misses.push(format!(
                            "{:?}: answered from {cited:?}, expected silence",
                            case.message
                        ));
                    }
                }
            }
        }
        report
    }

    /// Top-1 accuracy on IT questions, in percent.
    pub fn top1(&self) -> f64 {
        percent(self.right, self.questions)
    }

    /// Replies to non-IT messages, in percent.
    pub fn false_answer_rate(&self) -> f64 {
        percent(self.false_answers, self.chatter)
    }

    /// One line of figures.
    pub fn summary(&self) -> String {
        format!(
            "top-1 {:.1}% ({}/{} IT questions; {} from another doc, {} unanswered) · false answers {:.1}% ({}/{} non-IT messages)",
            self.top1(),
            self.right,
            self.questions,
            self.wrong,
            self.silent,
            self.false_answer_rate(),
            self.false_answers,
            self.chatter
        )
    }
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_right_wrong_silent_and_false_answers() {
        let cases = cases("# c\nq1\ta.md\nq2\ta.md\nq3\tb.md\nhi\t-\nlol\t-\n").unwrap();
        let replies = [
            Some("a.md".into()),
            Some("b.md".into()),
            None,
            Some(String::new()),
            None,
        ];
        let report = Report::score(&cases, &replies);
        assert_eq!((report.right, report.wrong, report.silent), (1, 1, 1));
        assert_eq!((report.chatter, report.false_answers), (2, 1));
        assert_eq!(report.misses.len(), 3);
        assert!(super::cases("no tab here").unwrap_err().contains("line 1"));
    }
}
