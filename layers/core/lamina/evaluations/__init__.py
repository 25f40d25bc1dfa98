"""Evaluation runs: test set revision x application revision(s) x evaluators x repeats, fanned out on SQS."""
