# Run after the whole of lectures/01_sequences.ipynb, in the same kernel ("again" run of
# tests/notebook_runs.py): the explorers must work with the globals rebound.
measurements = true_pos = t = filter_with = None        # what any later cell may do to these names
err, cover = kalman_view(np.log10(0.0005), np.log10(2.0))
print(f"explorer after Run All: RMSE {err:.3f}, coverage {cover:.1%}")

tr = dv = te = h_train = h_dev = h_vocab = kn2 = chosen = smooth_pp = None   # the discount explorer's
for d_ in (0.3, 0.8):                                                      # data, rebound
    pp_, lower_, top_ = discount_view(d_, explorer_contexts[1])
    print(f"discount explorer after Run All: d={d_}, context '{' '.join(explorer_contexts[1])}', "
          f"dev perplexity {pp_:.3f}, to the lower order {lower_:.4f}, top '{top_[0][0]}'")
