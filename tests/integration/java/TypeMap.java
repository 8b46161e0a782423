import com.mongodb.kafka.connect.sink.converter.SinkConverter;
import io.syncctl.connect.RowToDocument;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Map;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.sink.SinkRecord;
import org.bson.json.JsonMode;
import org.bson.json.JsonWriterSettings;

/**
 * A row shaped as Debezium sends it, through syncctl's RowToDocument and the MongoDB sink's own
 * converter: prints the BSON document the sink would write, as canonical extended JSON.
 *
 * <p>Usage: java -cp CONNECT_LIB:SINK_JAR:TRANSFORMS_JAR TypeMap.java decimal128|string
 * true|false
 */
public class TypeMap {
  public static void main(String[] args) {
    // decimal.handling.mode = string, with datatype.propagate.source.type for numeric.
    Schema numeric =
        SchemaBuilder.string()
            .parameter("__debezium.source.column.type", "NUMERIC")
            .optional()
            .build();
    Schema row =
        SchemaBuilder.struct()
            .field("small", Schema.OPTIONAL_INT16_SCHEMA)
            .field("big", Schema.OPTIONAL_INT64_SCHEMA)
            .field("exact", numeric)
            .field("free", numeric)
            .field("long_free", numeric)
            .field("nan", numeric)
            .field("plain_text", Schema.OPTIONAL_STRING_SCHEMA)
            .field("born", SchemaBuilder.int32().name("io.debezium.time.Date").optional().build())
            .field("forever", SchemaBuilder.int32().name("io.debezium.time.Date").optional().build())
            .field(
                "seen",
                SchemaBuilder.int64().name("io.debezium.time.MicroTimestamp").optional().build())
            .field(
                "seen_tz",
                SchemaBuilder.string().name("io.debezium.time.ZonedTimestamp").optional().build())
            .field("alarm", SchemaBuilder.int64().name("io.debezium.time.MicroTime").optional().build())
            .field("doc", SchemaBuilder.string().name("io.debezium.data.Json").optional().build())
            .field("flat", SchemaBuilder.string().name("io.debezium.data.Json").optional().build())
            .field("blob", Schema.OPTIONAL_BYTES_SCHEMA)
            .field("ints", SchemaBuilder.array(Schema.OPTIONAL_INT32_SCHEMA).optional().build())
            .field("nothing", Schema.OPTIONAL_STRING_SCHEMA)
            .build();
    Struct value =
        new Struct(row)
            .put("small", (short) -32768)
            .put("big", 9007199254740993L)
            .put("exact", "12345678901234567890123456.7890")
            .put("free", "1.50")
            .put("long_free", "0." + "1234567890".repeat(5))
            .put("nan", "NAN")
            .put("plain_text", "1.50")
            .put("born", -165)
            .put("forever", (int) -2147472692L)
            .put("seen", 1796379330123456L)
            .put("seen_tz", "2026-12-04T04:45:30.987654Z")
            .put("alarm", 86_399_500_000L)
            .put("doc", "{\"a\": [[1], 2], \"n\": 0.1, \"big\": 123456789012345678901,"
                + " \"pi\": 3.14159265358979323846264}")
            .put("flat", "{\"tags\": [\"x\", {\"k\": [1]}]}")
            .put("blob", ByteBuffer.wrap(new byte[] {0, (byte) 255}))
            .put("ints", Arrays.asList(1, null, 3));
    RowToDocument<SinkRecord> transform = new RowToDocument<>();
    transform.configure(Map.of("decimals", args[0], "nested.arrays", args[1]));
    SinkRecord record = new SinkRecord("t", 0, null, null, row, value, 0);
    SinkRecord document = transform.apply(record);
    System.out.println(
        new SinkConverter()
            .convert(document)
            .getValueDoc()
            .orElseThrow()
            .toJson(JsonWriterSettings.builder().outputMode(JsonMode.EXTENDED).build()));
  }
}
