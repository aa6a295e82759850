# Run after the whole of lectures/03_rnn_bptt.ipynb, in the same kernel ("again" run of
# tests/notebook_runs.py): the explorer must work with the globals it was built from rebound.
jacobian_curve = scaled_whh = gradient_plot = make_gradient_explorer = None   # a later cell may rebind these
rho = input_scale = tanh_curve = linear_curve = None
tanh_curve, linear_curve = gradient_view(1.5, 0.1)
print(f"linear growth beyond 1e3 at 30 steps: {linear_curve[30] > 1e3}, tanh below linear: {tanh_curve[59] < linear_curve[59]}")
small_tanh, small_linear = gradient_view(0.5, 2.0)          # new values: a small radius, saturating inputs
print(f"rho 0.5, input scale 2.0: tanh below 1e-6 at 30 steps: {small_tanh[30] < 1e-6}, "
      f"linear below 1e-6 at 30 steps: {small_linear[30] < 1e-6}")
tanh_again, _ = gradient_view(1.5, 0.1)
print(f"same values, same curve: {bool((tanh_again == tanh_curve).all())}")
