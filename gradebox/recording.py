"""Recording grades in nbgrader's gradebook: one process, one session, one commit per
notebook.

:func:`record_batch` is phase 2 of a batch (:func:`gradebox.batch._record`): what
``nbgrader autograde`` minus its Execute step does to the executed notebooks (student
and submission rows, the submission's timestamp, locked cells put back from the
gradebook, nbgrader's cleaning, grades, the "No response." comments, late penalties,
the autograded files and their modes), with the same results, in the caller's process.
nbgrader itself pays, per notebook, a new gradebook engine about nine times, a
gradebook query per cell in ``OverwriteCells`` and ``SaveAutoGrades``, a JSON-schema
check of the schema itself per cell in ``CheckCellMetadata`` (run twice), and
nbconvert's exporter validating after every preprocessor; here the batch has one
``Gradebook``, the assignment's cells are read once, a notebook's grade and comment
rows with two queries, nbgrader's cell metadata is checked by a validator compiled
once, and nbformat validates once per pass.  nbgrader's own preprocessors still do
the work where they are pure (``DeduplicateIds``, ``OverwriteCells``, ``IgnorePattern``,
``ClearMetadataPreprocessor``, ``LimitOutput``, ``SaveAutoGrades``' scoring rules,
the late-submission plugin), configured from the course's ``nbgrader_config.py``.

:class:`SaveAutoGradesOnce` is ``SaveAutoGrades`` committing once per notebook
instead of once per cell: a notebook's grades are written all together or not at
all, which is also what a shard killed half-way needs (its re-run finds either the
old grades or the new ones, never a mixture).  :func:`_record_with_nbgrader`, the
former phase 2 (a ``nbgrader autograde`` subprocess configured to use it), is kept
to compare the two in the tests.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from nbgrader.preprocessors import SaveAutoGrades

__all__ = ["SaveAutoGradesOnce", "record_batch"]


class _NoCommit:
    """The gradebook's session with ``commit`` deferred (everything else passes through)."""

    def __init__(self, session: Any) -> None:
        self._session = session

    def commit(self) -> None:
        self._session.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


class SaveAutoGradesOnce(SaveAutoGrades):
    """``SaveAutoGrades`` with one commit per notebook instead of one per cell."""

    def preprocess(self, nb, resources):  # noqa: ANN001, ANN201 - nbconvert's signature
        from nbgrader.api import Gradebook

        self.notebook_id = resources["nbgrader"]["notebook"]
        self.assignment_id = resources["nbgrader"]["assignment"]
        self.student_id = resources["nbgrader"]["student"]
        self.db_url = resources["nbgrader"]["db_url"]
        self.gradebook = Gradebook(self.db_url)
        with self.gradebook:
            session = self.gradebook.db
            self.gradebook.db = _NoCommit(session)
            try:
                nb, resources = super(SaveAutoGrades, self).preprocess(nb, resources)
            except BaseException:
                session.rollback()
                raise
            finally:
                self.gradebook.db = session
            session.commit()
        return nb, resources


# --------------------------------------------------------------------------- one process



def _course_config(root: Path) -> Any:
    """nbgrader's configuration as ``nbgrader autograde`` run in ``root`` sees it: every
    ``nbgrader_config`` on Jupyter's config path, then the course root's own."""
    from jupyter_core.paths import jupyter_config_path
    from traitlets.config import Application, Config

    config = Config()
    for path in (jupyter_config_path(), [str(root)]):
        for loaded, _ in Application._load_config_files("nbgrader_config", path=path):
            config.merge(loaded)
    return config


