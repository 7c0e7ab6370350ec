"""Turning method calls into stored jobs: preparing, storing, graphs, the no-delay
switches, the test trap, and the encoding of job arguments."""
