//! Spelling distance, shared by the command engine and help-doc retrieval: optimal-string-alignment Damerau-Levenshtein,
//! where swapping two neighbouring letters ("unlokc") counts as one edit. A typed word matches
//! a vocabulary word within one edit for words of up to five letters, two above.

/// Words up to this many characters are compared without allocating (nearly every word).
const ON_STACK: usize = 32;

/// The edit distance between `a` and `b` (by characters), or `None` once it exceeds `limit`.
pub fn distance(a: &str, b: &str, limit: usize) -> Option<usize> {
    // The lengths alone may rule it out, before anything is allocated.
    let (a_len, b_len) = (a.chars().count(), b.chars().count());
    if a_len.abs_diff(b_len) > limit {
        return None;
    }
    if a_len <= ON_STACK && b_len <= ON_STACK {
        let (mut a_chars, mut b_chars) = (['\0'; ON_STACK], ['\0'; ON_STACK]);
        for (slot, c) in a_chars.iter_mut().zip(a.chars()) {
            *slot = c;
        }
        for (slot, c) in b_chars.iter_mut().zip(b.chars()) {
            *slot = c;
        }
        let mut rows = [[0usize; ON_STACK + 1]; 3];
        return within(&a_chars[..a_len], &b_chars[..b_len], limit, &mut rows);
    }
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let (mut two_back, mut one_back, mut current) = (
        vec![0usize; width],
        vec![0usize; width],
        vec![0usize; width],
    );
    rows_within(&a, &b, limit, &mut two_back, &mut one_back, &mut current)
}

fn within(
    a: &[char],
    b: &[char],
    limit: usize,
    rows: &mut [[usize; ON_STACK + 1]; 3],
) -> Option<usize> {
    let [two_back, one_back, current] = rows;
    let width = b.len() + 1;
    rows_within(
        a,
        b,
        limit,
        &mut two_back[..width],
        &mut one_back[..width],
        &mut current[..width],
    )
}

/// The distance over three rows of `b.len() + 1`: two back (for transpositions), one back,
/// current.
fn rows_within<'r>(
    a: &[char],
    b: &[char],
    limit: usize,
    mut two_back: &'r mut [usize],
    mut one_back: &'r mut [usize],
    mut current: &'r mut [usize],
) -> Option<usize> {
    for (j, slot) in one_back.iter_mut().enumerate() {
        *slot = j;
    }
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
        // Past the stack buffer, the same answers.
        let long = "pneumonoultramicroscopicsilicovolcanoconiosis";
        let typo = "pneumonoultramicroscopicsilicovolcanoconoisis";
        assert_eq!(distance(long, typo, 2), Some(1));
        assert_eq!(distance(long, "pneumonia", 2), None);
        assert_eq!(distance("ünlöck", "ünlökc", 1), Some(1));
        assert_eq!(distance("pasword", "password", 2), Some(1));
        assert_eq!(distance("unlock", "suspend", 2), None);
        assert_eq!(distance("", "ab", 2), Some(2));
        assert_eq!(distance("abc", "abc", 0), Some(0));
        assert_eq!(allowed_edits("reset"), 1);
        assert_eq!(allowed_edits("unlokc"), 2);
    }
}
