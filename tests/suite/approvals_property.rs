//! The approval state machine under random interleavings of approve, cancel, duplicate clicks,
//! wrong clickers, expiry and restarts, against the real engine, SQLite file and simulator. A
//! reference model says how each sequence must end; the simulator's mutation log must show at
//! most one execution, and one only after an authorized, unexpired approval.

use okta_agent::approvals::{Approvals, ProposalState};
use okta_agent::engine::Choice;
use proptest::prelude::*;

use crate::common::{card, text, Stack};

const CLICKERS: [&str; 5] = ["U0LEO", "U0GRACE", "U0BOB", "U0GUEST", "U0BOT"];

#[derive(Clone, Debug)]
enum Op {
    Approve(usize),
    Cancel(usize),
    /// The same click delivered again (a double click or a Slack redelivery).
    RepeatLast,
    /// Sixteen minutes pass: past the 15-minute expiry.
    Expire,
    /// One minute passes.
    Tick,
    /// The process restarts on the same database.
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..CLICKERS.len()).prop_map(Op::Approve),
        2 => (0..CLICKERS.len()).prop_map(Op::Cancel),
        2 => Just(Op::RepeatLast),
        1 => Just(Op::Expire),
        1 => Just(Op::Tick),
        1 => Just(Op::Restart),
    ]
}

/// How the sequence must end, by the rules alone.
fn expected(two_person: bool, ops: &[Op]) -> ProposalState {
    let may_approve = |c: &str| {
        if two_person {
            c == "U0GRACE"
        } else {
            c == "U0LEO" || c == "U0GRACE"
        }
    };
    let may_cancel = |c: &str| c == "U0LEO" || may_approve(c);
    let mut state = ProposalState::Pending;
    let mut elapsed = 0;
    let mut last: Option<(bool, &str)> = None;
    for op in ops {
        let click = match op {
            Op::Approve(i) => Some((true, CLICKERS[*i])),
            Op::Cancel(i) => Some((false, CLICKERS[*i])),
            Op::RepeatLast => last,
            Op::Expire => {
                elapsed += 16 * 60;
                None
            }
            Op::Tick => {
                elapsed += 60;
                None
            }
            Op::Restart => None,
        };
        let Some((approve, clicker)) = click else {
            continue;
        };
        last = Some((approve, clicker));
        if state != ProposalState::Pending {
            continue;
        }
        let allowed = if approve {
            may_approve(clicker)
        } else {
            may_cancel(clicker)
        };
        if !allowed {
            continue;
        }
        state = if elapsed >= 15 * 60 {
            ProposalState::Expired
        } else if approve {
            ProposalState::Executed
        } else {
            ProposalState::Rejected
        };
    }
    state
}

async fn run(two_person: bool, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut stack = Stack::new().await;
    let request = if two_person {
        "deactivate <@U0JAMAL>"
    } else {
        "suspend <@U0JAMAL>"
    };
    let outputs = stack.ask("U0LEO", request).await;
    let id = card(&outputs)
        .ok_or_else(|| TestCaseError::fail(text(&outputs)))?
        .proposal_id;
    let mut last: Option<Choice> = None;
    let mut last_clicker = "";
    for op in &ops {
        let (choice, clicker) = match op {
            Op::Approve(i) => (Choice::Approve, CLICKERS[*i]),
            Op::Cancel(i) => (Choice::Cancel, CLICKERS[*i]),
            Op::RepeatLast => match last {
                Some(choice) => (choice, last_clicker),
                None => continue,
            },
            Op::Expire => {
                stack.clock.advance(16 * 60);
                continue;
            }
            Op::Tick => {
                stack.clock.advance(60);
                continue;
            }
            Op::Restart => {
                stack.restart().await;
                continue;
            }
        };
        last = Some(choice);
        last_clicker = clicker;
        stack.click(clicker, &id, choice).await;
        prop_assert!(stack.mutation_count().await <= 1, "more than one execution");
    }
    let want = expected(two_person, &ops);
    let stored = Approvals::new(stack.engine().store())
        .get(&id)
        .await
        .unwrap()
        .unwrap();
    // An expired proposal nobody authorized clicked on stays pending in the store; it can never
    // be claimed, which is what matters.
    let got = stored.state;
    prop_assert_eq!(got, want, "ops {:?}", ops);
    let mutations = stack.mutation_count().await;
    prop_assert_eq!(
        mutations,
        usize::from(want == ProposalState::Executed),
        "ops {:?}",
        ops
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn at_most_one_execution_and_only_after_an_authorized_approval(
        two_person in any::<bool>(),
        ops in proptest::collection::vec(op(), 1..12),
    ) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(run(two_person, ops))?;
    }
}