class _FastMetadataValidator:
    """nbgrader's ``MetadataValidatorV3.validate_nb`` (what ``CheckCellMetadata`` runs),
    with the JSON schema's validator built once instead of ``jsonschema.validate``
    (which checks the schema itself again) for every cell."""

    def __init__(self) -> None:
        import jsonschema
        from nbgrader.nbgraderformat import MetadataValidator

        self.reference = MetadataValidator()
        schema = self.reference.schema
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        self.validator = cls(schema)
        try:                    # nbformat's own choice for speed, compiled once
            import fastjsonschema

            # use_default=False: checks only; fastjsonschema would otherwise add defaults
            # such as "task": false to the metadata it checks
            self.fast = fastjsonschema.compile(schema, use_default=False)
            self.fast_error = fastjsonschema.JsonSchemaException
        except ImportError:
            self.fast = None

    def validate_cell(self, cell: Any) -> None:
        import jsonschema
        from nbgrader.nbgraderformat import ValidationError
        from nbgrader.nbgraderformat.common import SchemaTooNewError, SchemaTooOldError

        if "nbgrader" not in cell.metadata:
            return
        version = self.reference.schema_version
        meta = cell.metadata["nbgrader"]
        schema = meta.get("schema_version", 0)
        if schema < version:
            raise SchemaTooOldError(
                "Outdated schema version: {} (expected {})".format(schema, version), schema, version)
        if schema > version:
            raise SchemaTooNewError(
                "Schema version is too new: {} (expected {})".format(schema, version), schema, version)
        if self.fast is not None:
            try:
                self.fast(meta)
                ok = True
            except self.fast_error:
                ok = False
        if self.fast is None or not ok:        # jsonschema.validate's own error, or none
            error = jsonschema.exceptions.best_match(self.validator.iter_errors(meta))
            if error is not None:
                raise error
        # the rest of MetadataValidatorV3.validate_cell, as nbgrader 0.9 has it
        grade, solution, locked = meta["grade"], meta["solution"], meta["locked"]
        task = meta.get("task", False)
        if "cell_type" in meta and meta["cell_type"] != cell.cell_type:
            self.reference.log.warning("Cell type has changed from {} to {}!".format(
                meta["cell_type"], cell.cell_type), cell)
        if grade or solution or locked:
            if "grade_id" not in meta:
                raise ValidationError("nbgrader cell does not have a grade_id: {}".format(cell.source))
            if meta["grade_id"] == "":
                raise ValidationError("grade_id is empty")
        if grade and "points" not in meta:
            raise ValidationError("nbgrader cell '{}' does not have points".format(meta["grade_id"]))
        if not task:
            if cell.cell_type == "markdown" and grade and not solution:
                raise ValidationError(
                    "Markdown grade cell '{}' is not marked as a solution cell".format(meta["grade_id"]))
            if cell.cell_type == "markdown" and not grade and solution:
                raise ValidationError(
                    "Markdown solution cell is not marked as a grade cell: {}".format(cell.source))
        elif cell.cell_type != "markdown":
            raise ValidationError("Task cells have to be markdown: {}".format(cell.source))

    def validate_nb(self, nb: Any) -> None:
        from nbgrader.nbgraderformat import ValidationError

        for cell in nb.cells:
            self.validate_cell(cell)
        ids = set()
        for cell in nb.cells:
            if "nbgrader" not in cell.metadata:
                continue
            meta = cell.metadata["nbgrader"]
            if not meta["grade"] and not meta["solution"] and not meta["locked"]:
                continue
            if meta["grade_id"] in ids:
                raise ValidationError("Duplicate grade id: {}".format(meta["grade_id"]))
            ids.add(meta["grade_id"])

    def check(self, nb: Any, log: Any) -> None:
        """What ``CheckCellMetadata.preprocess`` does."""
        import traceback

        from nbgrader.nbgraderformat import ValidationError

        try:
            self.validate_nb(nb)
        except ValidationError:
            log.error(traceback.format_exc())
            msg = "Notebook failed to validate; the nbgrader metadata may be corrupted."
            log.error(msg)
            raise ValidationError(msg)


class _Cells:
    """An assignment's cells as the gradebook holds them, read once for the batch: what
    ``OverwriteCells`` asks the gradebook for, answered from memory."""

    def __init__(self, gb: Any, assignment: str) -> None:
        from types import SimpleNamespace as NS

        self.notebooks: dict[str, Any] = {}
        for nb in gb.find_assignment(assignment).notebooks:
            self.notebooks[nb.name] = NS(
                name=nb.name, kernelspec=nb.kernelspec,
                source_cells=[NS(name=c.name, cell_type=c.cell_type, locked=c.locked,
                                 checksum=c.checksum, source=c.source) for c in nb.source_cells],
                grade_cells=[NS(name=c.name, max_score=c.max_score) for c in nb.grade_cells],
                solution_cells=[NS(name=c.name) for c in nb.solution_cells],
                task_cells=[NS(name=c.name, max_score=c.max_score) for c in nb.task_cells])

    # the Gradebook methods OverwriteCells calls
    def find_notebook(self, notebook: str, assignment: str) -> Any:
        return self.notebooks[notebook]

    def find_source_cell(self, name: str, notebook: str, assignment: str) -> Any:
        from nbgrader.api import MissingEntry

        for cell in self.notebooks[notebook].source_cells:
            if cell.name == name:
                return cell
        raise MissingEntry("No such source cell: {}/{}/{}".format(assignment, notebook, name))

    def find_graded_cell(self, name: str, notebook: str, assignment: str) -> Any:
        from nbgrader.api import MissingEntry

        nb = self.notebooks[notebook]
        for cell in nb.grade_cells + nb.task_cells:
            if cell.name == name:
                return cell
        raise MissingEntry("No such graded cell: {}/{}/{}".format(assignment, notebook, name))


