"""Revisioned artifacts: artifact → variant → immutable revision, and environments that deploy revisions.

Applications stand on this core; test sets and evaluators are next. A kind of artifact is described once
(`ArtifactKind`: its tables, its names, a validator for revision data) and every operation takes it.
"""
