"""demo/tasks/pipeline.py as a task module of this project (the ML pipeline: train-shards fans fit-shard out over data shards on small-2x machines); see tasks._demo."""

from tasks._demo import include

include(__name__, "pipeline")
