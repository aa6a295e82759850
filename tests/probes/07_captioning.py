# Run after the whole of lectures/07_captioning.ipynb, in the same kernel ("again" run of
# tests/notebook_runs.py): the caption explorer must work with the globals rebound.
model = tuned = frozen = more = vocab = test_images = test_scenes = results = None   # any later cell may
for kwargs_ in [dict(shape1="triangle", colour1="green", size1="small", x1=20, y1=10, shape2="none"),
                dict(shape1="circle", colour1="yellow", size1="big", x1=8, y1=24,
                     shape2="square", colour2="red", size2="small", x2=24, y2=8)]:
    print("probe", kwargs_)
    greedy_, beams_ = explore(**kwargs_)
    print(f"probe returned: greedy {' '.join(greedy_)!r}, {len(beams_)} beam captions")
