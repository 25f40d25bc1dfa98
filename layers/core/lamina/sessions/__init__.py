"""Agent sessions: the turns the runner executed, every event of them (records), and the interactions a
paused turn waits on. The runner streams records to the `records` queue; a person's answer to an
interaction goes through the `interactions` queue, whose worker resumes the session in a new turn."""
