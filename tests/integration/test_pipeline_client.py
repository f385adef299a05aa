"""Explicit clients (`tether.Client`, `tether.AsyncClient`) and pipelines (`client.map`): a client's calls and
handles go to its own gateway and key, whatever `tether.configure` says; `map` triggers in batches, waits for
every run, and returns their results in input order with the failures collected."""

from __future__ import annotations

import pickle
import uuid
from collections import Counter
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from sqlalchemy import func, select

import tether
from tether import AuthenticationError, NotFoundError, TetherError, ValidationError
from tether._calls import Call
from tether.errors import ConnectionError
from tether.pipelines import NOT_TRIGGERED, MapError

from conftest import free_port

SQUARE = "square-or-fail"
ELSEWHERE = f"http://127.0.0.1:{free_port()}"  # nothing listens there
CONFIGURED_KEY = "tt_dev_configured_elsewhere"


class CountingClient(tether.Client):
    """A Client that counts the operations it sends: how a map talks to the gateway."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: Counter[str] = Counter()

    def call(self, call: Call) -> Any:
        self.sent[call.op] += 1
        return super().call(call)


@pytest.fixture
def configured_elsewhere() -> Iterator[None]:
    """`tether.configure` points at a gateway that is not there (so a call that follows it fails); restored after."""
    from tether import client

    saved = (client._settings.api_url, client._settings.secret_key)
    tether.configure(api_url=ELSEWHERE, secret_key=CONFIGURED_KEY)
    yield
    client._settings.api_url, client._settings.secret_key = saved
    client._clients.clear()


@pytest.fixture
def client(stack: Any, configured_elsewhere: None) -> Iterator[CountingClient]:
    with CountingClient(stack.url, stack.settings.secret_key) as made:
        yield made


def _run_count(stack: Any) -> int:
    from tether.runtime.store.tables import RunRow

    with stack.store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(RunRow.__table__)).scalar_one())


def _assert_configuration_untouched() -> None:
    from tether import client

    assert (client._settings.api_url, client._settings.secret_key) == (ELSEWHERE, CONFIGURED_KEY)
    with pytest.raises(ConnectionError, match=ELSEWHERE):
        tether.runs.retrieve("run_anything")  # module-level calls still go where configure said


# -- clients ----------------------------------------------------------------------------------------------------


def test_clients_with_different_keys_do_not_interfere_with_each_other_or_the_configuration(stack: Any, client: CountingClient) -> None:
    from tether.runtime import environments

    other_key = f"tt_other_{uuid.uuid4().hex}"
    environments.ensure(stack.store, f"pipeline-other-{uuid.uuid4().hex[:6]}", other_key)
    with tether.Client(stack.url, "tt_dev_wrong_key") as wrong, tether.Client(stack.url, other_key) as other:
        handle = client.tasks.trigger("echo", {"from": "good"})
        with pytest.raises(AuthenticationError, match="invalid secret key"):
            wrong.tasks.trigger("echo", {"from": "wrong"})
        with pytest.raises(AuthenticationError):
            wrong.runs.retrieve(handle.id)
        with pytest.raises(NotFoundError):
            other.runs.retrieve(handle.id)  # another environment's run
        assert client.runs.retrieve(handle.id).task_identifier == "echo"  # the good client still works
        assert handle.wait(timeout=60).output == {"from": "good"}
    _assert_configuration_untouched()


def test_a_handle_remembers_its_client_wherever_it_is_waited_for(stack: Any, client: CountingClient) -> None:
    from tasks.basic import echo

    with tether.Client(stack.url, "tt_dev_wrong_key") as wrong:
        handle = client.tasks.trigger("echo", 1)
        with wrong.bind():
            assert handle.wait(timeout=60).output == 1  # not the bound client: the one that made it
        with client.bind():
            by_task = echo.trigger(2)  # module-level triggers, inside the binding
            by_id = tether.tasks.trigger("echo", 3)
        assert by_task.client is client and by_id.client is client
        assert [by_task.wait(timeout=60).output, by_id.wait(timeout=60).output] == [2, 3]
    assert [run.status for run in client.runs.subscribe(handle.id, timeout=30)][-1] == "COMPLETED"  # server-sent events too
    assert handle == tether.RunHandle(handle.id, "echo", handle.is_cached, handle.public_access_token)  # the client is not compared
    assert stack.settings.secret_key not in repr(handle) + repr(client)
    assert pickle.loads(pickle.dumps(handle)).retrieve().output == 1  # a pickled handle keeps its gateway and key
    _assert_configuration_untouched()


def test_a_run_s_streams_are_read_live_through_a_client(client: CountingClient, capsys: pytest.CaptureFixture[str]) -> None:
    from tether.runs import StreamChunk

    words = "".join(f"w{n} " for n in range(15))
    handle = client.tasks.trigger("stream-words", {"count": 15, "pause": 0.03})
    items = list(client.runs.subscribe(handle.id, streams=["llm", "status"], timeout=60))  # each read in a thread of its own
    chunks = [item for item in items if isinstance(item, StreamChunk)]
    assert "".join(chunk.chunk for chunk in chunks if chunk.stream == "llm") == words
    assert [chunk.chunk for chunk in chunks if chunk.stream == "status"] == [{"done": True}]
    assert [item for item in items if not isinstance(item, StreamChunk)][-1].status == "COMPLETED"
    assert "".join(client.streams.read(handle.id, "llm", timeout=30)) == words
    assert client.runs.watch(handle.id, stream="llm", timeout=60).output == {"text": words}
    assert words in capsys.readouterr().out  # what watch printed as the stream came
    _assert_configuration_untouched()


def test_a_closed_client_says_so(stack: Any, configured_elsewhere: None) -> None:
    closed = tether.Client(stack.url, stack.settings.secret_key)
    closed.close()
    with pytest.raises(TetherError, match="closed"):
        closed.runs.retrieve("run_anything")


async def test_the_async_client_sends_through_its_own_key(stack: Any, configured_elsewhere: None) -> None:
    async with tether.AsyncClient(stack.url, stack.settings.secret_key) as client, tether.AsyncClient(stack.url, "tt_dev_wrong") as wrong:
        handle = await client.tasks.trigger("echo", {"async": True})
        assert handle.client is client
        run = await handle.await_(timeout=60)
        assert run.output == {"async": True}
        assert (await client.runs.retrieve(handle.id)).status == "COMPLETED"
        assert [run.status async for run in client.runs.subscribe(handle.id, timeout=30)][-1] == "COMPLETED"
        assert isinstance(await client.runs.logs(handle.id), list)  # no async twin: run in a thread, still bound
        assert handle.wait(timeout=30).status == "COMPLETED"  # an async client's handle also waits synchronously
        batch = await client.tasks.batch_trigger([{"task": SQUARE, "payload": {"n": 4}}])
        squared = await tether.RunHandle(batch.runs[0].id, SQUARE, client=client).await_(timeout=60)
        assert squared.output == {"n": 4, "square": 16}
        results = await client.map(SQUARE, [{"n": 1}, {"n": 2, "fail": True}], timeout=60, poll=0.2)
        assert [item.status for item in results] == ["COMPLETED", "FAILED"]
        with pytest.raises(AuthenticationError):
            await wrong.runs.retrieve(handle.id)
    _assert_configuration_untouched()


# -- pipelines --------------------------------------------------------------------------------------------------


def test_map_returns_results_in_input_order_with_the_failures_collected(client: CountingClient) -> None:
    payloads = [{"n": n, "fail": n % 3 == 1} for n in range(12)]
    results = client.map(SQUARE, payloads, batch_size=5, timeout=90, poll=0.2)

    assert [item.index for item in results] == list(range(12))
    assert len(set(results.run_ids)) == 12 and len(results.batch_ids) == 3
    assert [item.output for item in results if item.ok] == [{"n": n, "square": n * n} for n in range(12) if n % 3 != 1]
    assert [item.index for item in results.failures] == [1, 4, 7, 10]
    assert all(item.status == "FAILED" and "fails on purpose" in item.error.message for item in results.failures)
    assert not results.ok and results.unfinished == []
    assert str(results).startswith(f"{SQUARE}: 12 runs, 8 completed, 4 failed")
    with pytest.raises(MapError, match="4 of 12 runs") as raised:
        _ = results.outputs
    assert [f["index"] for f in raised.value.details["failures"]] == [1, 4, 7, 10]
    # Three batch requests, each finished run fetched once: no per-run polling.
    assert client.sent["batch_trigger"] == 3 and client.sent["retrieve_run"] == 12
    assert results[4].handle.retrieve().status == "FAILED"


def test_map_takes_a_task_and_gives_its_outputs_when_all_completed(client: CountingClient) -> None:
    from tasks.pipeline_tasks import square_or_fail

    results = client.map(square_or_fail, [{"n": 3}, {"n": 2}, {"n": 3}], timeout=60, poll=0.2, tags=["pipeline"])
    assert results.raise_for_failures() is results and results.ok
    assert results.outputs == [{"n": 3, "square": 9}, {"n": 2, "square": 4}, {"n": 3, "square": 9}]
    assert client.runs.retrieve(results[0].run_id).tags == ["pipeline"]


def test_pipelines_map_uses_the_configured_gateway(sdk: Any) -> None:
    assert sdk.pipelines.map("echo", [1, "two", {"three": 3}], timeout=60, poll=0.2).outputs == [1, "two", {"three": 3}]
    empty = sdk.pipelines.map("echo", [], progress=True)
    assert (len(empty), empty.ok, empty.outputs, empty.batch_ids) == (0, True, [], [])


async def test_amap_is_the_async_twin(sdk: Any) -> None:
    results = await sdk.pipelines.amap(SQUARE, [{"n": 5}, {"n": 6, "fail": True}, {"n": 7}], timeout=60, poll=0.2)
    assert [item.index for item in results.failures] == [1]
    assert [item.output["square"] for item in results if item.ok] == [25, 49]


def test_bad_input_is_refused_before_anything_is_triggered(stack: Any, client: CountingClient) -> None:
    from tasks.pipeline_tasks import square_or_fail

    before = _run_count(stack)
    with pytest.raises(ValidationError, match=r"payloads\[1\].*not JSON-serializable"):
        client.map("echo", [1, {"when": object()}])
    with pytest.raises(ValidationError, match=r"payloads\[2\].*n"):
        client.map(square_or_fail, [{"n": 1}, {"n": 2}, {"n": "three"}])
    with pytest.raises(NotFoundError, match="no-such-task"):
        client.map("no-such-task", [1, 2])
    with pytest.raises(ValidationError, match="item_options"):
        client.map("echo", [1, 2], idempotency_key="one-for-all")
    with pytest.raises(ValidationError, match="batch_size"):
        client.map("echo", [1], batch_size=5000)
    with tether.Client(stack.url, "tt_dev_wrong") as wrong, pytest.raises(AuthenticationError):
        wrong.map("echo", [1])
    assert _run_count(stack) == before


def test_the_progress_bar_shows_completed_and_failed_counts(client: CountingClient) -> None:
    from rich.console import Console

    output = StringIO()
    payloads = [{"n": 1}, {"n": 2, "fail": True}, {"n": 3}, {"n": 4}]
    client.map(SQUARE, payloads, timeout=60, poll=0.2, progress=True, console=Console(file=output, force_terminal=False, width=150))
    shown = output.getvalue()
    assert "4/4" in shown and "3 completed" in shown and "1 failed" in shown  # the bar's last frame
    assert f"{SQUARE}: 4 runs, 3 completed, 1 failed" in shown  # the summary line

    quiet = StringIO()
    client.map(SQUARE, [{"n": 1}], timeout=60, poll=0.2, progress=False, console=Console(file=quiet))
    assert quiet.getvalue() == ""


def test_a_timeout_reports_the_unfinished_runs_instead_of_raising(client: CountingClient) -> None:
    results = client.map("echo", ["now", "in an hour", "now"], item_options=lambda i, _: {"delay": "1h"} if i == 1 else {}, timeout=10, poll=0.2)
    try:
        assert [item.status for item in results] == ["COMPLETED", "DELAYED", "COMPLETED"]
        assert results.unfinished == [results[1]] and results.failures == []
        assert "1 unfinished" in str(results)
        with pytest.raises(MapError, match="DELAYED"):
            results.raise_for_failures()
        assert results[1].handle.retrieve().status == "DELAYED"
    finally:
        client.runs.cancel(results[1].run_id)

    at_once = client.map("echo", ["later"], timeout=0)  # trigger, look once, return: the handles are in the results
    assert at_once[0].run_id is not None and at_once.elapsed < 10
    assert at_once[0].handle.wait(timeout=60).output == "later"


def test_a_refused_later_batch_is_reported_not_triggered(client: CountingClient, monkeypatch: pytest.MonkeyPatch) -> None:
    sent = client.call
    batches: list[Call] = []

    def refuse_the_second_batch(call: Call) -> Any:
        if call.op == "batch_trigger":
            batches.append(call)
            if len(batches) == 2:
                raise ValidationError("422: refused for the test")
        return sent(call)

    monkeypatch.setattr(client, "call", refuse_the_second_batch)
    results = client.map(SQUARE, [{"n": n} for n in range(5)], batch_size=2, timeout=60, poll=0.2)
    assert [item.status for item in results] == ["COMPLETED", "COMPLETED", NOT_TRIGGERED, NOT_TRIGGERED, "COMPLETED"]
    assert [item.run_id is None for item in results] == [False, False, True, True, False]
    assert "items 2-3 were not triggered" in results[2].error.message and "refused for the test" in results[2].error.message
    assert [item.index for item in results.failures] == [2, 3]
