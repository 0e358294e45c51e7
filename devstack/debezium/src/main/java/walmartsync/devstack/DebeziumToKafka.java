package walmartsync.devstack;

import io.debezium.embedded.Connect;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.ChangeEvent;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.connect.json.JsonConverter;
import org.apache.kafka.connect.source.SourceRecord;

/**
 * Debezium's embedded engine feeding Kafka the way a Kafka Connect worker running the same
 * connector would: each record goes to the topic the connector named (topic.prefix.db.table, the
 * schema-change topic topic.prefix, topic.prefix.transaction), key and value through Kafka
 * Connect's JsonConverter (schemas on or off), and the engine's offsets are committed only after
 * Kafka acknowledged the batch, so a restart resumes where the acknowledged records end and loses
 * nothing (it may repeat a batch, as Kafka Connect does).
 *
 * <p>One argument: a properties file (0600, it holds the database password) with the engine's
 * properties and, prefixed runner., this program's: runner.bootstrap.servers,
 * runner.schemas.enable, runner.replication.factor, runner.start.binlog.file and .pos (a first start
 * streams from there), runner.status.file (where the count of data
 * records acknowledged and the times of the first and latest acknowledgement are written after
 * every batch, with the count of all records acknowledged (schema changes too), for the dev stack to
 * wait on and benchmarks to time).
 */
