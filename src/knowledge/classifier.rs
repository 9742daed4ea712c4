//! Which document a message is about, learned from the documents: a linear classifier
//! (multinomial logistic regression) over the embeddings of every section and phrasing, with
//! one more class for messages that are not for IT (the off-topic messages).
//!
//! Nearest-neighbour matching asks which single help text a message is closest to; a
//! classifier weighs all of a document's texts against all of the others', so a message
//! that is a little like many of one document's phrasings, and like none of them closely, still
//! goes to it (docs/assistant.md has the figures). Trained by full-batch gradient descent when
//! the documents are embedded, on `matrixmultiply`'s products: a few hundred examples and a few
//! dozen classes need no optimiser framework (linfa would bring ndarray and argmin for a loop
//! of twenty lines).

use std::sync::Arc;

use super::semantic::similarity;

/// Logits are this times the dot product: unit vectors' dot products lie in -1..1, too flat
/// for a softmax to be sure of anything.
const SCALE: f32 = 10.0;
/// Gradient steps over the whole training set: few enough to stop short of fitting every
/// phrasing exactly, which is what lets it generalise (momentum, converging further, was
/// surer and wrong more often).
const EPOCHS: usize = 300;
const LEARNING_RATE: f32 = 0.5;
/// L2 penalty on the weights, so a class with few examples does not fit them exactly.
const L2: f32 = 1e-3;

/// A trained classifier: one weight vector and bias per document, and a last one for "not for
/// IT".
#[derive(Clone, Debug, Default)]
pub struct Classifier {
    /// One row per class.
    weights: Vec<Vec<f32>>,
    biases: Vec<f32>,
}

/// The classifier's verdict on a message.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Verdict {
    /// A document (by its place in the list), with the classifier's probability for it.
    Doc(usize, f32),
    /// Not for IT, with the probability.
    OffTopic(f32),
}

