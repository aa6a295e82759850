# Run after the whole of lectures/08_lattices_ctc.ipynb, in the same kernel ("again" run of
# tests/notebook_runs.py): the explorer must work with the globals rebound and new widget values.
cnn = seq_model = seq_model_probs = margin_model = reader = None      # later cells may rebind these
train_idx = test_idx = train_strings = test_strings = s200 = None
draw_lattice = string_accuracy = reading = cuts = arcs = scores = n = label = top = None
for kw in [dict(digits="200", gap=1, seed=0),
           dict(digits="200", gap=-1, seed=0),
           dict(digits="200", gap=1, seed=8),
           dict(digits="31", gap=2, seed=4),
           dict(digits="90517", gap=0, seed=2),
           dict(digits="200", gap=1, seed=0, cnn_name="pre-trained, log-probabilities"),
           dict(digits="2a"), dict(digits="123456"), dict(digits="")]:
    out = lattice_explorer.show(**kw)
    if out is None:
        print(f"PROBE {kw['digits']!r}: refused")
    else:
        lab, best = out
        print(f"PROBE {kw}: label {''.join(map(str, lab))} top " +
              " ".join(f"{''.join(map(str, l))}:{sc:.4f}" for sc, l, _ in best))
