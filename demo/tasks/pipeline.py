"""An ML pipeline: fit a model on every shard of a data set at once, each shard on a machine of its own.

    tether trigger train-shards --payload '{"shards": 8}' --wait

`train-shards` fans out one `fit-shard` run per shard with `batch_trigger_and_wait` and is
checkpointed (no process, no queue slot) until every one of them has ended; each `fit-shard` run
gets a `small-2x` machine (1 CPU, 1 GB), so Ray spreads the shards over whatever nodes have room.
The data set is made up from a seed, so the same payload always gives the same numbers: sensor
readings `y = slope·x + 5 + noise` whose true slope drifts a little from one shard to the next,
and the fitted slopes find the drift. notebooks/03_ml_pipeline.ipynb triggers it and plots them.
"""

from __future__ import annotations

import math
import random
import statistics

from pydantic import BaseModel, Field

from tether import AbortTaskRunError, logger, metadata, task

BASE_SLOPE = 2.0
DRIFT_PER_SHARD = 0.05
INTERCEPT = 5.0
NOISE = 2.0


class Pipeline(BaseModel):
    shards: int = Field(default=8, ge=2, le=1000)
    rows: int = Field(default=2000, ge=3, le=1_000_000)  # per shard
    seed: int = 42


class Shard(BaseModel):
    shard: int
    rows: int
    seed: int


def shard_rows(shard: Shard) -> tuple[list[float], list[float]]:
    """The shard's readings: its own random stream (from the seed and the shard's number), so any
    process, on any node, makes the same ones."""
    rng = random.Random(shard.seed * 1_000_003 + shard.shard)
    slope = BASE_SLOPE + DRIFT_PER_SHARD * shard.shard
    xs = [rng.uniform(0.0, 10.0) for _ in range(shard.rows)]
    ys = [slope * x + INTERCEPT + rng.gauss(0.0, NOISE) for x in xs]
    return xs, ys


def fit(xs: list[float], ys: list[float]) -> dict[str, float]:
    """An ordinary least-squares line through the points, and how well it fits."""
    slope, intercept = statistics.linear_regression(xs, ys)
    rmse = math.sqrt(statistics.fmean((y - (slope * x + intercept)) ** 2 for x, y in zip(xs, ys, strict=True)))
    return {"slope": slope, "intercept": intercept, "r2": statistics.correlation(xs, ys) ** 2, "rmse": rmse}


@task(id="fit-shard", machine="small-2x")
def fit_shard(payload: Shard) -> dict:
    xs, ys = shard_rows(payload)
    result = {"shard": payload.shard, "rows": len(xs), **fit(xs, ys)}
    metadata.parent.increment("shards_done")  # the pipeline's progress, for whoever watches it
    logger.info("shard %d: slope %.4f over %d rows", payload.shard, result["slope"], len(xs))
    return result


@task(id="train-shards", max_duration=1800)
def train_shards(payload: Pipeline) -> dict:
    metadata.set("stage", f"fitting {payload.shards} shards")
    results = fit_shard.batch_trigger_and_wait([Shard(shard=n, rows=payload.rows, seed=payload.seed) for n in range(payload.shards)])
    failed = [r.id for r in results if not r.ok]
    if failed:  # their results are journalled: a retry of this run would gather the same failures
        raise AbortTaskRunError(f"{len(failed)} of {payload.shards} shards failed: {', '.join(failed)}")
    shards = [r.output for r in results]
    # The drift: a line through the fitted slopes, shard by shard.
    drift, _ = statistics.linear_regression([s["shard"] for s in shards], [s["slope"] for s in shards])
    metadata.set("stage", "done")
    return {
        "shards": shards,
        "rows": sum(s["rows"] for s in shards),
        "mean_slope": statistics.fmean(s["slope"] for s in shards),
        "drift_per_shard": drift,
    }
