"""nnzoo's training engine: one loop that every model family goes through.

Read `train/loop.py` top to bottom; the rest are the pieces it calls.
"""
