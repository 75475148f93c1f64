"""What a person can do, written once: open a case, act on a task, read in scope.

The API and the web screens call these; nothing else talks to Temporal or builds
scoped queries for people."""
