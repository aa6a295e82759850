# Run after the whole of lectures/02_markov_hmm.ipynb, in the same kernel ("again" run of
# tests/notebook_runs.py): the explorers must work with the globals rebound.
watch = explorer_obs = explorer_states = STATES_ = None      # later cells may rebind these names
useless = hmm_view(sensor_quality=0.0)
again = hmm_view(sensor_quality=0.0, stickiness=0.5)
swapped = hmm_view(swap_walk_run=True)
right = hmm_view()
print(f"useless sensor log P(x) {useless[0]:.4f} {again[0]:.4f}")
print(f"swapped: likelihood within 5 {abs(swapped[0] - right[0]) < 5}, accuracy lower {swapped[1] < right[1]}")
