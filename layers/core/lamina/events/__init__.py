"""Domain events: published to the `events` queue, recorded and fanned out by the events worker."""
