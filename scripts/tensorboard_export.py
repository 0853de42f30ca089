#!/usr/bin/env python3
"""Training curves in TensorBoard: a run's metrics.jsonl written as TensorBoard event files.

    tensorboard_export.py RUN_DIR [RUN_DIR ...] [--logdir DIR] [--follow] [--interval S]
    tensorboard --logdir DIR          # then open the page it prints

Every numeric field of every metrics.jsonl record (`train/loss`, `train/kd`, `valid/loss`,
`optim/lr`, `flops/spent`, `throughput/tokens_per_s`, ...) becomes a scalar at the record's
`step`, under its own slash name, so TensorBoard groups them as `train`, `valid`, `optim`, ...;
non-numeric fields (`phase`) are skipped. The events are written by TensorBoard's own library
(tensorboard.summary.writer.event_file_writer, the writer PyTorch's SummaryWriter uses) into
DIR/<run name>/ (DIR defaults to RUN_DIR/tensorboard for one run, ./tensorboard for several).

--follow keeps reading while `train` appends to metrics.jsonl (every --interval seconds, default
5; Ctrl-C ends it): the curves grow in TensorBoard as the run trains. The exporter remembers how
far it has read (DIR/<run>/.exported.json: byte offset and the first line's hash), so running it
again only adds new records; when metrics.jsonl was rewritten from the start (a new run in the
same folder) it starts a fresh event file. A partly written last line is left for the next read.
Exit 2 on bad input (a missing metrics.jsonl, a record that is not a JSON object with an integer
step), naming the file and line.
"""
import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.summary.writer.event_file_writer import EventFileWriter

STATE = ".exported.json"


def bad_input(msg):
    print(f"tensorboard_export: {msg}", file=sys.stderr)
    sys.exit(2)


class RunExporter:
    """Exports one run's metrics.jsonl into logdir, incrementally."""

    def __init__(self, run: Path, logdir: Path):
        self.metrics = run / "metrics.jsonl"
        if not self.metrics.is_file():
            bad_input(f"'{self.metrics}' does not exist (expected a run folder of `hld-train train`)")
        self.logdir = logdir
        self.logdir.mkdir(parents=True, exist_ok=True)
        self.state_path = logdir / STATE
        self.offset, self.head, self.lines = 0, "", 0
        if self.state_path.is_file():
            s = json.loads(self.state_path.read_text())
            self.offset, self.head, self.lines = s["offset"], s["head"], s["lines"]
        self.writer = None

    def _first_line_hash(self) -> str:
        with open(self.metrics, "rb") as f:
            return hashlib.sha256(f.readline()).hexdigest()

    def poll(self) -> int:
        """Writes the records appended since the last call; returns how many."""
        size = self.metrics.stat().st_size
        head = self._first_line_hash() if size else ""
        if size < self.offset or (self.offset and head != self.head):  # rewritten: start over
            self.offset, self.lines = 0, 0
            if self.writer:
                self.writer.close()
                self.writer = None
        if size == self.offset:
            return 0
        with open(self.metrics, "rb") as f:
            f.seek(self.offset)
            data = f.read(size - self.offset)
        end = data.rfind(b"\n") + 1  # complete lines only
        if end == 0:
            return 0
        if self.writer is None:
            self.writer = EventFileWriter(str(self.logdir))
        n = 0
        for raw in data[:end].splitlines():
            self.lines += 1
            if not raw.strip():
                continue
            try:
                rec = json.loads(raw)
            except ValueError as e:
                bad_input(f"'{self.metrics}' line {self.lines}: not valid JSON ({e})")
            step = rec.get("step") if isinstance(rec, dict) else None
            if not isinstance(step, int) or isinstance(step, bool):
                bad_input(f"'{self.metrics}' line {self.lines}: expected a JSON object with an integer 'step'")
            values = [Summary.Value(tag=k, simple_value=float(v)) for k, v in sorted(rec.items())
                      if k != "step" and isinstance(v, (int, float)) and not isinstance(v, bool)]
            if values:
                self.writer.add_event(Event(wall_time=time.time(), step=step, summary=Summary(value=values)))
                n += 1
        self.writer.flush()
        self.offset += end
        self.head = head
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"offset": self.offset, "head": self.head, "lines": self.lines}) + "\n")
        os.replace(tmp, self.state_path)
        return n

    def close(self):
        if self.writer:
            self.writer.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+", help="run folders (each with metrics.jsonl)")
    ap.add_argument("--logdir", help="TensorBoard log directory (default: RUN/tensorboard, or ./tensorboard)")
    ap.add_argument("--follow", action="store_true", help="keep exporting what the runs append")
    ap.add_argument("--interval", type=float, default=5.0, help="--follow: seconds between reads")
    a = ap.parse_args()
    runs = [Path(r) for r in a.runs]
    if a.logdir:
        base = Path(a.logdir)
    else:
        base = runs[0] / "tensorboard" if len(runs) == 1 else Path("tensorboard")
    names = [r.resolve().name for r in runs]
    if len(set(names)) != len(names):
        bad_input("two run folders have the same name: pass them from distinct names")
    exporters = [RunExporter(r, base if len(runs) == 1 and not a.logdir else base / n) for r, n in zip(runs, names)]
    try:
        while True:
            for e, n in zip(exporters, names):
                k = e.poll()
                if k:
                    print(f"{n}: {k} records -> {e.logdir}", flush=True)
            if not a.follow:
                break
            time.sleep(a.interval)
    except KeyboardInterrupt:
        pass
    finally:
        for e in exporters:
            e.close()


if __name__ == "__main__":
    main()
