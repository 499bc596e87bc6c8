"""The ps1 course the grading and gradebook tests share, and what a good student answers.

One place for both: the fixture notebooks in ``benchmarks/fixtures/ps1`` (also the grading
benchmark's) and ``CORRECT``, the answers that earn every autograded point there, by grade id.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PS1_SOURCE = REPO / "benchmarks" / "fixtures" / "ps1"

#: Solutions a good student writes, by grade_id.
CORRECT = {
    "squares": "def squares(n):\n    if n < 1:\n        raise ValueError(n)\n"
               "    return [i * i for i in range(1, n + 1)]",
    "sum_of_squares": "def sum_of_squares(n):\n    return sum(squares(n))",
    "growth_answer": "因为是三次增长 / it grows like n cubed",
    "mean_score": "def mean_score(rows):\n"
                  "    return sum(float(r['score']) for r in rows) / len(rows)",
    "best_student": "answer = 'B'",
}
