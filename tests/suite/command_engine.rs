//! The command engine through the engine, over the simulator: several actions are all
//! proposed or none; a loose reading becomes "Did you mean …?" and a "yes" continues it;
//! plural and look-alike group names are asked about, never picked; "re-enable" follows the
//! account's status; a destructive action reached by a misspelling says so on its card.

use okta_agent::agent::{Author, HistoryMessage};
use okta_agent::approvals::ProposalState;
use okta_agent::engine::{Choice, Output};
use okta_agent::sandbox::seed::{Seed, DEMO_ORG};
use okta_agent::tools::Tool;

use crate::common::{card, text, update, Stack};

fn cards(outputs: &[Output]) -> Vec<okta_agent::engine::Card> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Card(c) => Some(c.clone()),
            _ => None,
        })
        .collect()
}

/// The one card a message produced.
fn only_card(outputs: &[Output]) -> okta_agent::engine::Card {
    let all = cards(outputs);
    assert_eq!(all.len(), 1, "{}", text(outputs));
    all[0].clone()
}

/// A short conversation: each line is asked in the thread of the ones before, with
/// okta-agent's replies in between, as Slack's `conversations.replies` would give them.
struct Thread<'a> {
    stack: &'a Stack,
    history: Vec<HistoryMessage>,
}

impl<'a> Thread<'a> {
    fn new(stack: &'a Stack) -> Self {
        Self {
            stack,
            history: Vec::new(),
        }
    }

