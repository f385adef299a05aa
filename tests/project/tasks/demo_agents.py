"""demo/tasks/agents.py as a task module of this project (the research agent, which streams its answer and can wait for an approval); see tasks._demo."""

from tasks._demo import include

include(__name__, "agents")
