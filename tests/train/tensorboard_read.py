#!/usr/bin/env python3
"""Reads a TensorBoard run directory back with TensorBoard's own event reader (EventAccumulator)
and prints {tag: [[step, value], ...]} as JSON: the referee of tensorboard_export_test.cpp."""
import json
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

acc = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0})  # 0: keep every event
acc.Reload()
print(json.dumps({t: [[e.step, e.value] for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}))