    async fn say(&mut self, who: &str, words: &str) -> Vec<Output> {
        let outputs = self
            .stack
            .ask_in_thread(who, words, self.history.clone())
            .await;
        self.history.push(HistoryMessage {
            author: Author::Person(who.into()),
            text: words.into(),
        });
        for output in &outputs {
            if let Output::Reply(reply) = output {
                self.history.push(HistoryMessage {
                    author: Author::ThisBot,
                    text: reply.clone(),
                });
            }
        }
        outputs
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_targets_get_one_card_each_or_none_at_all() {
    let stack = Stack::new().await;
    let outputs = stack
        .ask("U0LEO", "please unlock <@U0BOB> and <@U0KATE>")
        .await;
    let both = cards(&outputs);
    assert_eq!(both.len(), 2, "{}", text(&outputs));
    assert_eq!(both[0].target.login, "bob.smith@example.com");
    assert_eq!(both[1].target.login, "kate.nguyen@example.com");
    // Each is approved on its own.
    let done = stack
        .click("U0GRACE", &both[0].proposal_id, Choice::Approve)
        .await;
    assert_eq!(update(&done).unwrap().state, ProposalState::Executed);
    assert_eq!(stack.mutation_count().await, 1);
    // Two actions on one person: two cards.
    let outputs = stack
        .ask("U0LEO", "suspend <@U0JAMAL> and clear his sessions")
        .await;
    let tools: Vec<Tool> = cards(&outputs).iter().map(|c| c.tool).collect();
    assert_eq!(tools, vec![Tool::SuspendUser, Tool::ClearSessions]);
    // One part that cannot be done (Ana is active: nothing to unlock): nothing is proposed,
    // and the reply says why.
    let outputs = stack.ask("U0LEO", "unlock <@U0KATE> and <@U0ANA>").await;
    assert!(cards(&outputs).is_empty(), "{}", text(&outputs));
    assert!(
        text(&outputs).contains("haven't proposed anything"),
        "{}",
        text(&outputs)
    );
    assert!(
        text(&outputs).contains("not locked out"),
        "{}",
        text(&outputs)
    );
    // Policy refusing one part refuses the whole message.
    let outputs = stack
        .ask("U0LEO", "suspend <@U0JAMAL> and <@U0GRACE>")
        .await;
    assert!(cards(&outputs).is_empty(), "{}", text(&outputs));
    assert!(
        text(&outputs).contains("proposed none of it"),
        "{}",
        text(&outputs)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loose_reading_is_asked_about_and_yes_continues_it() {
    let stack = Stack::new().await;
    let mut thread = Thread::new(&stack);
    let asked = thread.say("U0LEO", "add <@U0MARIAR> to zoom").await;
    assert!(card(&asked).is_none());
    assert!(
        text(&asked).contains("Did you mean: add maria.rossi@example.com to \"Zoom Users\"?"),
        "{}",
        text(&asked)
    );
    let confirmed = thread.say("U0LEO", "yes").await;
    let proposal = card(&confirmed).unwrap_or_else(|| panic!("{}", text(&confirmed)));
    assert_eq!(proposal.target.group.unwrap().name, "Zoom Users");
    // A person named only loosely is asked about too.
    let mut thread = Thread::new(&stack);
    let asked = thread.say("U0LEO", "suspend jama").await;
    assert!(
        text(&asked).contains("Did you mean: suspend jamal.reed@example.com?"),
        "{}",
        text(&asked)
    );
    let no = thread.say("U0LEO", "no").await;
    assert!(text(&no).contains("I won't do that"), "{}", text(&no));
    // "yes" with nothing offered does nothing.
    let nothing = Stack::new().await;
    assert!(text(&nothing.ask("U0LEO", "yes").await).contains("no question of mine"));
    assert_eq!(stack.mutation_count().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plural_and_look_alike_group_names_are_asked_about_never_picked() {
    // A privileged group and a harmless one that both resemble "okta admin".
    let seed = Seed::parse(&format!(
        "{DEMO_ORG}\n[[groups]]\nname = \"Okta Admin Requests\"\ndescription = \"Tickets asking for admin rights\"\n"
    ))
    .unwrap();
    let stack = Stack::with_seed(seed).await;
    let mut thread = Thread::new(&stack);
    let asked = thread.say("U0LEO", "add <@U0ANA> to okta admin").await;
    assert!(card(&asked).is_none(), "{}", text(&asked));
    let question = text(&asked);
    assert!(question.contains("Which group did you mean?"), "{question}");
    assert!(
        question.contains("\"Okta Administrators\"")
            && question.contains("\"Okta Admin Requests\""),
        "{question}"
    );
    // The answer names one: the request continues with exactly that group.
    let answered = thread.say("U0LEO", "Okta Admin Requests").await;
    let proposal = card(&answered).unwrap_or_else(|| panic!("{}", text(&answered)));
    assert_eq!(proposal.target.group.unwrap().name, "Okta Admin Requests");
    // "the engineering groups": Engineering is exact, but the plural may mean both.
    let asked = stack
        .ask("U0LEO", "add <@U0ANA> to the engineering groups")
        .await;
    assert!(card(&asked).is_none(), "{}", text(&asked));
    assert!(
        text(&asked).contains("\"Engineering Managers\""),
        "{}",
        text(&asked)
    );
    // A misspelt group is offered, not taken.
    let asked = stack.ask("U0LEO", "add <@U0ANA> to Enginering").await;
    assert!(card(&asked).is_none(), "{}", text(&asked));
    assert!(text(&asked).contains("\"Engineering\""), "{}", text(&asked));
    assert_eq!(stack.mutation_count().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn re_enable_follows_the_account_status() {
    let stack = Stack::new().await;
    let tool_for = |outputs: Vec<Output>| card(&outputs).map(|c| c.tool);
    assert_eq!(
        tool_for(stack.ask("U0LEO", "re-enable <@U0CAROL>").await),
        Some(Tool::UnsuspendUser)
    );
    assert_eq!(
        tool_for(stack.ask("U0LEO", "unblock <@U0BOB>").await),
        Some(Tool::UnlockUser)
    );
    assert_eq!(
        tool_for(stack.ask("U0LEO", "restore <@U0DAN>'s access").await),
        Some(Tool::ReactivateUser)
    );
    let active = stack.ask("U0LEO", "re-enable <@U0ANA>").await;
    assert!(card(&active).is_none());
    assert!(
        text(&active).contains("already active"),
        "{}",
        text(&active)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misspelt_and_paraphrased_destructive_actions_say_what_was_typed() {
    let stack = Stack::new().await;
    let typo = card(&stack.ask("U0LEO", "deactivte <@U0JAMAL>").await).unwrap();
    assert_eq!(typo.tool, Tool::DeactivateUser);
    assert_eq!(typo.as_written.as_deref(), Some("deactivte"));
    let paraphrase = card(&stack.ask("U0LEO", "offboard <@U0ANA>").await).unwrap();
    assert_eq!(paraphrase.tool, Tool::DeactivateUser);
    assert_eq!(paraphrase.as_written.as_deref(), Some("offboard"));
    let plain = card(&stack.ask("U0LEO", "suspend <@U0MARIAR>").await).unwrap();
    assert_eq!(plain.as_written, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn words_that_name_no_one_are_never_a_person_and_delete_is_asked_about() {
    let stack = Stack::new().await;
    for request in [
        "suspend everyone",
        "unlock all users",
        "disable the whole sales team",
        "reset mfa for everyone",
    ] {
        let outputs = stack.ask("U0LEO", request).await;
        assert!(card(&outputs).is_none(), "{request}: {}", text(&outputs));
        assert!(
            text(&outputs).contains("Who should I"),
            "{request}: {}",
            text(&outputs)
        );
    }
    let mut thread = Thread::new(&stack);
    let asked = thread.say("U0LEO", "delete <@U0JAMAL>'s account").await;
    assert!(
        text(&asked).contains("does not delete accounts")
            && text(&asked).contains("Did you mean: deactivate <@U0JAMAL>?"),
        "{}",
        text(&asked)
    );
    let confirmed = thread.say("U0LEO", "yes").await;
    assert_eq!(card(&confirmed).unwrap().tool, Tool::DeactivateUser);
    let which = stack.ask("U0LEO", "reset <@U0BOB>").await;
    assert!(text(&which).contains("Reset what"), "{}", text(&which));
    assert_eq!(stack.mutation_count().await, 0);
}

/// A bare name is an answer only to okta-agent's own question: typed after a refusal, it is
/// not someone else's request with a new person in it.
#[tokio::test]
async fn a_name_after_a_refusal_is_not_an_answer() {
    let stack = Stack::new().await;
    let mut thread = Thread::new(&stack);
    let refused = thread.say("U0KATE", "<@U0DAN> left the company").await;
    assert!(card(&refused).is_none());
    assert!(!text(&refused).contains('?'), "{}", text(&refused));
    let after = thread.say("U0LEO", "<@U0CAROL> shared her password").await;
    assert!(card(&after).is_none(), "{}", text(&after));
    assert_eq!(stack.harness.mutations().await.len(), 0);
}

/// What IT people add to a request: an explanation with an action word in it, a quoted email,
/// "it" and "him" for what and who was named. Each becomes the one card meant, or a question
/// when two people could be meant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explanations_quoted_emails_and_pronouns_become_the_card_meant_or_a_question() {
    let stack = Stack::new().await;
    // The explanation used to become a second request: deactivate Dan.
    let outputs = stack
        .ask(
            "U0LEO",
            "reactivate <@U0DAN>, he was deactivated by mistake during the HR sync",
        )
        .await;
    let only = only_card(&outputs);
    assert_eq!(
        (only.tool, only.target.login.as_str()),
        (Tool::ReactivateUser, "dan.okafor@example.com")
    );
    // "it" is the password named before; the person is the one whose password it is.
    let outputs = stack
        .ask("U0LEO", "<@U0KATE>'s password expired, can you reset it")
        .await;
    let only = only_card(&outputs);
    assert_eq!(
        (only.tool, only.target.login.as_str()),
        (Tool::ResetPassword, "kate.nguyen@example.com")
    );
    // An email in quotes is the target, not a group name.
    let outputs = stack
        .ask(
            "U0LEO",
            "unsuspend “<mailto:carol.chen@example.com|carol.chen@example.com>” please",
        )
        .await;
    let only = only_card(&outputs);
    assert_eq!(
        (only.tool, only.target.login.as_str()),
        (Tool::UnsuspendUser, "carol.chen@example.com")
    );
    // Two people, one "her": asked, nothing proposed.
    let outputs = stack
        .ask("U0LEO", "<@U0BOB> and <@U0KATE> are locked out, unlock her")
        .await;
    assert!(card(&outputs).is_none(), "{}", text(&outputs));
    assert!(
        text(&outputs).contains("Who should I"),
        "{}",
        text(&outputs)
    );
    // Alone, what was done is not a request to do it: no card suspending the person asking.
    let outputs = stack
        .ask("U0LEO", "my account got suspended, please fix")
        .await;
    assert!(card(&outputs).is_none(), "{}", text(&outputs));
    assert_eq!(stack.mutation_count().await, 0);
}
