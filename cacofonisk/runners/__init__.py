"""Runners bring AMI events in: FileRunner (replay) and AmiRunner (live)."""
