-- A help question is answered at most once: answers are found by the question they answer.
CREATE INDEX IF NOT EXISTS help_answers_by_question ON help_answers (channel, question_ts);
