"""The Kafka Connect engine: sync jobs run by a Debezium PostgreSQL source and a MongoDB sink."""
