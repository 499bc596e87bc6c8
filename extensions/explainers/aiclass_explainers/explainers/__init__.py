"""The explainer classes, in the order a course meets them."""

from .bias_lab import BiasLab
from .convolution import Convolution
from .decision_tree import DecisionTree
from .gradient_descent import GradientDescent
from .kmeans import KMeans
from .knn import KNearestNeighbours
from .maze_search import MazeSearch
from .overfitting import Overfitting
from .perceptron_xor import PerceptronXor
from .pixels import Pixels
from .playground import Playground
from .rules_vs_learning import RulesVsLearning
from .teachable_machine import TeachableMachine

ALL = [
    Pixels, RulesVsLearning, TeachableMachine, KNearestNeighbours, KMeans, DecisionTree,
    GradientDescent, PerceptronXor, Playground, Overfitting, Convolution, BiasLab, MazeSearch,
]
