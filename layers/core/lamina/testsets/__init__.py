"""Test sets: a revisioned artifact whose revisions list immutable test cases (see `lamina.artifacts`)."""
