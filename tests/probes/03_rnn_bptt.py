# Run after the whole of lectures/03_rnn_bptt.ipynb, in the same kernel ("again" run of
# tests/notebook_runs.py): the explorers must work with the globals rebound.
jacobian_curve = None                # a later cell may rebind this name
tanh_curve, linear_curve = gradient_view(1.5, 0.1)
print(f"linear growth beyond 1e3 at 30 steps: {linear_curve[30] > 1e3}, tanh below linear: {tanh_curve[59] < linear_curve[59]}")
