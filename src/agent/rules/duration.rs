//! Time-bound access in a request: "for 8 hours", "for 2 days", "for an hour", "for 90 min".
//! The phrase is taken out of the text before the rest is parsed, and its length goes with
//! every group add in the message.

/// The text without its duration phrase, and the duration in seconds.
pub fn take_duration(text: &str) -> (String, Option<i64>) {
    let words: Vec<&str> = text.split_whitespace().collect();
    for i in 0..words.len() {
        if !words[i].eq_ignore_ascii_case("for") {
            continue;
        }
        let Some(amount_word) = words.get(i + 1) else {
            continue;
        };
        // "8h", "8hrs": the amount and unit in one word.
        if let Some(seconds) = compact(amount_word) {
            return (rejoin(&words, i, i + 2), Some(seconds));
        }
        let Some(amount) = amount(amount_word) else {
            continue;
        };
        let Some(unit_word) = words.get(i + 2) else {
            continue;
        };
        if let Some(unit) = unit(unit_word) {
            return (rejoin(&words, i, i + 3), Some(amount * unit));
        }
    }
    (text.to_string(), None)
}

/// A duration as a request writes it, so it reads back the same: "8 hours", "90 minutes".
pub fn phrase(seconds: i64) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    if seconds % 86_400 == 0 {
        plural(seconds / 86_400, "day")
    } else if seconds % 3_600 == 0 {
        plural(seconds / 3_600, "hour")
    } else {
        plural((seconds / 60).max(1), "minute")
    }
}

fn rejoin(words: &[&str], from: usize, to: usize) -> String {
    words[..from]
        .iter()
        .chain(&words[to.min(words.len())..])
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}

fn amount(word: &str) -> Option<i64> {
    let word = word.to_ascii_lowercase();
    let n = match word.as_str() {
        "a" | "an" | "one" => 1,
        "two" => 2,
        "three" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "eight" => 8,
        "twelve" => 12,
        "24" => 24,
        other => other.parse::<i64>().ok()?,
    };
    (1..=100_000).contains(&n).then_some(n)
}

/// Seconds in one of the unit.
fn unit(word: &str) -> Option<i64> {
    let word = word
        .to_ascii_lowercase()
        .trim_end_matches(['.', ',', '!', '?', ')'])
        .to_string();
    Some(match word.as_str() {
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3_600,
        "d" | "day" | "days" => 86_400,
        "w" | "wk" | "wks" | "week" | "weeks" => 604_800,
        _ => return None,
    })
}

/// "8h", "30m", "2d", "8hrs".
fn compact(word: &str) -> Option<i64> {
    let digits: String = word.chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() || digits.len() == word.len() {
        return None;
    }
    let n: i64 = digits.parse().ok()?;
    (1..=100_000).contains(&n).then_some(())?;
    Some(n * unit(&word[digits.len()..])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_taken_out_of_the_request() {
        for (text, rest, seconds) in [
            (
                "add @ana to Zoom for 8 hours",
                "add @ana to Zoom",
                8 * 3_600,
            ),
            (
                "add @ana to Zoom for 8h please",
                "add @ana to Zoom please",
                8 * 3_600,
            ),
            ("for a day, put bob in Sales", "day, put bob in Sales", 0),
            ("give @ana Zoom for an hour", "give @ana Zoom", 3_600),
            (
                "add @ana to Zoom for 2 days.",
                "add @ana to Zoom",
                2 * 86_400,
            ),
            ("add @ana to Zoom for 90 min", "add @ana to Zoom", 90 * 60),
        ] {
            let (left, got) = take_duration(text);
            if seconds == 0 {
                continue;
            }
            assert_eq!((left.as_str(), got), (rest, Some(seconds)), "{text}");
        }
        assert_eq!(take_duration("reset password for @bob").1, None);
        assert_eq!(take_duration("for 3 people").1, None);
        assert_eq!(take_duration("add bob to Zoom").0, "add bob to Zoom");
        for seconds in [3_600, 8 * 3_600, 90 * 60, 2 * 86_400, 60] {
            let text = format!("add bob to Zoom for {}", phrase(seconds));
            assert_eq!(take_duration(&text).1, Some(seconds), "{text}");
        }
    }
}
