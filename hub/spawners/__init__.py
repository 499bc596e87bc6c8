"""The spawners of each mode: local processes, Docker containers, and the GPU pool they share."""
