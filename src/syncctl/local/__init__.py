"""The local stack: what a developer's machine runs instead of a deployment, started by the
project itself without Docker. A Kafka 4 broker from Maven Central's jars (one node, a 3-node
cluster, or SASL_SSL with its own CA), Kafka Connect with Debezium and the MongoDB sink,
PostgreSQL as the source and FerretDB as the MongoDB-wire destination, and the sample shop.

Nothing in the worker, the runners or the console imports this package; the CLI's `broker`,
`connect` and `demo` commands, the tests and the benchmarks do. It ships in the wheel because those
commands need it.
"""

from syncctl.local.broker import LocalKafka, free_port, wait_for_broker
from syncctl.local.cluster import ClusterNode, LocalKafkaCluster
from syncctl.local.ferretdb import LocalFerretDB, ensure_ferretdb
from syncctl.local.postgres import LocalPostgres

__all__ = [
    "ClusterNode",
    "LocalFerretDB",
    "LocalKafka",
    "LocalKafkaCluster",
    "LocalPostgres",
    "ensure_ferretdb",
    "free_port",
    "wait_for_broker",
]
