"""How far behind each stage of the sidecar is: binlog -> Kafka, every consumer group per partition,
Walmart pending per stream, poll freshness, dead letters; judged Burrow-style from the trend."""
