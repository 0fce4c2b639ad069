"""The scikit-learn estimators: estimator checks, grid search, pickling, Dask."""

import pickle

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import cvxcnn  # noqa: E402
from cvxcnn.sklearn import XFAIL_CHECKS, ConvexCNNClassifier, ConvexCNNRegressor  # noqa: E402

FAST = {"arrangements": {"mode": "sample", "count": 20, "seed": 0}}


def _expected_failures(estimator):
    return dict(XFAIL_CHECKS)


@parametrize_with_checks(
    [ConvexCNNClassifier(**FAST), ConvexCNNRegressor(**FAST)],
    expected_failed_checks=_expected_failures,
)
def test_estimator_checks(estimator, check):
    check(estimator)


def _data(n=60, d=8, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = np.where(X[:, :3].sum(axis=1) > 0, 1, 0)
    return X, y


def test_fit_matches_solve_and_its_certificate():
    X, y = _data()
    est = ConvexCNNClassifier(beta=0.05, kernel=3, **FAST).fit(X, y)
    problem = {
        "inputs": X.reshape(len(X), 1, -1),
        "targets": np.where(y == 1, 1.0, -1.0),
        "architecture": {"kind": "two_layer", "kernel": [3], "pooling": "sum"},
        "beta": 0.05,
        "arrangements": FAST["arrangements"],
    }
    result = cvxcnn.solve(problem)
    assert est.objective_ == result["objective"]
    assert est.certificate_["certified"]
    assert est.filters_.shape == (result["neurons"], 1, 3)
    assert np.array_equal(est.filters_.reshape(result["neurons"], -1), result["filters"])
    assert np.array_equal(est.decision_function(X), cvxcnn.predict(result, problem["inputs"]))
    assert est.score(X, y) > 0.9


@pytest.mark.parametrize("loss", ["logistic", "hinge"])
def test_classification_losses_match_solve(loss):
    X, y = _data()
    est = ConvexCNNClassifier(beta=0.05, kernel=3, loss=loss, **FAST).fit(X, y)
    problem = {
        "inputs": X.reshape(len(X), 1, -1),
        "targets": np.where(y == 1, 1.0, -1.0),
        "architecture": {"kind": "two_layer", "kernel": [3], "pooling": "sum"},
        "beta": 0.05,
        "arrangements": FAST["arrangements"],
        "loss": loss,
    }
    result = cvxcnn.solve(problem)
    squared = ConvexCNNClassifier(beta=0.05, kernel=3, **FAST).fit(X, y)
    assert est.objective_ == result["objective"]
    assert est.objective_ != squared.objective_
    assert est.certificate_["certified"]
    assert est.certificate_["evidence"]["loss"] == loss
    assert est.score(X, y) > 0.9


def test_multiclass_one_vs_rest_and_n_jobs():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((60, 6))
    y = np.argmax(X[:, :3], axis=1) * 2 + 1  # labels 1, 3, 5
    a = ConvexCNNClassifier(beta=0.05, **FAST).fit(X, y)
    b = ConvexCNNClassifier(beta=0.05, n_jobs=2, **FAST).fit(X, y)
    assert list(a.classes_) == [1, 3, 5]
    assert a.objective_ == b.objective_
    assert np.array_equal(a.decision_function(X), b.decision_function(X))
    assert a.decision_function(X).shape == (60, 3)
    # The whole model predicts as the library's one-vs-rest rule (ties to the smaller label).
    assert np.array_equal(a.predict(X), cvxcnn.predict(a.result_, X.reshape(60, 1, 6)))
    assert a.score(X, y) > 0.8


def test_input_shape_and_bad_inputs():
    X, y = _data(d=16)
    est = ConvexCNNClassifier(input_shape=(1, 4, 4), kernel=2, **FAST).fit(X, y)
    assert est.filters_.shape[1:] == (1, 2, 2)
    with pytest.raises(ValueError, match="input_shape"):
        ConvexCNNClassifier(input_shape=(1, 5, 5), **FAST).fit(X, y)
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        ConvexCNNClassifier(**FAST).fit(X[:, 0], y)
    with pytest.raises(ValueError, match="one class"):
        ConvexCNNClassifier(**FAST).fit(X, np.zeros(len(y)))
    Xn = X.copy()
    Xn[3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ConvexCNNClassifier(**FAST).fit(Xn, y)


def test_pickle_round_trip():
    X, y = _data()
    est = ConvexCNNRegressor(beta=0.1, **FAST).fit(X, y.astype(float))
    again = pickle.loads(pickle.dumps(est))
    assert np.array_equal(again.predict(X), est.predict(X))


def _grid(**kw):
    X, y = _data(n=48)
    grid = GridSearchCV(
        ConvexCNNClassifier(**FAST), {"beta": [0.01, 0.1, 1.0]}, cv=3, **kw
    )
    return grid.fit(X, y)


def test_grid_search_over_beta():
    grid = _grid()
    assert grid.best_params_["beta"] in (0.01, 0.1, 1.0)
    assert len(grid.cv_results_["mean_test_score"]) == 3


def test_grid_search_under_dask_equals_the_serial_run():
    distributed = pytest.importorskip("distributed")
    import joblib

    serial = _grid()
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False,
        dashboard_address=None,
    ) as cluster, distributed.Client(cluster):
        with joblib.parallel_backend("dask"):
            spread = _grid(n_jobs=-1)
    assert spread.best_params_ == serial.best_params_
    for key in ("mean_test_score", "split0_test_score", "split1_test_score", "split2_test_score"):
        assert np.array_equal(spread.cv_results_[key], serial.cv_results_[key])
    assert spread.best_estimator_.objective_ == serial.best_estimator_.objective_