class _Submission:
    """One submitted notebook's grade and comment rows, read with two queries, standing
    in for the gradebook ``SaveAutoGrades`` asks cell by cell; ``db.commit`` does nothing
    (the caller commits the notebook once)."""

    def __init__(self, session: Any, subnb: Any) -> None:
        from nbgrader.api import Comment, Grade, GradeCell, SolutionCell, TaskCell

        self.db = self
        self.grades = dict(session.query(GradeCell.name, Grade)
                           .join(Grade, GradeCell.id == Grade.cell_id)
                           .filter(Grade.notebook_id == subnb.id).all())
        comments = dict(session.query(TaskCell.name, Comment)
                        .join(Comment, TaskCell.id == Comment.cell_id)
                        .filter(Comment.notebook_id == subnb.id).all())
        comments.update(session.query(SolutionCell.name, Comment)
                        .join(Comment, SolutionCell.id == Comment.cell_id)
                        .filter(Comment.notebook_id == subnb.id).all())
        self.comments = comments

    def commit(self) -> None:
        pass

    def find_grade(self, name: str, notebook: str, assignment: str, student: str) -> Any:
        from nbgrader.api import MissingEntry

        try:
            return self.grades[name]
        except KeyError:
            raise MissingEntry("No such grade: {}/{}/{} for {}".format(
                assignment, notebook, name, student)) from None

    def find_comment(self, name: str, notebook: str, assignment: str, student: str) -> Any:
        from nbgrader.api import MissingEntry

        try:
            return self.comments[name]
        except KeyError:
            raise MissingEntry("No such taskcomment: {}/{}/{} for {}".format(
                assignment, notebook, name, student)) from None


