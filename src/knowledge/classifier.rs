//! Which document a message is about, learned from the documents: a linear classifier
//! (multinomial logistic regression) over the embeddings of every section and phrasing, or
//! over their character n-grams ([`super::lexical`]), with one more class for messages that
//! are not for IT (the off-topic messages).
//!
//! Nearest-neighbour matching asks which single help text a message is closest to; a
//! classifier weighs all of a document's texts against all of the others', so a message
//! that is a little like many of one document's phrasings, and like none of them closely, still
//! goes to it (docs/assistant.md has the figures). Trained by full-batch gradient descent, for
//! embeddings on `matrixmultiply`'s products, for n-grams on sparse sums: a few hundred examples and a few
//! dozen classes need no optimiser framework (linfa would bring ndarray and argmin for a loop
//! of twenty lines).

use std::sync::Arc;

use super::semantic::similarity;

/// Logits are this times the dot product: unit vectors' dot products lie in -1..1, too flat
/// for a softmax to be sure of anything.
const SCALE: f32 = 10.0;
/// L2 penalty on the weights, so a class with few examples does not fit them exactly.
const L2: f32 = 1e-3;
/// No classifier is trained when one step would take more multiply-adds than this (ten times
/// the starter set's with 1,536-dimension embeddings: seconds of training in a release build),
/// or when its weights would hold more numbers than [`MAX_WEIGHTS`]. Both grow with the
/// documents times the examples or features, so a store of thousands of documents is served
/// by the rules alone rather than trained for hours.
pub const MAX_STEP_WORK: usize = 200_000_000;
pub const MAX_WEIGHTS: usize = 8_000_000;

/// Whether a classifier of this size is worth training (see [`MAX_STEP_WORK`]); says why not.
pub fn affordable(step_work: usize, weights: usize, classes: usize) -> bool {
    if step_work <= MAX_STEP_WORK && weights <= MAX_WEIGHTS {
        return true;
    }
    tracing::warn!(
        documents = classes.saturating_sub(1),
        step_work,
        weights,
        "too many help documents to train a classifier on; the keyword and similarity rules answer alone"
    );
    false
}

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

/// How a classifier is trained: gradient steps over the whole set, and their size.
#[derive(Clone, Copy, Debug)]
pub struct Schedule {
    pub epochs: usize,
    pub learning_rate: f32,
}

/// Dense unit vectors (embeddings): few enough steps to stop short of fitting every phrasing
/// exactly, which is what lets it generalise (momentum, converging further, was surer and
/// wrong more often).
pub const EMBEDDINGS: Schedule = Schedule {
    epochs: 300,
    learning_rate: 0.5,
};

/// The labelled examples' logits turned into the cross-entropy's gradient with respect to
/// them, averaged: softmax, minus one at each example's class, over the count.
fn logit_errors(errors: &mut [f32], classes: usize, biases: &[f32], labels: &[usize]) {
    for row in errors.chunks_exact_mut(classes) {
        for (logit, bias) in row.iter_mut().zip(biases) {
            *logit = SCALE * *logit + bias;
        }
    }
    softmax_rows(errors, classes);
    let count = labels.len() as f32;
    for (row, class) in errors.chunks_exact_mut(classes).zip(labels) {
        row[*class] -= 1.0;
        for error in row.iter_mut() {
            *error /= count;
        }
    }
}

