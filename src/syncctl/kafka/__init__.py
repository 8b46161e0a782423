"""Kafka plumbing shared by every part of syncctl: client configs, topics, the local broker."""
