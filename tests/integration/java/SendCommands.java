// What a Java operator tool does: produce control messages with Kafka's Java producer and its
// default partitioner. Usage: java -cp 'lib/*' SendCommands.java BOOTSTRAP TOPIC (KEY VALUE)...
// Prints "KEY PARTITION" for each message, as the broker acknowledged it.
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringSerializer;

public class SendCommands {
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        props.put("bootstrap.servers", args[0]);
        props.put("key.serializer", StringSerializer.class.getName());
        props.put("value.serializer", StringSerializer.class.getName());
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
            for (int i = 2; i + 1 < args.length; i += 2) {
                RecordMetadata sent = producer.send(new ProducerRecord<>(args[1], args[i], args[i + 1])).get();
                System.out.println(args[i] + " " + sent.partition());
            }
        }
    }
}
