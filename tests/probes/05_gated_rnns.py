# Run after the whole of lectures/05_gated_rnns.ipynb, in the same kernel ("again" run of
# tests/notebook_runs.py): the explorer must work with the globals rebound.
models = acc = x_view = y_view = x_test = y_test = mean_forget = mean_update = None   # later cells may rebind these
for sequence, kind, average in [(0, "lstm", True), (11, "lstm", False), (5, "gru", True), (17, "gru", False)]:
    keep, memory = gate_explorer.show(sequence, kind, average)
    print(f"probe {kind} sequence {sequence} average {average}: keep gate {keep:.4f}, "
          f"memory shape {memory.shape}, last state {memory[-1, 0]:+.4f}")
