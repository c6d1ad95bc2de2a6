package io.kdstream.ops.demo;

import io.kdstream.avro.InputRecord;
import io.kdstream.core.config.KdConfig;
import io.kdstream.core.data.FashionMnist;
import io.kdstream.core.data.LabelSelection;
import io.kdstream.core.kafka.KafkaClients;
import io.kdstream.ops.cli.ProgressBar;
import io.kdstream.ops.ingest.FashionMnistIngest;
import io.kdstream.ops.ingest.IngestResult;
import io.kdstream.schemas.serde.KdAvroSerde;
import io.kdstream.schemas.serde.KdAvroSerdes;
import io.kdstream.schemas.tensor.TensorCodec;

import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;

/**
 * Phase 3: loads Fashion-MNIST and publishes the plan's training images to the inputs topic, a fixed share of them
 * with their label, then the plan's malformed inputs.
 */
final class IngestPhase {

    /**
     * @param train    the training split (the teacher learns from it too)
     * @param test     the test split (the teacher's accuracy)
     * @param ingested what was published
     */
    record Output(FashionMnist train, FashionMnist test, IngestResult ingested) {
        /** Every input the teacher-service will consume: the images and the malformed inputs. */
        long inputs(DemoPlan plan) {
            return ingested.records() + plan.badRecords();
        }

        String summary(DemoPlan plan) {
            long published = ingested.records();
            return String.format(Locale.ROOT, "%,d images (%,d with a label, %,d without) + %d malformed inputs",
                    published, ingested.labelled(), published - ingested.labelled(), plan.badRecords());
        }
    }

    private final DemoContext ctx;

    IngestPhase(DemoContext ctx) {
        this.ctx = ctx;
    }

    Output run(KdConfig config, String topic) {
        FashionMnist train = FashionMnist.load(ctx.settings().dataset(), FashionMnist.Split.TRAIN);
        FashionMnist test = FashionMnist.load(ctx.settings().dataset(), FashionMnist.Split.TEST);
        return new Output(train, test, ingest(config, topic, train));
    }

    private IngestResult ingest(KdConfig config, String topic, FashionMnist train) {
        DemoPlan plan = ctx.settings().plan();
        Map<String, Object> overrides = Map.of(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true, ProducerConfig.ACKS_CONFIG,
                "all", ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024, ProducerConfig.LINGER_MS_CONFIG, 10,
                ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
        int n = Math.min(plan.trainImages(), train.size());
        try (Producer<byte[], byte[]> producer = KafkaClients.producer(config, "kdstream-demo-ingest", overrides);
             KdAvroSerde<InputRecord> serde = KdAvroSerdes.value(InputRecord.class, config.serdeProperties());
             ProgressBar bar = ctx.settings().progress().bar("ingest", n)) {
            IngestResult result = new FashionMnistIngest(producer, serde.serializer(), topic)
                    .withLabels(new LabelSelection(plan.labelFraction(), plan.seed()))
                    .ingest(train, n, bar::step);
            publishMalformed(producer, serde, topic, train);
            return result;
        }
    }

    /** Half undecodable bytes, half records whose tensor has the wrong shape. */
    private void publishMalformed(Producer<byte[], byte[]> producer, KdAvroSerde<InputRecord> serde, String topic,
                                  FashionMnist train) {
        for (int i = 0; i < ctx.settings().plan().badRecords(); i++) {
            String key = String.format(Locale.ROOT, "demo-malformed-%03d", i);
            byte[] value;
            if (i % 2 == 0) {
                value = ("not an Avro record #" + i).getBytes(StandardCharsets.UTF_8);
            } else {
                InputRecord good = FashionMnistIngest.toRecord(train, i, System.currentTimeMillis());
                good.setId(key);
                good.setInput(TensorCodec.fromUint8(new byte[5 * 7], 5, 7));
                value = serde.serializer().serialize(topic, good);
            }
            producer.send(new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), value));
        }
        producer.flush();
    }
}