class _Recorder:
    """``nbgrader autograde`` without Execute, as :func:`gradebox.batch._record`
    configures it, in this process: the same steps in the same order, nbgrader's own
    preprocessors where they are pure, and the gradebook-bound ones fed from one
    session."""

    def __init__(self, root: Path, assignment: str, executed: Path, autograded: str,
                 db_url: str, gb: Any, config: Any) -> None:
        from nbconvert.preprocessors import ClearMetadataPreprocessor
        from nbgrader.converters import Autograde
        from nbgrader.coursedir import CourseDirectory
        from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, DeduplicateIds,
                                            IgnorePattern, LimitOutput, OverwriteCells,
                                            OverwriteKernelspec)
        from nbgrader.preprocessors.base import NbGraderPreprocessor

        self.root, self.assignment, self.gb, self.db_url = str(root), assignment, gb, db_url
        self.coursedir = CourseDirectory(config=config)
        self.coursedir.root = str(root)
        self.coursedir.submitted_directory = str(executed)
        self.coursedir.autograded_directory = autograded
        self.converter = Autograde(coursedir=self.coursedir, config=config)
        self.log = self.converter.log
        self.dedup = DeduplicateIds(config=config)
        self.kernelspec = OverwriteKernelspec(config=config)
        self.overwrite = OverwriteCells(config=config)
        self.check_pp = CheckCellMetadata(config=config)
        self.ignore = IgnorePattern(config=config)
        self.clear = ClearMetadataPreprocessor(config=config)
        self.limit = LimitOutput(config=config)
        self.save = SaveAutoGradesOnce(config=config)
        self.late = AssignLatePenalties(config=config)
        self.late.init_plugin()
        self.checker = _FastMetadataValidator()
        self.cells = _Cells(gb, assignment)
        self._loop = NbGraderPreprocessor.preprocess   # nbconvert's loop over preprocess_cell

    # ------------------------------------------------------------------ one student
    def student(self, student: str, notebooks: list[str]) -> None:
        """``Autograde.init_assignment``, then every notebook, then permissions."""
        import shutil as sh

        from nbgrader import utils

        gb, assignment, cd = self.gb, self.assignment, self.coursedir
        src = cd.format_path(cd.submitted_directory, student, assignment)
        dest = cd.format_path(cd.autograded_directory, student, assignment)
        # BaseConverter.init_assignment: the submission's other files
        for filename in utils.find_all_files(src, cd.ignore + ["*.ipynb"]):
            path = os.path.join(dest, os.path.relpath(filename, src))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if os.path.exists(path):
                utils.remove(path)
            sh.copy(filename, path)
        if self.converter.create_student:
            gb.update_or_create_student(student)
        else:
            gb.find_student(student)
        gb.find_assignment(assignment)
        timestamp = cd.get_existing_timestamp(src)
        if timestamp:
            gb.update_or_create_submission(assignment, student, timestamp=timestamp)
        else:
            gb.update_or_create_submission(assignment, student)
        # the instructor's files of the assignment, over the student's
        source_path = cd.format_path(cd.source_directory, ".", assignment)
        source_files = set(utils.find_all_files(source_path, cd.ignore + ["*.ipynb"]))
        source_files -= {os.path.join(source_path, x)
                         for x in self.converter.exclude_overwriting.get(assignment, [])}
        for filename in source_files:
            path = os.path.join(dest, os.path.relpath(filename, source_path))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if os.path.exists(path):
                os.remove(path)
            sh.copy(filename, path)
        known = [p for p in notebooks if os.path.splitext(os.path.basename(p))[0] in self.cells.notebooks]
        if not known:
            raise RuntimeError("No notebooks found, did you forget to run "
                               "'nbgrader generate_assignment'?")
        for name in self.cells.notebooks:
            if not os.path.exists(os.path.join(src, f"{name}.ipynb")):
                sub = gb.find_submission_notebook(name, assignment, student)
                for grade in sub.grades:
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
                gb.db.commit()
        for path in known:
            self.notebook(student, path, dest)
        self.converter.set_permissions(assignment, student)

    # ------------------------------------------------------------------ one notebook
    def _read(self, text: str) -> Any:
        """``nbformat.reads`` (which gives a cell without an id one, or a duplicate id a new
        one) then ``nbformat.validator.normalize``, as nbconvert's exporter does first: a
        copy with the same repairs, which only matter if an id is still missing or repeated."""
        import nbformat
        from nbformat import validator

        nb = nbformat.reads(text, as_version=4)
        if hasattr(validator, "normalize") and self._ids_need_repair(nb):
            _, nb = validator.normalize(nb)
        return nb

    @staticmethod
    def _ids_need_repair(nb: Any) -> bool:
        if (nb.get("nbformat", 0), nb.get("nbformat_minor", 0)) < (4, 5):
            return False
        ids = [cell.get("id") for cell in nb.cells]
        return None in ids or len(set(ids)) != len(ids)

    def _round_trip(self, nb: Any) -> Any:
        """The sanitized notebook as nbgrader's second pass reads it from the file its first
        pass wrote (nbformat's JSON out and in; the notebook was validated just before)."""
        import nbformat
        from nbformat import reader, validator

        nb = nbformat.convert(reader.reads(nbformat.v4.nbjson.writes(nb)), 4)
        if self._ids_need_repair(nb):
            nb = nbformat.reads(nbformat.v4.nbjson.writes(nb), as_version=4)
            if hasattr(validator, "normalize"):
                _, nb = validator.normalize(nb)
        return nb

    def _valid(self, nb: Any) -> None:
        import nbformat

        nbformat.validate(nb, relax_add_props=True)  # nbconvert's check after preprocessing

    def notebook(self, student: str, path: str, dest: str) -> None:
        import nbformat

        notebook = os.path.splitext(os.path.basename(path))[0]
        resources = {"nbgrader": {"student": student, "assignment": self.assignment,
                                  "notebook": notebook, "db_url": self.db_url},
                     "unique_key": notebook}
        with open(path, encoding="utf-8") as fh:
            nb = self._read(fh.read())
        # sanitizing: DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata
        nb, resources = self.dedup(nb, resources)
        if self.kernelspec.enabled:
            kernelspec = self.cells.notebooks[notebook].kernelspec
            kernelspec = json.loads(kernelspec) if kernelspec is not None else None
            if kernelspec:
                nb.metadata["kernelspec"] = kernelspec
        if self.overwrite.enabled:
            ow = self.overwrite
            ow.notebook_id, ow.assignment_id, ow.db_url = notebook, self.assignment, self.db_url
            ow.gradebook = self.cells
            nb, resources = self._loop(ow, nb, resources)
            if ow.add_missing_cells:
                nb, resources = ow.add_missing_grade_cells(nb, resources)
                nb, resources = ow.add_missing_task_cells(nb, resources)
        if self.check_pp.enabled:
            self.checker.check(nb, self.check_pp.log)
        self._valid(nb)
        nb = self._round_trip(nb)          # written, read back: as nbgrader's second pass
        # autograding: IgnorePattern, ClearMetadata, LimitOutput, SaveAutoGradesOnce,
        # AssignLatePenalties, CheckCellMetadata; the grades in one transaction
        nb, resources = self.ignore(nb, resources)
        nb, resources = self.clear(nb, resources)
        nb, resources = self.limit(nb, resources)
        session = self.gb.db
        try:
            subnb = self.gb.find_submission_notebook(notebook, self.assignment, student)
            if self.save.enabled:
                sv = self.save
                sv.notebook_id, sv.assignment_id, sv.student_id = notebook, self.assignment, student
                sv.db_url = self.db_url
                sv.gradebook = _Submission(session, subnb)
                nb, resources = self._loop(sv, nb, resources)
            if self.late.enabled:
                self._late_penalty(student, subnb)
            if self.check_pp.enabled:
                self.checker.check(nb, self.check_pp.log)
            self._valid(nb)
            output = nbformat.v4.nbjson.writes(nb)      # nbformat.writes, validated above
            if not output.endswith("\n"):
                output += "\n"
            os.makedirs(dest, exist_ok=True)
            with open(os.path.join(dest, notebook + ".ipynb"), "w", encoding="utf-8") as fh:
                fh.write(output)
            session.commit()
        except BaseException:
            session.rollback()
            raise

    def _late_penalty(self, student: str, subnb: Any) -> None:
        """``AssignLatePenalties.preprocess`` on this session (flushed, not committed)."""
        session = self.gb.db
        session.flush()
        submission = subnb.assignment
        session.expire(subnb)
        session.expire(submission)
        subnb.late_submission_penalty = None
        late = submission.total_seconds_late
        if late > 0:
            lp = self.late
            lp.log.warning("{} is {} seconds late".format(submission, late))
            penalty = lp.plugin_inst.late_submission_penalty(student, subnb.score, late)
            lp.log.warning("Late submission penalty: {}".format(penalty))
            if penalty is not None:
                subnb.late_submission_penalty = lp._check_late_penalty(subnb, penalty)


