"""The peer path of the batch benchmark: score a JSON Lines file of feature arrays with scikit-learn's
predict_proba, batch by batch, and write one JSON line per row, as a seed-stack user would.

Usage: python3 bench/batch_sklearn.py MODEL INPUT OUTPUT BATCH
MODEL is a pickle (train.py's model.pkl) or an .onnx MLP whose weights are loaded into an
MLPClassifier (same layers and activations as src/demo/mlp.ts). Prints `rows SECONDS`.
"""
import json, pickle, sys, time
import numpy as np


def mlp_from_onnx(path):
    import onnx
    from onnx import numpy_helper
    from sklearn.neural_network import MLPClassifier
    init = {t.name: numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer}
    layers = sorted(int(k[1:]) for k in init if k.startswith("w"))
    ws = [init[f"w{i}"].astype(np.float32) for i in layers]
    bs = [init[f"b{i}"].astype(np.float32) for i in layers]
    clf = MLPClassifier(hidden_layer_sizes=tuple(w.shape[1] for w in ws[:-1]), max_iter=1)
    # A tiny fit gives the classifier its structure; the trained weights then replace its own.
    rng = np.random.default_rng(0)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(rng.normal(size=(4, ws[0].shape[0])).astype(np.float32), [0, 1, 0, 1])
    clf.coefs_, clf.intercepts_ = ws, bs
    return clf


def main():
    model_path, input_path, output_path, batch = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    clf = mlp_from_onnx(model_path) if model_path.endswith(".onnx") else pickle.load(open(model_path, "rb"))
    started = time.perf_counter()
    rows = 0
    with open(input_path) as src, open(output_path, "w") as out:
        pending = []
        def flush():
            p = clf.predict_proba(np.asarray(pending, dtype=np.float32))[:, 1]
            base = rows - len(pending)
            out.write("".join(json.dumps({"id": base + i + 1, "probability": float(v)}) + "\n" for i, v in enumerate(p)))
            pending.clear()
        for line in src:
            pending.append(json.loads(line))
            rows += 1
            if len(pending) == batch:
                flush()
        if pending:
            flush()
    print(rows, time.perf_counter() - started)


main()
