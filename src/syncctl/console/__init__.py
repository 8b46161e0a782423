"""The web console: History, the Job overview and their actions (docs/console.md)."""