def _writer_lock(root: Path, db_url: str) -> Any:
    """The gradebook's lock while a batch records: SQLite has one writer at a time
    (shards on one machine take turns); on a server the shards record together, each
    notebook its own transaction, but never while a release rebuilds the assignment's
    cells (which fails, or deletes them, under a notebook being recorded)."""
    from gradebox.course import gradebook_lock

    return gradebook_lock(root, db_url, shared=True)


def record_batch(root: Path, assignment: str, executed: Path, autograded: str,
                 db_url: str = "") -> None:
    """Record the executed notebooks ``executed/<student>/<assignment>/*.ipynb`` in the
    gradebook and write them, cleaned, to ``<root>/<autograded>/<student>/<assignment>/``:
    what ``nbgrader autograde`` without its Execute step does (:func:`_record_with_nbgrader`),
    in this process, with one gradebook session for the batch, the assignment's cells
    read once, and one transaction per notebook (all its grades, or none).

    As nbgrader does, a student whose notebook cannot be recorded is skipped (their
    autograded folder removed) and the others are recorded; then this raises
    ``RuntimeError`` naming them.  A database error or a notebook in another nbgrader
    metadata version stops the batch at once."""
    import glob
    import logging
    import traceback
    import warnings

    import sqlalchemy
    from nbgrader import utils
    from nbgrader.api import Gradebook
    from nbgrader.nbgraderformat.common import SchemaMismatchError

    from gradebox.course import db_url_of

    root = Path(root).resolve()
    executed = Path(executed).resolve()
    url = db_url_of(root, db_url)
    log = logging.getLogger(__name__)
    pattern = os.path.join(str(executed), "*", assignment)
    batches = {}
    for folder in glob.glob(pattern):
        found = glob.glob(os.path.join(folder, "*.ipynb"))
        if found:
            batches[folder] = sorted(found)
    if not batches:
        return
    errors = []
    with _writer_lock(root, db_url), warnings.catch_warnings():
        # nbgrader's add_submission builds its rows by back-reference, which SQLAlchemy 2
        # warns about (and then adds them explicitly): in nbgrader's subprocess nobody saw it
        warnings.filterwarnings("ignore", r"Object of type <Submitted\w+> not in session",
                                sqlalchemy.exc.SAWarning)
        from nbgrader.coursedir import CourseDirectory

        config = _course_config(root)
        course_id = CourseDirectory(config=config).course_id
        with Gradebook(url, course_id) as gb:
            gb.check_course()          # nbgrader's preprocessors open Gradebook(url): its default course
            rec = _Recorder(root, assignment, executed, autograded, url, gb, config)
            exclude = rec.coursedir.student_id_exclude.split(",") \
                if rec.coursedir.student_id_exclude else []
            for folder in sorted(batches):
                student = os.path.basename(os.path.dirname(folder))
                if student in exclude:
                    continue
                dest = rec.coursedir.format_path(autograded, student, assignment)
                if os.path.exists(dest):
                    utils.rmtree(dest)
                try:
                    rec.student(student, batches[folder])
                except (sqlalchemy.exc.OperationalError, SchemaMismatchError, KeyboardInterrupt):
                    if os.path.exists(dest):
                        utils.rmtree(dest)
                    raise
                except Exception:
                    trace = traceback.format_exc()
                    log.error("There was an error processing assignment: %s\n%s", folder, trace)
                    errors.append((student, trace))
                    gb.db.rollback()
                    if os.path.exists(dest):
                        utils.rmtree(dest)
    if errors:
        raise RuntimeError("recording failed for " + ", ".join(s for s, _ in errors) + ":\n"
                           + "\n".join(e[-4000:] for _, e in errors))


