"""Flag pairs of submissions in a class whose solution code is nearly identical.

Only the code students wrote counts: the solution cells of the submission that
counts, less every line that was already in the released template. That code is
normalised with Python's own tokenizer (comments, blank lines and layout dropped,
every identifier that is not a keyword or builtin replaced by one placeholder, strings and
numbers reduced to their kind), cut into token n-grams, and pairs are compared by
Jaccard similarity. Renaming variables or adding comments does not hide a copy;
two short independent answers to the same question are not flagged (a minimum of
tokens applies).
"""

from __future__ import annotations

import builtins
import io
import keyword
import tokenize
from dataclasses import dataclass
from itertools import combinations

import nbformat

from grading.exchange.store import ExchangeStore

SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
           tokenize.ENCODING, tokenize.ENDMARKER}
KEPT_NAMES = set(keyword.kwlist) | set(dir(builtins))
MAX_CODE_CHARS = 50_000
"""Each student's code compared is cut here: an answer to a school assignment is a few
kilobytes, and a notebook padded with megabytes of code must not make the check (run
when a teacher opens the progress page) take minutes."""


@dataclass(frozen=True)
class SimilarPair:
    first: str
    second: str
    similarity: float


def normalised_tokens(code: str) -> list[str]:
    """The code as tokens with names, strings and numbers abstracted.

    Lines are tokenized one by one, stripped: removing template lines leaves the
    indentation of what remains inconsistent, and layout is not evidence anyway.
    A line that does not tokenize on its own (inside a multi-line string) is skipped.
    """
    tokens: list[str] = []
    for line in code.split("\n"):
        try:
            found = list(tokenize.generate_tokens(io.StringIO(line.strip()).readline))
        except (tokenize.TokenError, IndentationError, SyntaxError):
            continue
        for token in found:
            if token.type in SKIPPED:
                continue
            if token.type == tokenize.NAME and token.string not in KEPT_NAMES:
                tokens.append("ID")
            elif token.type == tokenize.STRING:
                tokens.append("STR")
            elif token.type == tokenize.NUMBER:
                tokens.append("NUM")
            else:
                tokens.append(token.string)
    return tokens


def student_code(notebook: nbformat.NotebookNode, template_lines: set[str]) -> str:
    """The solution cells' code, without lines the template already had."""
    lines = []
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("solution"):
            continue
        lines += [line for line in cell.source.split("\n")
                  if line.strip() and line.strip() not in template_lines]
    return "\n".join(lines)


def template_lines(notebooks: list[nbformat.NotebookNode]) -> set[str]:
    """Every stripped line of the released notebooks (what every student started with)."""
    return {line.strip() for nb in notebooks for cell in nb.cells
            for line in cell.source.split("\n") if line.strip()}


def shingles(tokens: list[str], size: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i:i + size]) for i in range(len(tokens) - size + 1)}


def similar_pairs(code_by_student: dict[str, str], threshold: float = 0.8, ngram: int = 5,
                  min_tokens: int = 30) -> list[SimilarPair]:
    """Pairs at or above ``threshold`` Jaccard similarity, most similar first."""
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], not {threshold}")
    sets = {}
    for student, code in code_by_student.items():
        tokens = normalised_tokens(code)
        if len(tokens) >= min_tokens:
            sets[student] = shingles(tokens, ngram)
    pairs = []
    for first, second in combinations(sorted(sets), 2):
        union = sets[first] | sets[second]
        score = len(sets[first] & sets[second]) / len(union) if union else 0.0
        if score >= threshold:
            pairs.append(SimilarPair(first, second, round(score, 3)))
    return sorted(pairs, key=lambda p: (-p.similarity, p.first, p.second))


def class_similarity(store: ExchangeStore, class_id: str, assignment_id: str,
                     students: list[str], threshold: float = 0.8) -> list[SimilarPair]:
    """Similar pairs among the submissions that count, per notebook of the assignment."""
    release = store.require_release(class_id, assignment_id)
    released = {path: nbformat.reads(data.decode(), as_version=4)
                for path, data in store.files_of(release.manifest).items()
                if path.endswith(".ipynb")}
    template = template_lines(list(released.values()))
    code: dict[str, str] = {}
    for student, submission, _due in store.collect(class_id, assignment_id, students):
        if submission is None:
            continue
        parts = []
        for path, data in sorted(store.files_of(submission.manifest).items()):
            if path in released:
                try:
                    parts.append(student_code(nbformat.reads(data.decode(), as_version=4),
                                              template))
                except (ValueError, UnicodeDecodeError, AttributeError, KeyError):
                    continue
        code[student] = "\n".join(parts)[:MAX_CODE_CHARS]
    return similar_pairs(code, threshold)
