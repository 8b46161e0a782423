package io.syncctl.connect;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.connect.connector.ConnectRecord;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.transforms.Transformation;

/**
 * Removes from a row every field whose value is Debezium's unavailable-value placeholder.
 *
 * <p>With PostgreSQL's default REPLICA IDENTITY, an UPDATE that leaves a TOASTed value (a long
 * text, bytea or jsonb stored out of line) unchanged is decoded without it, and Debezium puts
 * its placeholder in the event instead. Placed after ExtractNewRecordState, this transform takes
 * such fields out of the row, so that a sink writing with $set leaves the stored value as it is
 * and the placeholder never reaches the destination. Rows carry schemas (the JSON converters
 * run with schemas.enable): a schemaless value passes unchanged. A string field equal to the placeholder, a
 * bytes field equal to its UTF-8 bytes, and an array holding only the placeholder are removed.
 */
public class DropUnavailableValues<R extends ConnectRecord<R>> implements Transformation<R> {
  public static final String PLACEHOLDER = "placeholder";
  private static final ConfigDef CONFIG =
      new ConfigDef()
          .define(
              PLACEHOLDER,
              ConfigDef.Type.STRING,
              "__debezium_unavailable_value",
              ConfigDef.Importance.HIGH,
              "Debezium's unavailable.value.placeholder of the source connector.");

  private String placeholder;
  private byte[] placeholderBytes;

  @Override
  public void configure(Map<String, ?> settings) {
    Object configured = settings.get(PLACEHOLDER);
    placeholder = configured == null ? "__debezium_unavailable_value" : configured.toString();
    placeholderBytes = placeholder.getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public R apply(R record) {
    if (!(record.value() instanceof Struct)) {
      return record;  // a tombstone (a delete), or a value without a schema
    }
    Struct row = (Struct) record.value();
    Struct kept = withoutUnavailable(row);
    if (kept == row) {
      return record;
    }
    return record.newRecord(
        record.topic(),
        record.kafkaPartition(),
        record.keySchema(),
        record.key(),
        kept.schema(),
        kept,
        record.timestamp(),
        record.headers());
  }

  private Struct withoutUnavailable(Struct row) {
    List<Field> kept = new ArrayList<>();
    for (Field field : row.schema().fields()) {
      if (!unavailable(row.get(field))) {
        kept.add(field);
      }
    }
    if (kept.size() == row.schema().fields().size()) {
      return row;
    }
    SchemaBuilder builder = SchemaBuilder.struct().name(row.schema().name());
    if (row.schema().version() != null) {
      builder.version(row.schema().version());
    }
    if (row.schema().isOptional()) {
      builder.optional();
    }
    for (Field field : kept) {
      builder.field(field.name(), field.schema());
    }
    Schema schema = builder.build();
    Struct copy = new Struct(schema);
    for (Field field : kept) {
      copy.put(field.name(), row.get(field));
    }
    return copy;
  }

  private boolean unavailable(Object value) {
    if (value instanceof String) {
      return placeholder.equals(value);
    }
    if (value instanceof byte[]) {
      return Arrays.equals(placeholderBytes, (byte[]) value);
    }
    if (value instanceof ByteBuffer) {
      ByteBuffer bytes = ((ByteBuffer) value).duplicate();
      return bytes.equals(ByteBuffer.wrap(placeholderBytes));
    }
    if (value instanceof List) {
      List<?> items = (List<?>) value;
      return items.size() == 1 && unavailable(items.get(0));
    }
    return false;
  }

  @Override
  public ConfigDef config() {
    return CONFIG;
  }

  @Override
  public void close() {}
}
