//! The command engine's phrasebook (`tests/fixtures/phrasebook.tsv`): over 400 phrasings the
//! way IT people type them in a triage channel — typos, paraphrases, mixed case, Slack markup,
//! several targets and actions — each with the tool, targets and group it must produce. The
//! text goes through Slack normalization first, as in the app. Prints accuracy per tool;
//! asserts at least 97% right and no action on a target the text did not name.

use std::collections::BTreeMap;

use okta_agent::agent::rules::{parse, Action, GroupName, Intent, Parsed, Target};
use okta_agent::slack::markup::normalize;
use okta_agent::tools::Tool;

const PHRASEBOOK: &str = include_str!("../fixtures/phrasebook.tsv");

/// One row's expectation.
#[derive(Debug, PartialEq)]
enum Expected {
    Actions(Vec<(Intent, Option<Target>, Option<GroupName>)>),
    Other(&'static str),
}

fn intent(name: &str) -> Intent {
    match name {
        "reenable" => Intent::Reenable,
        "delete" => Intent::Delete,
        "reset_which" => Intent::ResetWhich,
        tool => {
            Intent::Tool(Tool::from_name(tool).unwrap_or_else(|| panic!("unknown tool {tool}")))
        }
    }
}

fn target(text: &str) -> Target {
    if text == "me" {
        Target::Requester
    } else {
        Target::Named(text.to_string())
    }
}

fn group(text: &str) -> Option<GroupName> {
    match text {
        "-" => None,
        g => Some(GroupName {
            name: g.trim_end_matches('*').to_string(),
            plural: g.ends_with('*'),
        }),
    }
}

fn expected(kind: &str, targets: &str, groups: &str) -> Expected {
    match kind {
        "refer" => return Expected::Other("refer"),
        "confirm" => return Expected::Other("confirm"),
        "help" => return Expected::Other("help"),
        "help_docs" => return Expected::Other("help_docs"),
        "none" => return Expected::Other("none"),
        "target_only" => return Expected::Other("target_only"),
        _ => {}
    }
    let intents: Vec<&str> = kind.split('+').collect();
    let target_sets: Vec<&str> = targets.split('+').collect();
    let group_list: Vec<&str> = groups.split(',').collect();
    let mut out = Vec::new();
    for (i, name) in intents.iter().enumerate() {
        let set = target_sets
            .get(i)
            .or(target_sets.first())
            .copied()
            .unwrap_or("-");
        let people: Vec<&str> = if set == "-" {
            vec![]
        } else {
            set.split(',').collect()
        };
        // The group column belongs to the group actions only.
        let takes_group = matches!(
            *name,
            "add_user_to_group" | "remove_user_from_group" | "find_group"
        );
        let group_for = |j: usize| {
            if !takes_group {
                None
            } else if group_list.len() == people.len() {
                group(group_list[j])
            } else {
                group(group_list[0])
            }
        };
        if people.is_empty() {
            out.push((intent(name), None, group_for(0)));
            continue;
        }
        for (j, person) in people.iter().enumerate() {
            out.push((intent(name), Some(target(person)), group_for(j)));
        }
    }
    Expected::Actions(out)
}

fn summary(parsed: &Parsed) -> Expected {
    match parsed {
        Parsed::Actions(actions) => Expected::Actions(
            actions
                .iter()
                .map(|a: &Action| {
                    (
                        a.intent,
                        a.user.clone(),
                        a.group.as_ref().map(|g| GroupName {
                            name: g.name.clone(),
                            plural: g.plural,
                        }),
                    )
                })
                .collect(),
        ),
        Parsed::Refer => Expected::Other("refer"),
        Parsed::Confirm => Expected::Other("confirm"),
        Parsed::Help => Expected::Other("help"),
        Parsed::HelpQuestion => Expected::Other("help_docs"),
        Parsed::TargetOnly(_) => Expected::Other("target_only"),
        Parsed::Deny | Parsed::Unknown => Expected::Other("none"),
    }
}

/// Group names compare as people write them (case aside); "none" is any reading that is not
/// an action.
fn same(a: &Expected, b: &Expected) -> bool {
    match (a, b) {
        (Expected::Other("none"), Expected::Other(other)) => {
            matches!(*other, "none" | "target_only" | "help_docs")
        }
        (Expected::Actions(x), Expected::Actions(y)) => {
            x.len() == y.len()
                && x.iter().zip(y).all(|(p, q)| {
                    p.0 == q.0
                        && p.1 == q.1
                        && match (&p.2, &q.2) {
                            (None, None) => true,
                            (Some(g), Some(h)) => {
                                g.name.eq_ignore_ascii_case(&h.name) && g.plural == h.plural
                            }
                            _ => false,
                        }
                })
        }
        _ => a == b,
    }
}

fn label(e: &Expected) -> String {
    match e {
        Expected::Actions(a) => match a.first().map(|x| x.0) {
            Some(Intent::Tool(t)) if a.iter().all(|x| x.0 == a[0].0) => t.name().to_string(),
            Some(Intent::Tool(_)) => "several actions".into(),
            Some(other) => format!("{other:?}").to_lowercase(),
            None => "none".into(),
        },
        Expected::Other(o) => o.to_string(),
    }
}

#[test]
fn the_phrasebook() {
    let mut rows = 0;
    let mut right = 0;
    let mut wrong_target = Vec::new();
    let mut misses = Vec::new();
    let mut per_label: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    let mut tools_seen = std::collections::BTreeSet::new();
    // Rows under a "held-out" heading were written before the engine was changed for them and
    // are never tuned on: their score is the honest one.
    let mut held_out = false;
    let (mut held_rows, mut held_right) = (0u32, 0u32);
    for line in PHRASEBOOK.lines() {
        if let Some(heading) = line.strip_prefix("# ---") {
            held_out = heading.trim_start().starts_with("held-out");
            continue;
        }
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 4, "bad row: {line:?}");
        rows += 1;
        let want = expected(cols[1], cols[2], cols[3]);
        let got = summary(&parse(&normalize(cols[0])));
        if let Expected::Actions(a) = &want {
            for (i, _, _) in a {
                if let Intent::Tool(t) = i {
                    tools_seen.insert(t.name());
                }
            }
        }
        if let Expected::Other("help_docs") = want {
            tools_seen.insert("search_help_docs");
        }
        let entry = per_label.entry(label(&want)).or_default();
        entry.1 += 1;
        held_rows += u32::from(held_out);
        if same(&want, &got) {
            right += 1;
            entry.0 += 1;
            held_right += u32::from(held_out);
        } else {
            misses.push(format!(
                "{:?}\n    want {want:?}\n    got  {got:?}",
                cols[0]
            ));
        }
        // An action on someone the text did not name is worse than a miss.
        let named: Vec<Target> = cols[2]
            .split(['+', ','])
            .filter(|t| *t != "-")
            .map(target)
            .collect();
        if let Expected::Actions(actions) = &got {
            for (_, user, _) in actions {
                if let Some(user) = user {
                    if !named.contains(user) {
                        wrong_target.push(format!("{:?} → {user:?}", cols[0]));
                    }
                }
            }
        }
    }
    println!(
        "command engine phrasebook: {right}/{rows} right ({:.1}%)",
        100.0 * f64::from(right) / f64::from(rows)
    );
    println!(
        "  held-out rows: {held_right}/{held_rows} right ({:.1}%)",
        100.0 * f64::from(held_right) / f64::from(held_rows.max(1))
    );
    for (label, (ok, n)) in &per_label {
        println!(
            "  {label:<26} {ok:>3}/{n:<3} {:>5.1}%",
            100.0 * f64::from(*ok) / f64::from(*n)
        );
    }
    for miss in &misses {
        println!("miss: {miss}");
    }
    assert!(
        rows >= 400,
        "the phrasebook has {rows} rows; it needs at least 400"
    );
    assert_eq!(
        tools_seen.len(),
        17,
        "every tool is covered: {tools_seen:?}"
    );
    assert!(
        wrong_target.is_empty(),
        "wrong-target actions: {wrong_target:#?}"
    );
    assert!(
        f64::from(right) >= 0.97 * f64::from(rows),
        "{right}/{rows} right, below 97%:\n{}",
        misses.join("\n")
    );
}
