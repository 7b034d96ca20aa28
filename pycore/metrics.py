"""Classification metrics over a whole test set: confusion matrix, per-class accuracy, worst mistakes."""
import numpy as np


def confusion_matrix(labels, predictions, K):
    """(N,) true labels and (N,) predictions -> (K, K) counts, rows = true class, columns = predicted."""
    # intp, not int64: bincount refuses int64 where pointers are 32 bits (WebAssembly).
    return np.bincount(np.asarray(labels, np.intp) * K + np.asarray(predictions, np.intp),
                       minlength=K * K).reshape(K, K)


def per_class_accuracy(matrix):
    """(K, K) confusion matrix -> (K,) fraction of each true class predicted right (nan if absent)."""
    totals = matrix.sum(axis=1)
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(totals > 0, np.diag(matrix) / np.maximum(totals, 1), np.nan)


def confident_mistakes(probs, labels, n):
    """Indices of the n wrong predictions made with the highest confidence. probs: (N, K)."""
    pred = probs.argmax(axis=1)
    wrong = np.flatnonzero(pred != labels)
    order = np.argsort(-probs[wrong, pred[wrong]], kind='stable')
    return wrong[order[:n]]
