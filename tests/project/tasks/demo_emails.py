"""demo/tasks/emails.py as a task module of this project (send-welcome-email, the quickstart notebook's task); see tasks._demo."""

from tasks._demo import include

include(__name__, "emails")
