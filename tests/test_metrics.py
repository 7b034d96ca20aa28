import numpy as np

from pycore.metrics import confident_mistakes, confusion_matrix, per_class_accuracy


def test_confusion_and_per_class():
    labels = np.array([0, 0, 1, 1, 1, 2])
    pred = np.array([0, 1, 1, 1, 0, 1])
    m = confusion_matrix(labels, pred, 4)
    assert m.tolist() == [[1, 1, 0, 0], [1, 2, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]]
    acc = per_class_accuracy(m)
    np.testing.assert_allclose(acc[:3], [0.5, 2 / 3, 0.0])
    assert np.isnan(acc[3])


def test_confident_mistakes_order():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.3, 0.7], [0.95, 0.05]])
    labels = np.array([1, 0, 0, 1, 0])
    # wrong: 0 (conf .9), 1 (.8), 2 (.6); 3 and 4 are right
    assert confident_mistakes(probs, labels, 2).tolist() == [0, 1]
    assert confident_mistakes(probs, labels, 10).tolist() == [0, 1, 2]
