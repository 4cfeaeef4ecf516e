"""Graded exercises: each notebook ends with stubs a learner fills in and one call that grades each.

    grading    the shared machinery: run the learner's function, compare, explain (``Feedback``)
    logmel     notebook 01: frame counts, Hz to mel (HTK), one mel triangle; the window
               experiment (a config for any window, what time against frequency shows)
    patches    notebook 02: the patch count, patches by ``unfold``, tokens and positions; the
               stride experiment (the growth exponent of step time against tokens)
    attention  notebook 03: scaled dot-product attention, splitting/merging heads, a padding
               mask, attention rollout; the occlusion experiment (what its table shows)
    folds      notebook 04: a fold split without leaking recordings, macro F1
    pretraining  notebook 05: DeiT's RGB filters summed into one, a position grid fitted (one
               axis cut from its middle or stretched, then the whole grid with its prefix rows)
    solutions  worked solutions, out of the learner's way (the tests run them through the graders)

Every grader compares with the package's own implementation (``ast_lab.features``,
``ast_lab.models``, ``ast_lab.models.pretrained``, ``ast_lab.data.splits``, ``ast_lab.metrics``,
``ast_lab.resolution``), never with a copy of it; an experiment's reading is checked against the
measurement itself (``grading.grade_reading``).
"""
