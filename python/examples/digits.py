from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import cvxcnn
from cvxcnn.sklearn import ConvexCNNClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X / 16, y, train_size=300, random_state=0)
clf = ConvexCNNClassifier(input_shape=(1, 8, 8), kernel=3, beta=0.01, n_jobs=2,
                          arrangements={"mode": "sample", "count": 50, "seed": 0})
clf.fit(X_train, y_train)
print("test accuracy", clf.score(X_test, y_test))
print("certified", all(c["certified"] for c in clf.certificate_), "optimum", clf.objective_)
cvxcnn.export_network(clf.result_, "digits.safetensors")
cvxcnn.to_onnx(clf.result_, "digits.onnx")
