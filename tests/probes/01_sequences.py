# Run after the whole of lectures/01_sequences.ipynb, in the same kernel ("again" run of
# tests/notebook_runs.py): the explorers must work with the globals rebound.
measurements = true_pos = t = filter_with = None        # what any later cell may do to these names
err, cover = kalman_view(np.log10(0.0005), np.log10(2.0))
print(f"explorer after Run All: RMSE {err:.3f}, coverage {cover:.1%}")
