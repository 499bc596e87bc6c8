"""Search in a maze: breadth-first search floods everywhere, A* heads for the goal."""

import heapq
from collections import deque

import ipywidgets as w
import numpy as np
import traitlets

from ..base import Animator, Explainer, play_button
from ..i18n import t
from ..traits import BoundedInt, Choice
from ..views import GridView

WALL, OPEN, SEEN, FRONTIER, PATH = 1.0, 0.0, 0.3, 0.55, 0.8


def make_maze(size: int, seed: int) -> np.ndarray:
    """A seeded maze (1 = wall) carved by depth-first search, with some walls knocked out so
    there are several routes and the choice of search order matters."""
    rng = np.random.default_rng(seed)
    grid = np.ones((size, size), dtype=np.int8)
    stack = [(1, 1)]
    grid[1, 1] = 0
    while stack:
        r, c = stack[-1]
        moves = [(dr, dc) for dr, dc in ((0, 2), (2, 0), (0, -2), (-2, 0))
                 if 0 < r + dr < size - 1 and 0 < c + dc < size - 1 and grid[r + dr, c + dc]]
        if not moves:
            stack.pop()
            continue
        dr, dc = moves[rng.integers(len(moves))]
        grid[r + dr // 2, c + dc // 2] = grid[r + dr, c + dc] = 0
        stack.append((r + dr, c + dc))
    inner = [(r, c) for r in range(1, size - 1) for c in range(1, size - 1) if grid[r, c]]
    for index in rng.choice(len(inner), size=len(inner) // 6, replace=False):
        grid[inner[index]] = 0
    return grid


class MazeSearch(Explainer):
    explainer_id = "maze_search"
    title_zh, title_en = "迷宫搜索：广度优先 vs A*", "Maze search: BFS vs A*"
    grade_band = "junior"
    module_zh, module_en = "身边的算法", "Algorithms around us"
    animated = True
    prompt_zh = "广度优先搜索和 A* 都能找到最短路。哪一个要看的格子更少？"
    prompt_en = "BFS and A* both find a shortest path. Which one looks at fewer cells?"
    task_zh = "在同一个迷宫上分别运行两种算法，记下“看过的格子数”和路径长度，比较一下。"
    task_en = "Run both algorithms on the same maze; note cells looked at and path length."

    algorithm = Choice(["bfs", "astar"], default_value="bfs").tag(option=True)
    size = BoundedInt(21, min=9, max=41).tag(option=True)
    expanded = traitlets.Int(0)
    path_length = traitlets.Int(0)
    finished = traitlets.Bool(False)
    playing = traitlets.Bool(False)

    def build(self) -> None:
        self.control("algorithm", w.ToggleButtons(
            options=[(t("广度优先", "BFS"), "bfs"), ("A*", "astar")],
            description=t("算法", "Algorithm"), style={"button_width": "80px"}))
        self.control("size", w.IntSlider(min=9, max=41, step=2, description=t("大小", "Size")))
        step = w.Button(description=t("走一步", "Step"), icon="step-forward")
        finish = w.Button(description=t("直接到终点", "Run to the end"))
        restart = w.Button(description=t("重新开始", "Restart"), icon="refresh")
        step.on_click(lambda _: self.step())
        finish.on_click(lambda _: self.run())
        restart.on_click(lambda _: self.restart())
        self.animator = Animator(self._tick, fps=20.0)
        self.control("step", step)
        self.control("play", play_button(self, self.animator))
        self.control("finish", finish)
        self.control("restart", restart)
        self.board = GridView(colormap="blues", show_numbers=False, cell_size=16,
                              title=t("绿框：起点和终点　红框：找到的路",
                                      "Green: start and goal   Red: the path found"))
        self.views = [self.board]
        self.observe(lambda _: self.restart(), ["algorithm", "size", "seed"])
        self.restart(refresh=False)

    def restart(self, refresh: bool = True) -> None:
        size = self.size if self.size % 2 else self.size + 1
        self.maze = make_maze(size, self.seed)
        self.start, self.goal = (1, 1), (size - 2, size - 2)
        self.parent: dict[tuple[int, int], tuple[int, int] | None] = {self.start: None}
        self.cost = {self.start: 0}
        self.queue: deque | list = deque([self.start])
        if self.algorithm == "astar":
            self.queue = [(self._distance(self.start), 0, self.start)]
        self.seen: set[tuple[int, int]] = set()
        self.path: list[tuple[int, int]] = []
        self.expanded, self.path_length, self.finished = 0, 0, False
        if refresh:
            self.refresh()

    def _distance(self, cell: tuple[int, int]) -> int:
        return abs(cell[0] - self.goal[0]) + abs(cell[1] - self.goal[1])

    def _expand(self) -> None:
        if self.algorithm == "astar":
            _, _, cell = heapq.heappop(self.queue)
        else:
            cell = self.queue.popleft()
        if cell in self.seen:
            return
        self.seen.add(cell)
        self.expanded += 1
        if cell == self.goal:
            self.finished = True
            while cell is not None:
                self.path.append(cell)
                cell = self.parent[cell]
            self.path_length = len(self.path) - 1
            return
        for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0)):
            nxt = (cell[0] + dr, cell[1] + dc)
            if self.maze[nxt] or nxt in self.seen:
                continue
            cost = self.cost[cell] + 1
            if cost < self.cost.get(nxt, 1 << 30):
                self.cost[nxt], self.parent[nxt] = cost, cell
                if self.algorithm == "astar":
                    heapq.heappush(self.queue, (cost + self._distance(nxt), -cost, nxt))
                else:
                    self.queue.append(nxt)

    def step(self, cells: int = 1) -> None:
        """Look at ``cells`` more cells (or stop at the goal) and redraw."""
        for _ in range(cells):
            if self.finished or not self.queue:
                break
            self._expand()
        self.refresh()

    def run(self) -> None:
        """Search until the goal is reached."""
        self.step(self.maze.size)

    def _tick(self) -> bool:
        self.step(3)
        return not self.finished and bool(self.queue)

    def refresh(self) -> None:
        board = self.maze.astype(float) * WALL
        frontier = self.queue if self.algorithm == "bfs" else [c for *_, c in self.queue]
        for cell in frontier:
            board[cell] = FRONTIER
        for cell in self.seen:
            board[cell] = SEEN
        for cell in self.path:
            board[cell] = PATH
        marks = [[r, c, r, c, "#d62728"] for r, c in self.path]
        marks += [[*cell, *cell, "#2ca02c"] for cell in (self.start, self.goal)]
        self.board.update(values=board, highlight=marks, vmax=1.0)
        done = (t("找到了！路径长 {p} 步。", "Found it! The path is {p} steps.", p=self.path_length)
                if self.finished else "")
        self.status.value = t("已经看过 {n} 个格子。{done}", "Cells looked at: {n}. {done}",
                              n=self.expanded, done=done)
