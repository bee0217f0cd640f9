"""One thin module per Lambda: parse the task input, call the core, return JSON for the next state."""
