"""The demo's research agent and ML pipeline, on the embedded test engine (no Ray): the paths the
notebooks do not take, and the numbers they plot. The test project runs the demo's modules as
tasks.demo_agents and tasks.demo_pipeline (see tests/project/tasks/_demo.py)."""

from __future__ import annotations

from tether.testing import TestEnvironment

from tasks.demo_agents import research_agent
from tasks.demo_pipeline import train_shards

QUESTION = {"question": "What is durable execution?", "pace": 0}


def test_the_research_agent_answers_at_once_without_an_approval() -> None:
    with TestEnvironment() as env:
        run = env.trigger(research_agent, QUESTION)
        assert run.status == "COMPLETED"
        assert run.output["answer"].startswith("Here is what I found about 'What is durable execution?'")
        assert set(run.output) == {"answer"} and run.metadata == {"stage": "done"}
        assert env.tokens() == []


def test_the_research_agent_waits_for_its_approval_token_and_publishes_once_approved() -> None:
    with TestEnvironment() as env:
        run = env.trigger(research_agent, {**QUESTION, "approval": True})
        assert run.status == "WAITING" and run.metadata["stage"] == "waiting for approval"
        assert [t.id for t in env.tokens()] == [run.metadata["approval_token"]]
        assert run.metadata["answer_chars"] == len(env.journal(run.id)[0]["output"])  # the answer, made in a step
        env.complete_token(run.metadata["approval_token"], {"approved": True, "feedback": "ship it"})
        done = env.retrieve(run.id)
        assert done.status == "COMPLETED" and done.metadata["stage"] == "published"
        assert done.output["status"] == "published" and done.output["feedback"] == "ship it"
        assert [e["kind"] for e in env.journal(run.id)] == ["step", "token", "wait"]  # the answer was made once


def test_a_rejected_answer_is_not_published() -> None:
    with TestEnvironment() as env:
        run = env.trigger(research_agent, {**QUESTION, "approval": True})
        env.complete_token(run.metadata["approval_token"], {"approved": False, "feedback": "shorter"})
        assert env.retrieve(run.id).output["status"] == "rejected"


def test_an_unanswered_approval_times_out_unpublished() -> None:
    with TestEnvironment() as env:
        run = env.trigger(research_agent, {**QUESTION, "approval": True, "approval_timeout": "1h"})
        env.advance(hours=2)
        assert env.retrieve(run.id).output["status"] == "not reviewed in time"


def test_the_pipeline_fits_every_shard_in_a_child_run_and_finds_the_drift() -> None:
    with TestEnvironment() as env:
        run = env.trigger(train_shards, {"shards": 5, "rows": 400, "seed": 7})
        again = env.trigger(train_shards, {"shards": 5, "rows": 400, "seed": 7})
        assert run.status == "COMPLETED" and run.metadata == {"stage": "done", "shards_done": 5}
        assert [f["shard"] for f in run.output["shards"]] == [0, 1, 2, 3, 4]
        assert run.output["rows"] == 2000 and 0.0 < run.output["drift_per_shard"] < 0.1
        assert again.output == run.output  # the data come from the seed: the same fits every time
        children = env.children(run.id)
        assert {(c.task_identifier, c.machine) for c in children} == {("fit-shard", "small-2x")}
