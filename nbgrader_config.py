"""nbgrader configuration of seqcourse (nbgrader 0.9).

The course root is the directory nbgrader runs in (the repository root for
`make release` and `make grade`).  nbgrader's "source" notebooks, with the
solutions and hidden tests, live in solutions/; the student release it
generates lives in assignments/ and is committed.  The working folders
(submitted/, autograded/, feedback/) and the gradebook are git-ignored.
"""

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "seqcourse"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
# SQLite by default (one file next to this one). For several graders, point
# it at PostgreSQL, e.g. "postgresql://grader@dbhost/seqcourse" (see README).
# c.CourseDirectory.db_url = "sqlite:///gradebook.db"

# What a student sees in place of the instructor's solution.
c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\nraise NotImplementedError()",
}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Student notebooks are executed when autograding: give slow cells room, and
# keep a runaway output from filling the gradebook.
c.Execute.timeout = 120
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 50

# Students must not see nbgrader's bookkeeping in the release.
c.ClearMarkingScheme.enforce_metadata = True

# A deleted test cell is put back (and run) instead of silently scoring 0.
c.OverwriteCells.add_missing_cells = True