#: The configuration of :func:`_record_with_nbgrader`'s ``nbgrader autograde`` run.
_RECORD_CONFIG = '''
from nbgrader.preprocessors import (DeduplicateIds, OverwriteKernelspec, OverwriteCells,
    CheckCellMetadata, IgnorePattern, LimitOutput, SaveAutoGrades, AssignLatePenalties)
from nbconvert.preprocessors import ClearMetadataPreprocessor
c = get_config()
c.Autograde.sanitize_preprocessors = [DeduplicateIds, OverwriteKernelspec, OverwriteCells,
                                      CheckCellMetadata]
from gradebox.recording import SaveAutoGradesOnce
c.Autograde.autograde_preprocessors = [IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                       SaveAutoGradesOnce, AssignLatePenalties, CheckCellMetadata]
'''


def _record_with_nbgrader(root: Path, assignment: str, executed: Path, autograded: str,
                          db_url: str = "") -> None:
    """What :func:`record_batch` does, the way gradebox did it before: one
    ``nbgrader autograde`` run minus its Execute step, in a subprocess, with
    :class:`SaveAutoGradesOnce` (kept to compare the two in the tests)."""
    import tempfile

    from gradebox.course import nbgrader

    root, executed = Path(root).resolve(), Path(executed).resolve()
    if not any(executed.glob(f"*/{assignment}/*.ipynb")):
        return
    repo = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory(prefix="gradebox-record-") as cfg:
        Path(cfg, "nbgrader_config.py").write_text(_RECORD_CONFIG)
        env = {"JUPYTER_CONFIG_PATH": cfg}
        if repo != root:
            env["PYTHONPATH"] = os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")])
        with _writer_lock(root, db_url):
            nbgrader(root, "autograde", assignment, "--force",
                     f"--CourseDirectory.submitted_directory={os.path.relpath(executed, root)}",
                     f"--CourseDirectory.autograded_directory={autograded}",
                     env=env, db_url=db_url)
