#!/usr/bin/python3
"""Feeds kd.inputs from Python with Confluent's Kafka client, in the Confluent wire format, without fastavro.

Uses what Debian packages (apt-get install python3-confluent-kafka python3-avro python3-numpy): confluent_kafka's
Producer for Kafka, Apache Avro's Python library for the binary encoding, and the schema registry's REST API for the
schema id. The bytes are what Confluent's AvroSerializer writes: magic byte 0, the schema id (4 bytes, big-endian),
the Avro binary encoding of the record. kdstream's Java deserializer (and the teacher-service) read them as any other
InputRecord.

  /usr/bin/python3 ops/examples/produce_inputs.py --bootstrap 127.0.0.1:9092 --registry http://127.0.0.1:8081 \\
      --topic kd.inputs --count 10

The records: UINT8 [3, 32, 32] images (random pixels), ids py-00000..., every second one labelled.
"""
import argparse
import datetime
import io
import json
import struct
import urllib.request

import avro.io
import avro.schema
import numpy as np
from confluent_kafka import Producer


def register(registry, subject, schema_text):
    """POST /subjects/<subject>/versions: the id of the schema (registered if new, as the Java serializer does)."""
    body = json.dumps({"schemaType": "AVRO", "schema": schema_text}).encode("utf-8")
    request = urllib.request.Request(registry.rstrip("/") + "/subjects/%s/versions" % subject, data=body,
                                     headers={"Content-Type": "application/vnd.schemaregistry.v1+json"})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())["id"]


def wire_bytes(schema, schema_id, record):
    out = io.BytesIO()
    out.write(struct.pack(">bI", 0, schema_id))
    avro.io.DatumWriter(schema).write(record, avro.io.BinaryEncoder(out))
    return out.getvalue()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--registry", default="http://127.0.0.1:8081")
    parser.add_argument("--topic", default="kd.inputs")
    parser.add_argument("--schema", default="docs/schemas/InputRecord.avsc")
    parser.add_argument("--count", type=int, default=10)
    args = parser.parse_args()
    schema_text = open(args.schema).read()
    schema = avro.schema.parse(schema_text)
    schema_id = register(args.registry, args.topic + "-value", schema_text)
    producer = Producer({"bootstrap.servers": args.bootstrap, "enable.idempotence": True, "acks": "all"})
    failures = []
    rng = np.random.default_rng(0)
    for i in range(args.count):
        image = rng.integers(0, 256, size=(3, 32, 32), dtype=np.uint8)    # C x H x W, C order
        record = {
            "id": "py-%05d" % i,                                            # stable and unique; also the key
            "source": "python/example",
            "input": {"dtype": "UINT8", "shape": list(image.shape), "data": image.tobytes(order="C")},
            "label": i % 5 if i % 2 == 0 else None,                         # class index, or None
            "labels": None,
            # timestamp-millis: Apache Avro's library takes a datetime (confluent_kafka's AvroSerializer an int)
            "timestampMs": datetime.datetime.now(datetime.timezone.utc),
            "attributes": {"origin": "produce_inputs.py"},
        }
        producer.produce(args.topic, key=record["id"].encode("utf-8"), value=wire_bytes(schema, schema_id, record),
                         on_delivery=lambda err, msg: failures.append(err) if err else None)
    producer.flush()
    if failures:
        raise SystemExit("%d records failed: %s" % (len(failures), failures[0]))
    print("produced %d records to %s (schema id %d)" % (args.count, args.topic, schema_id))


if __name__ == "__main__":
    main()
