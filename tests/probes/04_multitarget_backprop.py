# Run after the whole of lectures/04_multitarget_backprop.ipynb, in the same kernel ("again" run of
# tests/notebook_runs.py): the explorers must work with the globals rebound.
detector = gradient_norms = deep = acts_deep = y_deep = None   # later cells may rebind these names
out = detector_view("CABAB")
print("fires at", [i for i, v in enumerate(out) if v > 0.5])
top, every = target_view(layer6=True), target_view(**{f"layer{l}": True for l in range(1, 7)})
print(f"every/top first layer: {every[0] / top[0]:.1e}")
