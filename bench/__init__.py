"""syncctl's benchmark suite: `python -m bench [--quick] [--out bench/results]`.

One local Kafka broker per run; every measurement uses its own topics and consumer group.
See docs/performance.md for what each figure means and how it is measured.
"""
