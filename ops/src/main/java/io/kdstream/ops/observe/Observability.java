package io.kdstream.ops.observe;

import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.apache.kafka.clients.admin.AdminClient;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.streams.KafkaStreams;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The metrics of one kdstream process: a Prometheus registry tagged with the service name, with JVM, CPU and uptime
 * metrics, plus whatever the process binds: Kafka clients ({@link KafkaClientMetrics}), a Kafka Streams instance
 * ({@link KafkaStreamsMetrics}), the teacher-service counters ({@link TeacherMeters}) and the trainers' steps
 * ({@link TrainingStepMeters}). Close it to unbind the Kafka binders and the JVM GC listener.
 */
public final class Observability implements AutoCloseable {

    private final PrometheusMeterRegistry registry;
    private final List<AutoCloseable> binders = new ArrayList<>();

    private Observability(String service) {
        this.registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        registry.config().commonTags(Tags.of("service", service));
        new ClassLoaderMetrics().bindTo(registry);
        new JvmMemoryMetrics().bindTo(registry);
        JvmGcMetrics gc = new JvmGcMetrics();
        gc.bindTo(registry);
        binders.add(gc);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
    }

    /** A registry for {@code service} (the {@code service} tag of every meter, e.g. teacher-service, trainer). */
    public static Observability forService(String service) {
        Objects.requireNonNull(service, "service");
        if (service.isBlank()) {
            throw new IllegalArgumentException("service must not be blank");
        }
        return new Observability(service);
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    /** Binds a producer's client metrics (record send rate, request latency, ...). */
    public synchronized Observability bind(Producer<?, ?> producer) {
        KafkaClientMetrics m = new KafkaClientMetrics(producer);
        m.bindTo(registry);
        binders.add(m);
        return this;
    }

    /** Binds a consumer's client metrics (fetch rate, records lag, ...). */
    public synchronized Observability bind(Consumer<?, ?> consumer) {
        KafkaClientMetrics m = new KafkaClientMetrics(consumer);
        m.bindTo(registry);
        binders.add(m);
        return this;
    }

    /** Binds an admin client's metrics ({@code Admin.create} returns an {@link AdminClient}). */
    public synchronized Observability bind(AdminClient admin) {
        KafkaClientMetrics m = new KafkaClientMetrics(admin);
        m.bindTo(registry);
        binders.add(m);
        return this;
    }

    /** Binds a Kafka Streams instance's metrics (its threads, tasks, state stores and embedded clients). */
    public synchronized Observability bind(KafkaStreams streams) {
        KafkaStreamsMetrics m = new KafkaStreamsMetrics(streams);
        m.bindTo(registry);
        binders.add(m);
        return this;
    }

    /** The Prometheus text exposition of every meter. */
    public String scrape() {
        return registry.scrape();
    }

    @Override
    public synchronized void close() {
        for (AutoCloseable b : binders) {
            try {
                b.close();
            } catch (Exception e) {
                // a binder that fails to unbind leaves nothing running
            }
        }
        binders.clear();
        registry.close();
    }
}