public final class DebeziumToKafka {
    private DebeziumToKafka() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: DebeziumToKafka <properties file>");
            System.exit(2);
        }
        Properties all = new Properties();
        try (InputStream in = new FileInputStream(args[0])) {
            all.load(in);
        }
        Properties engineProps = new Properties();
        Map<String, String> runner = new HashMap<>();
        for (String name : all.stringPropertyNames()) {
            if (name.startsWith("runner.")) {
                runner.put(name.substring("runner.".length()), all.getProperty(name));
            } else {
                engineProps.setProperty(name, all.getProperty(name));
            }
        }
        boolean schemas = Boolean.parseBoolean(runner.getOrDefault("schemas.enable", "false"));
        short replication = Short.parseShort(runner.getOrDefault("replication.factor", "1"));
        Path status = Path.of(runner.get("status.file"));
        String dataTopicStart = engineProps.getProperty("topic.prefix") + ".";
        String txnTopic = engineProps.getProperty("topic.prefix") + ".transaction";

        String startFile = runner.get("start.binlog.file");
        Path offsets = Path.of(engineProps.getProperty("offset.storage.file.filename"));
        if (startFile != null && !Files.exists(offsets)) {
            seedOffset(offsets, engineProps.getProperty("name"), engineProps.getProperty("topic.prefix"), startFile,
                    Long.parseLong(runner.getOrDefault("start.binlog.pos", "4")));
        }

        JsonConverter keys = new JsonConverter();
        keys.configure(Map.of("schemas.enable", String.valueOf(schemas)), true);
        JsonConverter values = new JsonConverter();
        values.configure(Map.of("schemas.enable", String.valueOf(schemas),
                "decimal.format", "NUMERIC"), false);

        Map<String, Object> producerConfig = new HashMap<>();
        producerConfig.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, runner.get("bootstrap.servers"));
        producerConfig.put(ProducerConfig.ACKS_CONFIG, "all");
        producerConfig.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        producerConfig.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        producerConfig.put(ProducerConfig.BATCH_SIZE_CONFIG, 262_144);
        KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(producerConfig, new ByteArraySerializer(), new ByteArraySerializer());
        Admin admin = Admin.create(Map.of("bootstrap.servers", runner.get("bootstrap.servers")));
        Set<String> knownTopics = new HashSet<>(admin.listTopics().names().get(30, TimeUnit.SECONDS));

        long[] acked = {0};
        long[] total = {0};
        long[] firstAckMs = {0};
        long[] firstBatch = {0};
        CountDownLatch done = new CountDownLatch(1);
        Throwable[] failure = {null};

        DebeziumEngine.ChangeConsumer<ChangeEvent<SourceRecord, SourceRecord>> consumer =
                (records, committer) -> {
                    List<Future<RecordMetadata>> sent = new ArrayList<>(records.size());
                    long data = 0;
                    for (ChangeEvent<SourceRecord, SourceRecord> event : records) {
                        SourceRecord record = event.value();
                        String topic = record.topic();
                        if (!knownTopics.contains(topic)) {
                            try {
                                admin.createTopics(List.of(new NewTopic(topic, 1, replication)))
                                        .all().get(30, TimeUnit.SECONDS);
                            } catch (java.util.concurrent.ExecutionException e) {
                                if (!(e.getCause() instanceof TopicExistsException)) {
                                    throw new RuntimeException("cannot create topic " + topic, e);
                                }
                            } catch (Exception e) {
                                throw new RuntimeException("cannot create topic " + topic, e);
                            }
                            knownTopics.add(topic);
                        }
                        byte[] key = keys.fromConnectData(topic, record.keySchema(), record.key());
                        byte[] value = values.fromConnectData(topic, record.valueSchema(), record.value());
                        sent.add(producer.send(new ProducerRecord<>(topic, null, record.timestamp(), key, value)));
                        if (value != null && topic.startsWith(dataTopicStart) && !topic.equals(txnTopic)
                                && topic.indexOf('.', dataTopicStart.length()) > 0) {
                            data++;
                        }
                    }
                    producer.flush();
                    for (Future<RecordMetadata> future : sent) {
                        try {
                            future.get();
                        } catch (Exception e) {
                            throw new RuntimeException("Kafka did not acknowledge a record", e);
                        }
                    }
                    for (ChangeEvent<SourceRecord, SourceRecord> event : records) {
                        committer.markProcessed(event);
                    }
                    committer.markBatchFinished();
                    total[0] += records.size();
                    if (data > 0 || total[0] == records.size()) {
                        long now = System.currentTimeMillis();
                        if (acked[0] == 0 && data > 0) {
                            firstAckMs[0] = now;
                            firstBatch[0] = data;
                        }
                        acked[0] += data;
                        writeStatus(status, acked[0], total[0], firstBatch[0], firstAckMs[0], now, "running");
                    }
                };

        DebeziumEngine<ChangeEvent<SourceRecord, SourceRecord>> engine = DebeziumEngine.create(Connect.class)
                .using(engineProps)
                .notifying(consumer)
                .using((success, message, error) -> {
                    if (!success) {
                        failure[0] = error != null ? error : new RuntimeException(message);
                        System.err.println("debezium engine stopped: " + message);
                    }
                    done.countDown();
                })
                .build();
        ExecutorService executor = Executors.newSingleThreadExecutor();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                engine.close();
                done.await(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                System.err.println("closing the engine: " + e);
            }
            producer.close();
            admin.close();
        }));
        writeStatus(status, 0, 0, 0, 0, 0, "starting");
        executor.execute(engine);
        done.await();
        executor.shutdown();
        if (failure[0] != null) {
            writeStatus(status, acked[0], total[0], firstBatch[0], firstAckMs[0], 0, "failed");
            failure[0].printStackTrace();
            Runtime.getRuntime().halt(1);
        }
    }

    /**
     * An offset file as FileOffsetBackingStore writes it (a serialised map of the engine's JSON key
     * [name, {server: prefix}] to the connector's JSON offset), naming a binlog position to stream
     * from: with snapshot.mode=recovery the connector reads the current schema and streams from
     * there, so a binlog already written is read from its start with no snapshot data.
     */
    private static void seedOffset(Path file, String name, String prefix, String binlogFile, long pos)
            throws IOException {
        Map<byte[], byte[]> raw = new HashMap<>();
        String key = "[\"" + name + "\",{\"server\":\"" + prefix + "\"}]";
        String value = "{\"file\":\"" + binlogFile + "\",\"pos\":" + pos + "}";
        raw.put(key.getBytes(StandardCharsets.UTF_8), value.getBytes(StandardCharsets.UTF_8));
        try (java.io.ObjectOutputStream out = new java.io.ObjectOutputStream(Files.newOutputStream(file))) {
            out.writeObject(raw);
        }
    }

    /** Written whole then renamed, so a reader never sees half a line. */
    private static void writeStatus(Path status, long acked, long total, long firstBatch, long firstMs, long lastMs, String state) {
        try {
            Path tmp = status.resolveSibling(status.getFileName() + ".tmp");
            Files.writeString(tmp, "acked=" + acked + "\nrecords=" + total + "\nfirst_batch=" + firstBatch + "\nfirst_ack_ms=" + firstMs + "\nlast_ack_ms=" + lastMs
                    + "\nstate=" + state + "\n", StandardCharsets.UTF_8);
            Files.move(tmp, status, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            System.err.println("cannot write " + status + ": " + e);
        }
    }
}
