"""Kafka plumbing shared by every part of syncctl: client configs, what errors mean and how to
retry, reading a topic to its end, topics and partitions, consumer groups."""