/// `c = a · b` for row-major `a` (m×k) and `b` (k×n), or `aᵀ · b` when `a_transposed` (then
/// `a` is k×m). Slices of any other size leave `c` as it was.
fn product(m: usize, k: usize, n: usize, a: &[f32], a_transposed: bool, b: &[f32], c: &mut [f32]) {
    if a.len() != m * k || b.len() != k * n || c.len() != m * n {
        return;
    }
    let (row_stride, column_stride) = if a_transposed { (1, m) } else { (k, 1) };
    // SAFETY: the check above holds every slice to the shape the strides walk, so every
    // element read or written is inside its slice; `c` does not alias `a` or `b` (it is the
    // only `&mut`).
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            row_stride as isize,
            column_stride as isize,
            b.as_ptr(),
            n as isize,
            1,
            0.0,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

/// Each row of `logits` (one per example, `classes` wide) turned into probabilities.
fn softmax_rows(logits: &mut [f32], classes: usize) {
    for row in logits.chunks_exact_mut(classes) {
        let top = row.iter().copied().fold(f32::MIN, f32::max);
        let mut total = 0.0;
        for slot in row.iter_mut() {
            *slot = (*slot - top).exp();
            total += *slot;
        }
        for slot in row.iter_mut() {
            *slot /= total;
        }
    }
}

impl Classifier {
    /// Trains on `examples` (unit vector, document) for `docs` documents and on `off_topic`
    /// vectors as the last class. `None` when there is nothing to learn from (no document has
    /// an example) or the vectors differ in size.
    pub fn train(
        docs: usize,
        examples: &[(Arc<[f32]>, usize)],
        off_topic: &[Arc<[f32]>],
    ) -> Option<Self> {
        let dimensions = examples.first()?.0.len();
        let labelled: Vec<(&[f32], usize)> = examples
            .iter()
            .map(|(vector, doc)| (&vector[..], *doc))
            .chain(off_topic.iter().map(|vector| (&vector[..], docs)))
            .collect();
        if dimensions == 0
            || labelled
                .iter()
                .any(|(vector, class)| vector.len() != dimensions || *class > docs)
        {
            return None;
        }
        let (count, classes) = (labelled.len(), docs + 1);
        // Row-major: the examples (count × dimensions), the weights (dimensions × classes).
        let inputs: Vec<f32> = labelled
            .iter()
            .flat_map(|(v, _)| v.iter().copied())
            .collect();
        let mut weights = vec![0.0_f32; dimensions * classes];
        let mut biases = vec![0.0_f32; classes];
        let mut errors = vec![0.0_f32; count * classes];
        let mut gradient = vec![0.0_f32; dimensions * classes];
        for _ in 0..EPOCHS {
            product(
                count,
                dimensions,
                classes,
                &inputs,
                false,
                &weights,
                &mut errors,
            );
            for row in errors.chunks_exact_mut(classes) {
                for (logit, bias) in row.iter_mut().zip(&biases) {
                    *logit = SCALE * *logit + bias;
                }
            }
            softmax_rows(&mut errors, classes);
            // The cross-entropy's gradient with respect to the logits, averaged.
            for (row, (_, class)) in errors.chunks_exact_mut(classes).zip(&labelled) {
                row[*class] -= 1.0;
                for error in row.iter_mut() {
                    *error /= count as f32;
                }
            }
            product(
                dimensions,
                count,
                classes,
                &inputs,
                true,
                &errors,
                &mut gradient,
            );
            for (w, g) in weights.iter_mut().zip(&gradient) {
                *w -= LEARNING_RATE * (SCALE * g + L2 * *w);
            }
            for (c, bias) in biases.iter_mut().enumerate() {
                let sum: f32 = errors.iter().skip(c).step_by(classes).sum();
                *bias -= LEARNING_RATE * sum;
            }
        }
        Some(Self {
            weights: (0..classes)
                .map(|c| weights.iter().skip(c).step_by(classes).copied().collect())
                .collect(),
            biases,
        })
    }

    /// The most probable class for a message's unit vector.
    pub fn classify(&self, vector: &[f32]) -> Option<Verdict> {
        let classes = self.weights.len();
        if classes == 0 || self.weights[0].len() != vector.len() {
            return None;
        }
        let mut probabilities: Vec<f32> = self
            .weights
            .iter()
            .zip(&self.biases)
            .map(|(weights, bias)| SCALE * similarity(weights, vector) + bias)
            .collect();
        softmax_rows(&mut probabilities, classes);
        let (class, probability) = probabilities
            .iter()
            .copied()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(&b.1))?;
        Some(if class + 1 == classes {
            Verdict::OffTopic(probability)
        } else {
            Verdict::Doc(class, probability)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A unit vector mostly along `axis`, a little along `wobble`.
    fn near(axis: usize, wobble: usize, amount: f32) -> Arc<[f32]> {
        let mut v = [0.0_f32; 8];
        v[axis] = 1.0;
        v[wobble] += amount;
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / norm).collect()
    }

    #[test]
    fn learns_each_documents_direction_and_the_off_topic_one() {
        let examples: Vec<(Arc<[f32]>, usize)> = (3..6)
            .flat_map(|w| [(near(0, w, 0.3), 0), (near(1, w, 0.3), 1)])
            .collect();
        let off_topic: Vec<Arc<[f32]>> = (3..6).map(|w| near(2, w, 0.3)).collect();
        let classifier = Classifier::train(2, &examples, &off_topic).unwrap();
        // Unlike any example closely (half along a direction no example has), still the
        // document whose examples it leans towards.
        let leaning = near(1, 7, 1.0);
        match classifier.classify(&leaning) {
            Some(Verdict::Doc(1, p)) => assert!(p > 0.7, "{p}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classifier.classify(&near(2, 6, 0.2)),
            Some(Verdict::OffTopic(p)) if p > 0.7
        ));
        // A vector of another size, or nothing to learn from, gives nothing.
        assert_eq!(classifier.classify(&[1.0, 0.0]), None);
        assert!(Classifier::train(2, &[], &off_topic).is_none());
        let short: Arc<[f32]> = Arc::from(vec![1.0_f32, 0.0]);
        assert!(Classifier::train(2, &[(short, 0), (near(0, 3, 0.1), 1)], &[]).is_none());
    }
}