/// One step of gradient descent on the weights (row-major, dimensions × classes) and biases.
fn step(
    weights: &mut [f32],
    biases: &mut [f32],
    gradient: &[f32],
    errors: &[f32],
    learning_rate: f32,
) {
    for (w, g) in weights.iter_mut().zip(gradient) {
        *w -= learning_rate * (SCALE * g + L2 * *w);
    }
    let classes = biases.len();
    for (c, bias) in biases.iter_mut().enumerate() {
        let sum: f32 = errors.iter().skip(c).step_by(classes).sum();
        *bias -= learning_rate * sum;
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
        if !affordable(
            count.saturating_mul(dimensions).saturating_mul(classes),
            dimensions.saturating_mul(classes),
            classes,
        ) {
            return None;
        }
        let labels: Vec<usize> = labelled.iter().map(|(_, class)| *class).collect();
        // Row-major: the examples (count × dimensions), the weights (dimensions × classes).
        let inputs: Vec<f32> = labelled
            .iter()
            .flat_map(|(v, _)| v.iter().copied())
            .collect();
        let mut weights = vec![0.0_f32; dimensions * classes];
        let mut biases = vec![0.0_f32; classes];
        let mut errors = vec![0.0_f32; count * classes];
        let mut gradient = vec![0.0_f32; dimensions * classes];
        for _ in 0..EMBEDDINGS.epochs {
            product(
                count,
                dimensions,
                classes,
                &inputs,
                false,
                &weights,
                &mut errors,
            );
            logit_errors(&mut errors, classes, &biases, &labels);
            product(
                dimensions,
                count,
                classes,
                &inputs,
                true,
                &errors,
                &mut gradient,
            );
            step(
                &mut weights,
                &mut biases,
                &gradient,
                &errors,
                EMBEDDINGS.learning_rate,
            );
        }
        Some(Self::from_columns(&weights, biases))
    }

    /// [`Self::train`] on sparse vectors (feature, value) of `dimensions` features, with this
    /// schedule: a few thousand features of which each example has a few dozen, where dense
    /// products would spend nearly all their time on zeros.
    pub fn train_sparse(
        docs: usize,
        dimensions: usize,
        examples: &[(Vec<(usize, f32)>, usize)],
        schedule: Schedule,
    ) -> Option<Self> {
        if dimensions == 0
            || !examples.iter().any(|(_, class)| *class < docs)
            || examples.iter().any(|(features, class)| {
                *class > docs || features.iter().any(|(feature, _)| *feature >= dimensions)
            })
        {
            return None;
        }
        let classes = docs + 1;
        let values: usize = examples.iter().map(|(features, _)| features.len()).sum();
        if !affordable(
            values.saturating_mul(classes),
            dimensions.saturating_mul(classes),
            classes,
        ) {
            return None;
        }
        let labels: Vec<usize> = examples.iter().map(|(_, class)| *class).collect();
        let mut weights = vec![0.0_f32; dimensions * classes];
        let mut biases = vec![0.0_f32; classes];
        let mut errors = vec![0.0_f32; examples.len() * classes];
        let mut gradient = vec![0.0_f32; dimensions * classes];
        for _ in 0..schedule.epochs {
            for ((features, _), row) in examples.iter().zip(errors.chunks_exact_mut(classes)) {
                row.fill(0.0);
                for (feature, value) in features {
                    let column = &weights[feature * classes..(feature + 1) * classes];
                    for (logit, w) in row.iter_mut().zip(column) {
                        *logit += value * w;
                    }
                }
            }
            logit_errors(&mut errors, classes, &biases, &labels);
            gradient.fill(0.0);
            for ((features, _), row) in examples.iter().zip(errors.chunks_exact(classes)) {
                for (feature, value) in features {
                    let column = &mut gradient[feature * classes..(feature + 1) * classes];
                    for (g, error) in column.iter_mut().zip(row) {
                        *g += value * error;
                    }
                }
            }
            step(
                &mut weights,
                &mut biases,
                &gradient,
                &errors,
                schedule.learning_rate,
            );
        }
        Some(Self::from_columns(&weights, biases))
    }

    /// The classifier from row-major weights (dimensions × classes): one row per class.
    fn from_columns(weights: &[f32], biases: Vec<f32>) -> Self {
        let classes = biases.len();
        Self {
            weights: (0..classes)
                .map(|c| weights.iter().skip(c).step_by(classes).copied().collect())
                .collect(),
            biases,
        }
    }

    /// The verdict from each class's logit before scaling.
    fn verdict(&self, mut logits: Vec<f32>) -> Option<Verdict> {
        let classes = logits.len();
        for (logit, bias) in logits.iter_mut().zip(&self.biases) {
            *logit = SCALE * *logit + bias;
        }
        softmax_rows(&mut logits, classes);
        let (class, probability) = logits
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

    /// The most probable class for a message's sparse vector (see [`Self::train_sparse`]);
    /// features it was not trained on count for nothing.
    pub fn classify_sparse(&self, features: &[(usize, f32)]) -> Option<Verdict> {
        if self.weights.is_empty() {
            return None;
        }
        let logits = self
            .weights
            .iter()
            .map(|weights| {
                features
                    .iter()
                    .filter_map(|(feature, value)| Some(value * weights.get(*feature)?))
                    .sum()
            })
            .collect();
        self.verdict(logits)
    }

    /// The most probable class for a message's unit vector.
    pub fn classify(&self, vector: &[f32]) -> Option<Verdict> {
        if self.weights.is_empty() || self.weights[0].len() != vector.len() {
            return None;
        }
        let logits = self
            .weights
            .iter()
            .map(|weights| similarity(weights, vector))
            .collect();
        self.verdict(logits)
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

    #[test]
    fn a_store_too_large_to_train_is_refused_before_any_work() {
        // 140 examples of 1,536 dimensions for 1,000 documents: 215 million multiply-adds a
        // step.
        let vector: Arc<[f32]> = vec![0.0255_f32; 1536].into();
        let examples: Vec<(Arc<[f32]>, usize)> = (0..140).map(|i| (vector.clone(), i)).collect();
        assert!(Classifier::train(1000, &examples, &[]).is_none());
        assert!(Classifier::train(10, &examples[..10], &[]).is_some());
        // 10,000 features for 1,000 documents: ten million weights.
        let sparse = vec![(vec![(9_999, 1.0)], 0)];
        assert!(Classifier::train_sparse(1000, 10_000, &sparse, EMBEDDINGS).is_none());
        assert!(Classifier::train_sparse(10, 10_000, &sparse, EMBEDDINGS).is_some());
    }
}
