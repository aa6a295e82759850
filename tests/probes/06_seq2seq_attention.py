# Run after the whole of lectures/06_seq2seq_attention.ipynb, in the same kernel ("again" run of
# tests/notebook_runs.py): the decoding explorer must work with the globals rebound.
MODELS = test_pairs = SV = TV = model = pairs = None     # what any later cell may do to these names
for sentence_, step_ in [(5, 0), (5, 3), (11, 1)]:
    print(f"probe sentence={sentence_} step={step_}")
    lines_ = explorer.callback(sentence_, step_)          # prints its four lines and returns them
    print(f"probe returned {len(lines_)} lines")
