//! Spelling distance, shared by the command engine and help-doc retrieval: optimal-string-alignment Damerau-Levenshtein,
//! where swapping two neighbouring letters ("unlokc") counts as one edit. A typed word matches
//! a vocabulary word within one edit for words of up to five letters, two above.

/// The edit distance between `a` and `b` (by characters), or `None` once it exceeds `limit`.
pub fn distance(a: &str, b: &str, limit: usize) -> Option<usize> {
    // The lengths alone may rule it out, before anything is allocated.
    if a.chars().count().abs_diff(b.chars().count()) > limit {
        return None;
    }
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows: two back (for transpositions), one back, current.
    let width = b.len() + 1;
    let mut two_back = vec![0usize; width];
    let mut one_back: Vec<usize> = (0..width).collect();
    let mut current = vec![0usize; width];
    for i in 1..=a.len() {
        current[0] = i;
        let mut row_min = current[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (one_back[j] + 1)
                .min(current[j - 1] + 1)
                .min(one_back[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(two_back[j - 2] + 1);
            }
            current[j] = best;
            row_min = row_min.min(best);
        }
        if row_min > limit {
            return None;
        }
        std::mem::swap(&mut two_back, &mut one_back);
        std::mem::swap(&mut one_back, &mut current);
    }
    let d = one_back[b.len()];
    (d <= limit).then_some(d)
}

/// The edits a typed word of this length may have: one up to five letters, two above.
pub fn allowed_edits(typed: &str) -> usize {
    if typed.chars().count() <= 5 {
        1
    } else {
        2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpositions_count_as_one_edit() {
        assert_eq!(distance("unlokc", "unlock", 2), Some(1));
        assert_eq!(distance("suspedn", "suspend", 2), Some(1));
        assert_eq!(distance("resset", "reset", 1), Some(1));
        assert_eq!(distance("deactivte", "deactivate", 2), Some(1));
        assert_eq!(distance("pasword", "password", 2), Some(1));
        assert_eq!(distance("unlock", "suspend", 2), None);
        assert_eq!(distance("", "ab", 2), Some(2));
        assert_eq!(distance("abc", "abc", 0), Some(0));
        assert_eq!(allowed_edits("reset"), 1);
        assert_eq!(allowed_edits("unlokc"), 2);
    }
}
